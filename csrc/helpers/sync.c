// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/sync, like rust/helpers/{mutex,spinlock,
 * wait,rcu}.c: the kernel macros and static inlines the Python layer cannot
 * call through cffi, and the bridge that gives Python call_rcu().
 *
 * call_rcu() for Python: Python code must never run on liburcu's callback
 * thread (it is registered with liburcu behind the runtime's back, so a
 * callback entering an RCU read section there would register it twice,
 * and the interpreter may be finalising when it runs). So the C callback
 * only frees its node and queues the node's cookie; a Python thread
 * collects cookies with pfl_rcu_cookie_wait() and runs what they stand for.
 * C header: include/linux/mutex.h, include/linux/spinlock.h,
 * include/linux/wait.h, include/linux/rcupdate.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <pfl/sync.h>
#include <pthread.h>

/* ---- lock classes ---- */
void pfl_sync_key_set_name(struct lock_class_key *key, const char *name)
{
	key->name = name;
}

/* ---- locks, as kernel C sees them ---- */
int pfl_sync_mutex_is_locked(struct mutex *lock)
{
	return mutex_is_locked(lock);
}

int pfl_sync_spin_is_locked(spinlock_t *lock)
{
	return spin_is_locked(lock);
}

/* lockdep_assert_held(): WARNs unless the calling task holds the lock. */
int pfl_sync_mutex_assert_held(struct mutex *lock)
{
	lockdep_assert_held(lock);
	return lockdep_is_held(lock);
}

int pfl_sync_spin_assert_held(spinlock_t *lock)
{
	assert_spin_locked(lock);
	return lockdep_is_held(lock);
}

/* ---- wait queues ---- */
void pfl_sync_init_wait(struct wait_queue_entry *wait)
{
	init_wait(wait);
}

int pfl_sync_waitqueue_active(struct wait_queue_head *wq)
{
	return waitqueue_active(wq);
}

/* ---- call_rcu() for Python ---- */
struct pfl_rcu_cookie {
	struct rcu_head rcu;
	unsigned long cookie;
};

static pthread_mutex_t cookie_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cookie_cond = PTHREAD_COND_INITIALIZER;
static unsigned long *done;		/* cookies whose grace period has passed */
static size_t done_head, nr_done, cap_done;	/* queued: done[done_head, +nr_done) */
static unsigned long nr_completed;	/* cookies ever queued in done[] */
static int stopping;

void pfl_rcu_cookie_atfork(int phase)
{
	if (phase == 0) {
		pthread_mutex_lock(&cookie_mu);
	} else if (phase == 1) {
		pthread_mutex_unlock(&cookie_mu);
	} else {
		pthread_mutex_init(&cookie_mu, NULL);
		pthread_cond_init(&cookie_cond, NULL);
	}
}

void *pfl_rcu_cookie_alloc(unsigned long cookie, unsigned int gfp)
{
	struct pfl_rcu_cookie *c = kzalloc(sizeof(*c), gfp);

	if (c)
		c->cookie = cookie;
	return c;
}

void pfl_rcu_cookie_free(void *node)
{
	kfree(node);
}

/* Runs on liburcu's callback thread after the grace period. */
static void rcu_cookie_cb(struct rcu_head *head)
{
	struct pfl_rcu_cookie *c = container_of(head, struct pfl_rcu_cookie, rcu);
	unsigned long cookie = c->cookie;

	/* Free first: once the cookie is seen, the node is gone. */
	kfree(c);
	pthread_mutex_lock(&cookie_mu);
	/* Taken cookies leave a hole at the front: reuse it once it is at least
	 * half the array (amortised O(1); a consumer that fell far behind,
	 * like a fork child inheriting the backlog, must not cost O(n^2)). */
	if (done_head + nr_done == cap_done && done_head && done_head >= cap_done / 2) {
		memmove(done, done + done_head, nr_done * sizeof(*done));
		done_head = 0;
	}
	while (done_head + nr_done == cap_done) {
		size_t cap = cap_done ? cap_done * 2 : 64;
		unsigned long *nd = realloc(done, cap * sizeof(*nd));

		if (nd) {
			done = nd;
			cap_done = cap;
			break;
		}
		/* Out of memory: wait for the consumer to make room. */
		pthread_cond_wait(&cookie_cond, &cookie_mu);
	}
	done[done_head + nr_done++] = cookie;
	nr_completed++;
	pthread_cond_broadcast(&cookie_cond);
	pthread_mutex_unlock(&cookie_mu);
}

void pfl_rcu_cookie_call(void *node)
{
	struct pfl_rcu_cookie *c = node;

	call_rcu(&c->rcu, rcu_cookie_cb);
}

/* Takes up to max completed cookies, oldest first. With block, waits for
 * one; returns 0 only without block or once pfl_rcu_cookie_stop() ran. */
size_t pfl_rcu_cookie_wait(unsigned long *out, size_t max, int block)
{
	size_t n;

	pthread_mutex_lock(&cookie_mu);
	while (block && !nr_done && !stopping)
		pthread_cond_wait(&cookie_cond, &cookie_mu);
	n = nr_done < max ? nr_done : max;
	if (n) {
		memcpy(out, done + done_head, n * sizeof(*out));
		done_head += n;
		nr_done -= n;
		if (!nr_done)
			done_head = 0;
		pthread_cond_broadcast(&cookie_cond);
	}
	pthread_mutex_unlock(&cookie_mu);
	return n;
}

/* Cookies handed to the Python layer so far (completed, no longer queued). */
unsigned long pfl_rcu_cookie_taken(void)
{
	unsigned long n;

	pthread_mutex_lock(&cookie_mu);
	n = nr_completed - nr_done;
	pthread_mutex_unlock(&cookie_mu);
	return n;
}

unsigned long pfl_rcu_cookie_completed(void)
{
	unsigned long n;

	pthread_mutex_lock(&cookie_mu);
	n = nr_completed;
	pthread_mutex_unlock(&cookie_mu);
	return n;
}

/* Interpreter exit: blocked and future waits return what is queued, or 0. */
void pfl_rcu_cookie_stop(void)
{
	pthread_mutex_lock(&cookie_mu);
	stopping = 1;
	pthread_cond_broadcast(&cookie_cond);
	pthread_mutex_unlock(&cookie_mu);
}
