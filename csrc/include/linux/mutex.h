/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: struct mutex on a pthread mutex with owner and class tracking;
 * mutex_lock() is a sleeping acquisition for might_sleep() purposes.
 * C header: include/linux/mutex.h
 */
#ifndef __LINUX_MUTEX_H
#define __LINUX_MUTEX_H

#include <pthread.h>
#include <linux/types.h>
#include <linux/lockdep.h>
#include <pfl/runtime.h>

struct mutex {
	pthread_mutex_t mu;
	struct lockdep_map dep_map;
};

#define __MUTEX_INITIALIZER(lockname) \
	{ .mu = PTHREAD_MUTEX_INITIALIZER, \
	  .dep_map = { .name = #lockname, .kind = PFL_LOCK_MUTEX } }
#define DEFINE_MUTEX(m) struct mutex m = __MUTEX_INITIALIZER(m)

void pfl_mutex_init(struct mutex *lock, const char *name, struct lock_class_key *key);
void pfl_mutex_lock(struct mutex *lock, int subclass, unsigned long ip);
int pfl_mutex_lock_interruptible(struct mutex *lock, unsigned long ip);
int pfl_mutex_trylock(struct mutex *lock, unsigned long ip);
void pfl_mutex_unlock(struct mutex *lock, unsigned long ip);
void mutex_destroy(struct mutex *lock);

#define mutex_init(m) do {						\
	static struct lock_class_key __key;				\
	pfl_mutex_init((m), #m, &__key);				\
} while (0)
#define mutex_lock(m) pfl_mutex_lock((m), 0, _THIS_IP_)
#define mutex_lock_nested(m, sub) pfl_mutex_lock((m), (sub), _THIS_IP_)
#define mutex_lock_interruptible(m) pfl_mutex_lock_interruptible((m), _THIS_IP_)
#define mutex_lock_killable(m) pfl_mutex_lock_interruptible((m), _THIS_IP_)
#define mutex_trylock(m) pfl_mutex_trylock((m), _THIS_IP_)
#define mutex_unlock(m) pfl_mutex_unlock((m), _THIS_IP_)
#define mutex_is_locked(m) ((m)->dep_map.owner != NULL)

/* Scope guards, as the kernel's mutex.h declares them (cleanup.h). */
#include <linux/cleanup.h>
DEFINE_GUARD(mutex, struct mutex *, mutex_lock(_T), mutex_unlock(_T))
DEFINE_GUARD_COND(mutex, _try, mutex_trylock(_T))
DEFINE_GUARD_COND(mutex, _intr, mutex_lock_interruptible(_T) == 0)

#define __mutex_init(m, name, key) pfl_mutex_init((m), (name), (key))

#endif
