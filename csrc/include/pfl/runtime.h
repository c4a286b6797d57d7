/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pyforlinux runtime: the execution environment under the kernel C
 * (memory, locks, lock validation, RCU, tasks, time). Everything here is
 * ours; shim headers under csrc/include map kernel APIs onto it.
 */
#ifndef _PFL_RUNTIME_H
#define _PFL_RUNTIME_H

#include <stddef.h>
#include <stdbool.h>
#include <pthread.h>

struct task_struct;
struct kmem_cache;
struct lock_class_key;
struct lockdep_map;

/* ---- printk / warnings (runtime/printk.c) ---- */
int pfl_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pfl_warn(const char *file, int line, const char *cond);
void pfl_bug(const char *file, int line, const char *cond) __attribute__((noreturn));
unsigned long pfl_warn_count(void);
void pfl_set_log_fd(int fd);
void pfl_warn_at(const char *file, int line, const char *cond, const void *caller);
void pfl_set_warn_hook(void (*hook)(char *buf, size_t size));
size_t pfl_last_warning(char *buf, size_t size);
int pfl_snprintf(char *buf, size_t size, const char *fmt, ...);
int pfl_snprintf_pV(char *buf, size_t size, const char *outer, const char *inner, ...);
void pfl_printk_emit(int level, const char *text);
long pfl_log_read(unsigned long long *seq, int *level, unsigned long long *ts_nsec, int *pid,
		  char *text, size_t size);
unsigned long long pfl_log_next_seq(void);
int pfl_log_wait(unsigned long long seq, int timeout_ms);
void pfl_log_clear(void);
/* kernel/printk/printk.c's names */
int _printk(const char *fmt, ...);
extern int console_printk[4];
/* drivers/gpu/drm/drm_print.c's drm.debug mask */
extern unsigned long __drm_debug;

/* ---- memory (runtime/slab.c) ---- */
void *pfl_kmalloc(size_t size, unsigned int gfp, unsigned long caller);
void *pfl_krealloc(const void *p, size_t size, unsigned int gfp, unsigned long caller);
void pfl_kfree(const void *p, unsigned long caller);
size_t pfl_ksize(const void *p);
void *pfl_vmalloc(size_t size, unsigned int gfp, unsigned long caller);
void *pfl_alloc_pages(unsigned int gfp, unsigned int order, unsigned long caller);
void pfl_free_pages(void *addr, unsigned int order);
struct kmem_cache *pfl_kmem_cache_create(const char *name, unsigned int size,
					 unsigned int align, unsigned int flags,
					 void (*ctor)(void *));
void pfl_kmem_cache_destroy(struct kmem_cache *s);
void *pfl_kmem_cache_alloc(struct kmem_cache *s, unsigned int gfp, unsigned long caller);
void pfl_kmem_cache_free(struct kmem_cache *s, void *p);
void pfl_kfree_rcu(const void *p);
bool pfl_should_fail_alloc(unsigned int gfp);
/* Injected failures not made because a known kernel bug was on the stack (slab.c). */
unsigned long pfl_fault_known_bug_count(void);
const char *pfl_fault_known_bug_last(void);
int pfl_fault_verbose(void);
bool pfl_kobj_is_live(const void *p);
/* slab_mu held around a walk of many lookups (runtime/slab.c) */
void pfl_kobj_live_lock(void);
bool pfl_kobj_is_live_locked(const void *p);
unsigned long pfl_kobj_unlink_gen_locked(void);
void pfl_kobj_live_unlock(void);
/* One live object, as kmemleak reports it (runtime/slab.c). */
struct pfl_leak {
	void *ptr;
	size_t size;
	char cache[64];
	unsigned long site;	/* the call of kmalloc/kmem_cache_alloc/... */
	unsigned long caller;	/* the allocating function's return address */
};
long pfl_kmemleak_snapshot(struct pfl_leak *out, long max);
int pfl_addr_object(unsigned long addr, char *path, size_t path_size, unsigned long *base);

/* ---- RCU (runtime/rcu.c) on liburcu ---- */
void pfl_rcu_read_lock(void);
void pfl_rcu_read_unlock(void);
int pfl_rcu_read_lock_held(void);
void pfl_rcu_register_thread(void);

/* ---- tasks, sleeping and waking (runtime/sched.c) ---- */
struct task_struct *pfl_current(void);
long pfl_schedule_timeout(long timeout);
int pfl_wake_up_state(struct task_struct *p, unsigned int state);
void pfl_might_sleep(const char *file, int line);
unsigned long pfl_jiffies(void);
long long pfl_ktime_get_ns(void);
long long pfl_ktime_get_real_ns(void);

/* ---- locks (runtime/lock.c) and their validator (runtime/lockdep.c) ---- */
void pfl_lock_acquire(struct lockdep_map *map, int trylock, int sleeping, unsigned long ip);
void pfl_lock_acquired(struct lockdep_map *map);
void pfl_lock_release(struct lockdep_map *map, unsigned long ip);
int pfl_lock_is_held(const struct lockdep_map *map);
void pfl_lockdep_init_map(struct lockdep_map *map, const char *name,
			  struct lock_class_key *key, int kind);
void pfl_lockdep_assert_held(const struct lockdep_map *map, const char *file, int line);
void pfl_lockdep_assert_not_held(const struct lockdep_map *map, const char *file, int line);

#endif /* _PFL_RUNTIME_H */
