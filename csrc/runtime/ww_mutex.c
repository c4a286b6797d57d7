// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: wound/wait mutexes with the kernel's semantics, for
 * the real include/linux/ww_mutex.h (its inline ww_acquire_init() & co.).
 *
 * Under an acquire context, taking a ww_mutex held by another context:
 *  - Wait-Die (DEFINE_WD_CLASS): a younger context (larger stamp) that
 *    already holds locks dies at once with -EDEADLK; an older one waits.
 *  - Wound-Wait (DEFINE_WW_CLASS): an older context wounds the younger
 *    holder and waits; a wounded context that holds locks gets -EDEADLK
 *    when it next has to wait (the kernel checks while waiting too).
 * The context that already holds the lock gets -EALREADY. A context with
 * no locks starts fresh (ctx->wounded is cleared). Without a context, a
 * ww_mutex is a plain mutex. Waiting is interruptible for the _interruptible
 * variant (-EINTR on a pending signal).
 *
 * The lock validator sees the first lock a context takes as an ordinary
 * mutex acquisition (ordered against everything held) and the further ones
 * of the same context as nested under it, as lockdep's nest_lock does, so
 * holding many ww_mutexes of one class is not reported as recursion.
 * Kernel: kernel/locking/ww_mutex.h, kernel/locking/mutex.c.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/ww_mutex.h>
#include <pfl/bindings.h>
#include <pthread.h>

/* One lock word for all ww state transitions; waiters sleep on one cv. */
static pthread_mutex_t ww_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ww_cv = PTHREAD_COND_INITIALIZER;

static bool ww_younger(struct ww_acquire_ctx *a, struct ww_acquire_ctx *b)
{
	return (long)(a->stamp - b->stamp) > 0;
}

static int ww_lock(struct ww_mutex *lock, struct ww_acquire_ctx *ctx, int intr,
		   unsigned long ip)
{
	int ret = 0;

	if (ctx && ctx->acquired == 0)
		ctx->wounded = 0;
	lock->base.dep_map.kind = PFL_LOCK_MUTEX;
	pthread_mutex_lock(&ww_mu);
	if (ctx && READ_ONCE(lock->ctx) == ctx) {
		pthread_mutex_unlock(&ww_mu);
		return -EALREADY;
	}
	pthread_mutex_unlock(&ww_mu);
	/* validate before blocking, as lockdep does */
	pfl_lock_acquire(&lock->base.dep_map, ctx && ctx->acquired > 0, 1, ip);

	pthread_mutex_lock(&ww_mu);
	for (;;) {
		struct ww_acquire_ctx *owner;

		if (pthread_mutex_trylock(&lock->base.mu) == 0)
			break;
		owner = lock->ctx;
		if (ctx && ctx->acquired > 0) {
			if (ctx->is_wait_die) {
				if (owner && ww_younger(ctx, owner)) {
					ret = -EDEADLK;	/* die */
					break;
				}
			} else if (ctx->wounded) {
				ret = -EDEADLK;		/* we were wounded: back off */
				break;
			}
		}
		if (ctx && !ctx->is_wait_die && owner && owner != ctx &&
		    ww_younger(owner, ctx) && !owner->wounded) {
			owner->wounded = 1;		/* wound the younger holder */
			pthread_cond_broadcast(&ww_cv);
		}
		if (intr && signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		{
			struct timespec ts;

			/* bounded sleep: a wound or a signal must be seen */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ww_cv, &ww_mu, &ts);
		}
	}
	if (ret == 0) {
		lock->ctx = ctx;
		if (ctx)
			ctx->acquired++;
	}
	pthread_mutex_unlock(&ww_mu);
	if (ret)
		return ret;
	lock->base.dep_map.acquire_ip = ip;
	pfl_lock_acquired(&lock->base.dep_map);
	return 0;
}

int ww_mutex_lock(struct ww_mutex *lock, struct ww_acquire_ctx *ctx)
{
	might_sleep();
	return ww_lock(lock, ctx, 0, _RET_IP_);
}

int ww_mutex_lock_interruptible(struct ww_mutex *lock, struct ww_acquire_ctx *ctx)
{
	might_sleep();
	return ww_lock(lock, ctx, 1, _RET_IP_);
}

int ww_mutex_trylock(struct ww_mutex *lock, struct ww_acquire_ctx *ctx)
{
	int ok = 0;

	pthread_mutex_lock(&ww_mu);
	if (pthread_mutex_trylock(&lock->base.mu) == 0) {
		lock->ctx = ctx;
		if (ctx)
			ctx->acquired++;
		ok = 1;
	}
	pthread_mutex_unlock(&ww_mu);
	if (ok) {
		pfl_lock_acquire(&lock->base.dep_map, 1, 0, _RET_IP_);
		lock->base.dep_map.acquire_ip = _RET_IP_;
		pfl_lock_acquired(&lock->base.dep_map);
	}
	return ok;
}

void ww_mutex_unlock(struct ww_mutex *lock)
{
	if (!pfl_lock_release_check(&lock->base.dep_map, _RET_IP_))
		return;
	pthread_mutex_lock(&ww_mu);
	if (lock->ctx) {
		if (lock->ctx->acquired > 0)
			lock->ctx->acquired--;
		lock->ctx = NULL;
	}
	pthread_mutex_unlock(&lock->base.mu);
	pthread_cond_broadcast(&ww_cv);
	pthread_mutex_unlock(&ww_mu);
}
