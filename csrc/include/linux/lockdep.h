/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: lockdep assertions that really check (runtime/lockdep.c).
 * C header: include/linux/lockdep.h */
#ifndef __LINUX_LOCKDEP_H
#define __LINUX_LOCKDEP_H

#include <linux/lockdep_types.h>
#include <pfl/runtime.h>

#define lockdep_is_held(lock) pfl_lock_is_held(&(lock)->dep_map)
/* A ww_acquire_ctx has no dep_map (the kernel gives it one only under
 * CONFIG_DEBUG_LOCK_ALLOC, and the runtime's validator tracks the ww_mutexes,
 * not the context): asserting one held is the kernel's !LOCKDEP no-op. */
struct ww_acquire_ctx;
struct pfl_no_dep_map { struct lockdep_map dep_map; };
extern struct pfl_no_dep_map pfl_no_dep_map;
#define lockdep_assert_held(l) _Generic((l),				\
	struct ww_acquire_ctx *: (void)0,					\
	default: pfl_lockdep_assert_held(&_Generic((l),			\
		struct ww_acquire_ctx *: &pfl_no_dep_map, default: (l))->dep_map, \
		__FILE__, __LINE__))
#define lockdep_assert_held_once(l) lockdep_assert_held(l)
#define lockdep_assert_held_write(l) lockdep_assert_held(l)
#define lockdep_assert_held_read(l) lockdep_assert_held(l)
#define lockdep_assert_not_held(l) pfl_lockdep_assert_not_held(&(l)->dep_map, __FILE__, __LINE__)
#define lockdep_assert(c) do { if (!(c)) pfl_warn(__FILE__, __LINE__, #c); } while (0)
#define lockdep_assert_once(c) lockdep_assert(c)
/* As the kernel: no lock held by this task (current is linux/sched.h's). */
#define lockdep_assert_none_held_once() lockdep_assert_once(!pfl_lockdep_depth())
int pfl_lockdep_depth(void);
#define lockdep_assert_irqs_disabled() do { } while (0)
#define lockdep_assert_irqs_enabled() do { } while (0)
#define lockdep_assert_preemption_disabled() do { } while (0)
#define lockdep_assert_in_irq() do { } while (0)
#define lockdep_set_class(lock, k) \
	pfl_lockdep_init_map(&(lock)->dep_map, #k, (k), (lock)->dep_map.kind)
#define lockdep_set_class_and_name(lock, k, n) \
	pfl_lockdep_init_map(&(lock)->dep_map, (n), (k), (lock)->dep_map.kind)
#define lockdep_set_subclass(lock, sub) do { (lock)->dep_map.subclass = (sub); } while (0)
/* As the kernel: a class the validator skips (struct device's mutex, which
 * the driver core nests parent -> child without subclasses). */
extern struct lock_class_key __lockdep_no_validate__;
#define lockdep_set_novalidate_class(lock) \
	lockdep_set_class_and_name(lock, &__lockdep_no_validate__, #lock)
#define lockdep_register_key(k) do { } while (0)
#define lockdep_unregister_key(k) do { } while (0)
#define lockdep_init_map(map, n, k, s) pfl_lockdep_init_map((map), (n), (k), PFL_LOCK_OTHER)
#define lock_map_acquire(m) do { struct lockdep_map *__m = (m);		\
	__m->acquire_ip = _THIS_IP_; pfl_lock_acquire(__m, 0, 0, __m->acquire_ip);	\
	pfl_lock_acquired(__m); } while (0)
#define lock_map_acquire_read(m) lock_map_acquire(m)
/* Raw lock_acquire()/lock_release() on a bare map: the kernel's !LOCKDEP
 * no-ops, arguments unevaluated (drm_connector.c's list-iterator map only
 * exists under CONFIG_LOCKDEP). */
#define lock_acquire_shared_recursive(l, s, t, n, i) do { } while (0)
#define lock_release(l, i) do { } while (0)
#define lock_map_release(m) pfl_lock_release((m), _THIS_IP_)
#define might_lock(l) do { } while (0)
#define might_lock_nested(l, s) do { } while (0)
#define lockdep_off() do { } while (0)
#define lockdep_on() do { } while (0)
#define SINGLE_DEPTH_NESTING 1
#ifndef _THIS_IP_
#define _THIS_IP_ ({ __label__ __here; __here: (unsigned long)&&__here; })
#endif
#define lock_is_held(m) pfl_lock_is_held(m)
#define lockdep_pin_lock(l) ((struct pin_cookie){ })
#define lockdep_unpin_lock(l, c) do { } while (0)
struct pin_cookie { };
#endif
