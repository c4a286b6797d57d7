// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: spinlock_t and struct mutex on pthread mutexes.
 *
 * Both record their owner (so spin_is_locked(), mutex_is_locked() and
 * lockdep_assert_held() are real) and go through the lock validator. A
 * spinlock disables "preemption" while held, so sleeping under it is
 * caught by might_sleep(); mutex_lock() itself might sleep. Unlocking a
 * lock the task does not hold is reported and ignored (never undefined
 * behaviour on the pthread mutex).
 * C header: include/linux/spinlock.h, include/linux/mutex.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/delay.h>
#include <pthread.h>

int pfl_lock_release_check(struct lockdep_map *map, unsigned long ip);
void pfl_lockdep_set_next_subclass(int subclass);

void pfl_spin_lock_init(spinlock_t *lock, const char *name, struct lock_class_key *key)
{
	pthread_mutex_init(&lock->mu, NULL);
	pfl_lockdep_init_map(&lock->dep_map, name, key, PFL_LOCK_SPIN);
}

void pfl_spin_lock(spinlock_t *lock, int subclass, unsigned long ip)
{
	lock->dep_map.kind = PFL_LOCK_SPIN;
	pfl_lockdep_set_next_subclass(subclass);
	pfl_lock_acquire(&lock->dep_map, 0, 0, ip);
	pfl_preempt_disable();
	pthread_mutex_lock(&lock->mu);
	lock->dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->dep_map);
}

int pfl_spin_trylock(spinlock_t *lock, unsigned long ip)
{
	if (lock->dep_map.owner == pfl_current())
		return 0;
	pfl_preempt_disable();
	if (pthread_mutex_trylock(&lock->mu)) {
		pfl_preempt_enable();
		return 0;
	}
	lock->dep_map.kind = PFL_LOCK_SPIN;
	lock->dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->dep_map);
	return 1;
}

void pfl_spin_unlock(spinlock_t *lock, unsigned long ip)
{
	if (!pfl_lock_release_check(&lock->dep_map, ip))
		return;
	pthread_mutex_unlock(&lock->mu);
	pfl_preempt_enable();
}

void pfl_mutex_init(struct mutex *lock, const char *name, struct lock_class_key *key)
{
	pthread_mutex_init(&lock->mu, NULL);
	pfl_lockdep_init_map(&lock->dep_map, name, key, PFL_LOCK_MUTEX);
}

void mutex_destroy(struct mutex *lock)
{
	if (lock->dep_map.owner)
		pfl_warn(__FILE__, __LINE__, "mutex_destroy() of a locked mutex");
}

void pfl_mutex_lock(struct mutex *lock, int subclass, unsigned long ip)
{
	lock->dep_map.kind = PFL_LOCK_MUTEX;
	pfl_lockdep_set_next_subclass(subclass);
	pfl_lock_acquire(&lock->dep_map, 0, 1, ip);
	pthread_mutex_lock(&lock->mu);
	lock->dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->dep_map);
}

/* Interruptible: gives -EINTR if a signal is pending for the task before
 * or while waiting (polled; pthread mutexes cannot be interrupted). */
int pfl_mutex_lock_interruptible(struct mutex *lock, unsigned long ip)
{
	struct task_struct *t = pfl_current();

	lock->dep_map.kind = PFL_LOCK_MUTEX;
	pfl_lock_acquire(&lock->dep_map, 0, 1, ip);
	for (;;) {
		if (signal_pending(t))
			return -EINTR;
		if (!pthread_mutex_trylock(&lock->mu))
			break;
		pfl_udelay(50);
	}
	lock->dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->dep_map);
	return 0;
}

int pfl_mutex_trylock(struct mutex *lock, unsigned long ip)
{
	if (lock->dep_map.owner == pfl_current())
		return 0;
	if (pthread_mutex_trylock(&lock->mu))
		return 0;
	lock->dep_map.kind = PFL_LOCK_MUTEX;
	lock->dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->dep_map);
	return 1;
}

void pfl_mutex_unlock(struct mutex *lock, unsigned long ip)
{
	if (!pfl_lock_release_check(&lock->dep_map, ip))
		return;
	pthread_mutex_unlock(&lock->mu);
}

/* kernel/locking/mutex.c: decrement; if it drops to 0, return true with the
 * mutex held. */
int atomic_dec_and_mutex_lock(atomic_t *cnt, struct mutex *lock)
{
	if (atomic_add_unless(cnt, -1, 1))
		return 0;
	mutex_lock(lock);
	if (!atomic_dec_and_test(cnt)) {
		mutex_unlock(lock);
		return 0;
	}
	return 1;
}
