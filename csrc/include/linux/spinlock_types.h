/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: spinlock_t on a pthread mutex that records its owner and class.
 * C header: include/linux/spinlock_types.h
 */
#ifndef __LINUX_SPINLOCK_TYPES_H
#define __LINUX_SPINLOCK_TYPES_H

#include <pthread.h>
#include <linux/lockdep_types.h>

typedef struct spinlock {
	pthread_mutex_t mu;
	struct lockdep_map dep_map;
} spinlock_t;

typedef spinlock_t raw_spinlock_t;
#define raw_spinlock spinlock	/* struct raw_spinlock is the same lock */

/* rwlock_t: readers and writers both exclude (a correct, if strict, model). */
typedef spinlock_t rwlock_t;

#define __SPIN_LOCK_UNLOCKED(lockname) \
	(spinlock_t){ .mu = PTHREAD_MUTEX_INITIALIZER, \
		      .dep_map = { .name = #lockname, .kind = PFL_LOCK_SPIN } }
#define __RAW_SPIN_LOCK_UNLOCKED(n) __SPIN_LOCK_UNLOCKED(n)
#define __RW_LOCK_UNLOCKED(n) __SPIN_LOCK_UNLOCKED(n)
#define DEFINE_SPINLOCK(x) spinlock_t x = __SPIN_LOCK_UNLOCKED(x)
#define DEFINE_RAW_SPINLOCK(x) DEFINE_SPINLOCK(x)
#define DEFINE_RWLOCK(x) DEFINE_SPINLOCK(x)

#endif
