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
#include <pfl/sync.h>
#include <pfl/bindings.h>
#include <pthread.h>
#include <unistd.h>

int pfl_lock_release_check(struct lockdep_map *map, unsigned long ip);
void pfl_lockdep_set_next_subclass(int subclass);
void pfl_lockdep_set_acquire_context(const char *ctx);
void pfl_lockdep_set_py_site(unsigned long frame, unsigned long code, int lasti);

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

/*
 * The Python safe layer's acquisition in one call (pyforlinux/sync/lock:
 * Lock.lock()/try_lock()): the checks it must make before the C lock, then
 * the lock, as one FFI crossing instead of one per check. Same semantics as
 * making them one by one: nothing is taken unless 0 is returned.
 *  - PFL_SYNC_RECURSIVE: the task already holds the lock (taking it would
 *    BUG: a certain deadlock); a trylock gets PFL_SYNC_BUSY instead;
 *  - PFL_SYNC_ORPHANED: in a process made by fork() (pfl_fork_count()),
 *    held by a task of another process (a copy of a lock
 *    held by a parent thread: never released here); a trylock gets
 *    PFL_SYNC_BUSY. (Only then: a task standing for a client process,
 *    say, has that process's tgid and is no orphan.)
 *  - PFL_SYNC_BUSY: trylock, and the lock is not free;
 *  - PFL_SYNC_REPORTED: strict mode (pfl_sync_strict), and this thread's validator made an
 *    inversion, recursion or might_sleep report, either in a validation
 *    pass before blocking (nothing taken), or while taking the lock (it is
 *    released again).
 * (frame, code, lasti) is the Python acquisition site, by reference (the
 * frame's and its code object's addresses and the instruction offset):
 * the validator formats it only if a report or a new dependency edge needs
 * it (runtime/lockdep.c, pfl_lockdep_set_py_site()).
 */
/* Strict mode, mirrored here by pyforlinux.sync.lockdep (set_strict(),
 * is_strict()) so that a lock() reads no Python state for it. */
int pfl_sync_strict;

/* Internal flag of sync_take(). */
#define PFL_SYNC_STRICT 2

static unsigned long strict_reports(void)
{
	return pfl_lockdep_thread_count(PFL_LOCKDEP_INVERSION) +
	       pfl_lockdep_thread_count(PFL_LOCKDEP_RECURSION) +
	       pfl_lockdep_thread_count(PFL_LOCKDEP_MIGHT_SLEEP);
}

static int sync_take(struct lockdep_map *map, void *lock, int sleeping,
		     unsigned long frame, unsigned long code, int lasti, int flags)
{
	struct task_struct *t = pfl_current();
	struct task_struct *o = READ_ONCE(map->owner);
	unsigned long before = 0;
	int taken;

	if (READ_ONCE(pfl_sync_strict))
		flags |= PFL_SYNC_STRICT;

	if (o == t)
		return (flags & PFL_SYNC_TRYLOCK) ? PFL_SYNC_BUSY : PFL_SYNC_RECURSIVE;
	if (o && pfl_fork_count() && o->tgid != getpid())
		return (flags & PFL_SYNC_TRYLOCK) ? PFL_SYNC_BUSY : PFL_SYNC_ORPHANED;
	if (flags & PFL_SYNC_TRYLOCK) {
		pfl_lockdep_set_py_site(frame, code, lasti);
		taken = sleeping ? pfl_mutex_trylock(lock, 0) : pfl_spin_trylock(lock, 0);
		if (!taken)
			pfl_lockdep_set_acquire_context(NULL);
		return taken ? 0 : PFL_SYNC_BUSY;
	}
	if (flags & PFL_SYNC_STRICT) {
		/* Validation only (ordering, class recursion, might_sleep), so
		 * that strict mode refuses before blocking on a real deadlock:
		 * the task does not hold the lock (checked above), so this
		 * cannot BUG, and no lock state changes. */
		before = strict_reports();
		pfl_lockdep_set_py_site(frame, code, lasti);
		pfl_lock_acquire(map, 0, sleeping, 0);
		if (strict_reports() != before) {
			pfl_lockdep_set_acquire_context(NULL);
			return PFL_SYNC_REPORTED;
		}
	}
	pfl_lockdep_set_py_site(frame, code, lasti);
	if (sleeping)
		pfl_mutex_lock(lock, 0, 0);
	else
		pfl_spin_lock(lock, 0, 0);
	if ((flags & PFL_SYNC_STRICT) && strict_reports() != before) {
		/* another thread changed the graph in between */
		if (sleeping)
			pfl_mutex_unlock(lock, 0);
		else
			pfl_spin_unlock(lock, 0);
		return PFL_SYNC_REPORTED;
	}
	return 0;
}

int pfl_sync_mutex_take(struct mutex *lock, unsigned long frame, unsigned long code, int lasti,
			int flags)
{
	return sync_take(&lock->dep_map, lock, 1, frame, code, lasti, flags);
}

int pfl_sync_spin_take(spinlock_t *lock, unsigned long frame, unsigned long code, int lasti,
		       int flags)
{
	return sync_take(&lock->dep_map, lock, 0, frame, code, lasti, flags);
}

/* The guard's release (guard state () built in): mutex_unlock/spin_unlock. */
void pfl_sync_mutex_release(struct mutex *lock)
{
	pfl_mutex_unlock(lock, 0);
}

void pfl_sync_spin_release(spinlock_t *lock)
{
	pfl_spin_unlock(lock, 0);
}
