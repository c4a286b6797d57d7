/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: RCU for kernel C, on liburcu (runtime/rcu.c). Read sections nest;
 * a thread is registered with liburcu the first time it enters one.
 * C header: include/linux/rcupdate.h
 */
#ifndef __LINUX_RCUPDATE_H
#define __LINUX_RCUPDATE_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <pfl/runtime.h>

void call_rcu(struct rcu_head *head, rcu_callback_t func);
void synchronize_rcu(void);
void rcu_barrier(void);
#define synchronize_rcu_expedited() synchronize_rcu()
#define call_rcu_hurry(h, f) call_rcu(h, f)

static inline void rcu_read_lock(void) { pfl_rcu_read_lock(); }
static inline void rcu_read_unlock(void) { pfl_rcu_read_unlock(); }
static inline int rcu_read_lock_held(void) { return pfl_rcu_read_lock_held(); }
#define rcu_read_lock_bh() rcu_read_lock()
#define rcu_read_unlock_bh() rcu_read_unlock()
#define rcu_read_lock_sched() rcu_read_lock()
#define rcu_read_unlock_sched() rcu_read_unlock()
#define rcu_read_lock_any_held() rcu_read_lock_held()
#define rcu_read_lock_bh_held() rcu_read_lock_held()
#define rcu_read_lock_sched_held() rcu_read_lock_held()

#define rcu_check_sparse(p, space)
#define __rcu_access_pointer(p, local, space) ({ READ_ONCE(p); })
#define rcu_access_pointer(p) (*(volatile __typeof__(p) *)&(p))
#define rcu_dereference_raw(p) ({ __typeof__(p) __p = __atomic_load_n(&(p), __ATOMIC_CONSUME); __p; })
#define rcu_dereference_check(p, c) rcu_dereference_raw(p)
#define rcu_dereference_protected(p, c) (p)
#define rcu_dereference(p) rcu_dereference_raw(p)
#define rcu_dereference_bh(p) rcu_dereference_raw(p)
#define rcu_dereference_sched(p) rcu_dereference_raw(p)
#define rcu_dereference_bh_check(p, c) rcu_dereference_raw(p)
#define rcu_dereference_sched_check(p, c) rcu_dereference_raw(p)
#define rcu_dereference_raw_check(p) rcu_dereference_raw(p)
#define rcu_pointer_handoff(p) (p)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v) do { (p) = (v); } while (0)
#define RCU_INITIALIZER(v) (v)
#define rcu_replace_pointer(rcu_ptr, ptr, c) ({ \
	__typeof__(ptr) __tmp = (rcu_ptr); rcu_assign_pointer((rcu_ptr), (ptr)); __tmp; })
#define unrcu_pointer(p) (p)
#define rcu_head_init(h) do { (h)->func = (void *)~0L; } while (0)
#define rcu_head_after_call_rcu(h, f) ((h)->func == (f))
#define RCU_LOCKDEP_WARN(c, s) do { } while (0)
#define rcu_sleep_check() do { } while (0)
#define init_rcu_head(h) do { } while (0)
#define destroy_rcu_head(h) do { } while (0)
#define init_rcu_head_on_stack(h) do { } while (0)
#define destroy_rcu_head_on_stack(h) do { } while (0)
#define rcu_is_watching() 1

/* kfree_rcu(ptr, rhf): the object is freed after a grace period. */
#define kfree_rcu(ptr, rhf) pfl_kfree_rcu(ptr)
#define kvfree_rcu(ptr, ...) pfl_kfree_rcu(ptr)
#define kfree_rcu_mightsleep(ptr) pfl_kfree_rcu(ptr)

#endif
