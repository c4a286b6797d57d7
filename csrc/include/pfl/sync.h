/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: entry points for the Python sync layer (pyforlinux/sync) that
 * no kernel header declares: the lock validator's per-thread view
 * (runtime/lockdep.c) and the helpers of csrc/helpers/sync.c (macros and
 * static inlines Python cannot call, and the bridge that runs Python
 * call_rcu() callbacks).
 */
#ifndef _PFL_SYNC_H
#define _PFL_SYNC_H
#include <stddef.h>
#include <stdbool.h>

struct mutex;
struct spinlock;
struct wait_queue_head;
struct wait_queue_entry;

/* runtime/lockdep.c: a Python acquisition site by reference (frame, code
 * object, instruction offset), formatted by the hook only when needed. */
void pfl_lockdep_set_py_site(unsigned long frame, unsigned long code, int lasti);
void pfl_lockdep_set_site_hook(void (*fn)(unsigned long frame, unsigned long code,
					  int lasti, char *buf, size_t size));

/* runtime/lockdep.c: reports made by the calling thread only. */
unsigned long pfl_lockdep_thread_count(int kind);
size_t pfl_lockdep_thread_last_report(char *buf, size_t size);

/* runtime/lock.c: the safe layer's acquisition in one call (flags and
 * results below; see the comment there). */
#define PFL_SYNC_TRYLOCK 1
/* Strict mode (pyforlinux.sync.lockdep.set_strict): written by Python only. */
extern int pfl_sync_strict;
enum pfl_sync_take {
	PFL_SYNC_RECURSIVE = 1,	/* the task already holds it */
	PFL_SYNC_ORPHANED = 2,	/* held by a thread of the parent (fork child) */
	PFL_SYNC_BUSY = 3,	/* trylock: not free */
	PFL_SYNC_REPORTED = 4,	/* strict: this acquisition made a report */
};
int pfl_sync_mutex_take(struct mutex *lock, unsigned long frame, unsigned long code, int lasti,
			int flags);
int pfl_sync_spin_take(struct spinlock *lock, unsigned long frame, unsigned long code, int lasti,
		       int flags);
void pfl_sync_mutex_release(struct mutex *lock);
void pfl_sync_spin_release(struct spinlock *lock);

/* helpers/sync.c: a lock class key's name (set before any lock uses it). */
struct lock_class_key;
void pfl_sync_key_set_name(struct lock_class_key *key, const char *name);

/* helpers/sync.c: the kernel's lock macros, as C code sees them. */
int pfl_sync_mutex_is_locked(struct mutex *lock);
int pfl_sync_spin_is_locked(struct spinlock *lock);
int pfl_sync_mutex_assert_held(struct mutex *lock);
int pfl_sync_spin_assert_held(struct spinlock *lock);

/* helpers/sync.c: wait queues (init_wait(), waitqueue_active()). */
void pfl_sync_init_wait(struct wait_queue_entry *wait);
int pfl_sync_waitqueue_active(struct wait_queue_head *wq);

/* helpers/sync.c: call_rcu() for Python. A kmalloc'd node carries a cookie;
 * after a grace period the C callback frees the node and queues the cookie,
 * which the Python layer collects (pfl_rcu_cookie_wait) and acts on. */
void *pfl_rcu_cookie_alloc(unsigned long cookie, unsigned int gfp);
void pfl_rcu_cookie_call(void *node);
void pfl_rcu_cookie_free(void *node);
unsigned long pfl_rcu_cookie_taken(void);
size_t pfl_rcu_cookie_wait(unsigned long *out, size_t max, int block);
unsigned long pfl_rcu_cookie_completed(void);
void pfl_rcu_cookie_stop(void);

#endif /* _PFL_SYNC_H */
