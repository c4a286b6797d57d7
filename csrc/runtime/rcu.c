// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: RCU on liburcu (the memb flavour).
 *
 * Every thread that enters an RCU read section or calls call_rcu() is
 * registered with liburcu on first use, and unregistered when it exits
 * (runtime/sched.c's task destructor), so Python threads need no setup.
 * Kernel struct rcu_head has the layout of liburcu's (a next pointer, then
 * the callback), so heads go to liburcu's call_rcu() as they are
 * (runtime/urcu.c checks the layout).
 * Sleeping in a read section (synchronize_rcu() there would deadlock) is
 * reported by might_sleep() and the call returns without waiting.
 * C header: include/linux/rcupdate.h
 */
#include <linux/types.h>
#include <linux/sched.h>
#include <linux/atomic.h>
#include <pfl/runtime.h>
#include <pthread.h>
#include <time.h>

/* runtime/urcu.c */
void pfl_urcu_register_thread(void);
void pfl_urcu_unregister_thread(void);
void pfl_urcu_read_lock(void);
void pfl_urcu_read_unlock(void);
void pfl_urcu_synchronize(void);
void pfl_urcu_barrier(void);
void pfl_urcu_call(void *head, void (*func)(void *head));
/*
 * fork(). liburcu keeps every registered thread in its registry; a thread
 * inside a read section when the process forks stays "reading" for ever in
 * the child (it does not exist there), and no grace period can end. So the
 * runtime knows exactly who reads at the fork: entering and leaving an
 * outermost read section, call_rcu() (liburcu reads inside it) and the
 * grace-period waits hold fork_gate for reading; the forking thread takes
 * it for writing (runtime/fork.c), so at the fork nobody is half-way and
 * nr_readers is exact. A child whose parent had other readers then
 * refuses to wait for a grace period (reported; Python: EDEADLK) instead
 * of hanging. A gate it could not take in time (a grace period held open
 * by a long reader) counts as such a reader.
 */
/* Writer-preferring: glibc's default lets a stream of call_rcu() readers
 * starve the forking thread past its timeout (the child then has to assume
 * a stale reader). No reader takes the gate twice, so non-recursive is safe. */
static pthread_rwlock_t fork_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static atomic_t nr_readers = ATOMIC_INIT(0);
static int stale_readers;
static int gate_held;

#define GATE(stmt) do { pthread_rwlock_rdlock(&fork_gate); stmt; \
			pthread_rwlock_unlock(&fork_gate); } while (0)

/* Tasks other than the caller inside an RCU read section now. */
int pfl_rcu_other_readers(void)
{
	return atomic_read(&nr_readers) - (pfl_current()->rcu_read_depth > 0);
}

/* phase 0: before fork (after liburcu's workers paused), 1: parent, 2: child. */
void pfl_rcu_atfork(int phase, int urcu_paused)
{
	if (phase == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		gate_held = pthread_rwlock_timedwrlock(&fork_gate, &ts) == 0;
		stale_readers = pfl_rcu_other_readers();
		/* Unknown (gate not taken) or a call_rcu worker not paused: it may
		 * be inside a grace period: count as a reader, never wait. */
		if (stale_readers <= 0 && (!gate_held || !urcu_paused))
			stale_readers = 1;
	} else if (phase == 1) {
		stale_readers = 0;
		if (gate_held)
			pthread_rwlock_unlock(&fork_gate);
	} else {
		pthread_rwlockattr_t attr;

		pthread_rwlockattr_init(&attr);
		pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&fork_gate, &attr);
		pthread_rwlockattr_destroy(&attr);
		atomic_set(&nr_readers, pfl_current()->rcu_read_depth > 0);
	}
}

/* Readers of the parent that did not survive the fork into this child. */
int pfl_rcu_stale_readers(void)
{
	return stale_readers;
}

static int grace_period_impossible(const char *what)
{
	if (!stale_readers)
		return 0;
	pfl_printk("BUG: %s in a fork child: %d thread(s) of the parent were in RCU read "
		   "sections at the fork (would never return)\n", what, stale_readers);
	return 1;
}

void pfl_rcu_register_thread(void)
{
	struct task_struct *t = pfl_current();

	if (!t->rcu_registered) {
		pfl_urcu_register_thread();
		t->rcu_registered = 1;
	}
}

/* Called from the task destructor on thread exit. */
void pfl_rcu_unregister_thread(struct task_struct *t)
{
	if (t->rcu_registered) {
		pthread_rwlock_rdlock(&fork_gate);
		if (t->rcu_read_depth) {
			pfl_printk("BUG: thread %d exits inside %d RCU read section(s)\n",
				   t->pid, t->rcu_read_depth);
			pfl_warn(__FILE__, __LINE__, "thread exit in RCU read section");
			while (t->rcu_read_depth > 0) {
				t->rcu_read_depth--;
				pfl_urcu_read_unlock();
			}
			atomic_dec(&nr_readers);
		}
		pfl_urcu_unregister_thread();
		t->rcu_registered = 0;
		pthread_rwlock_unlock(&fork_gate);
	}
}

void pfl_rcu_read_lock(void)
{
	struct task_struct *t = pfl_current();

	if (t->rcu_read_depth) {
		pfl_urcu_read_lock();
		t->rcu_read_depth++;
		return;
	}
	pthread_rwlock_rdlock(&fork_gate);
	if (!t->rcu_registered)
		pfl_rcu_register_thread();
	pfl_urcu_read_lock();
	t->rcu_read_depth = 1;
	atomic_inc(&nr_readers);
	pthread_rwlock_unlock(&fork_gate);
}

void pfl_rcu_read_unlock(void)
{
	struct task_struct *t = pfl_current();

	if (!t->rcu_read_depth) {
		pfl_warn(__FILE__, __LINE__, "rcu_read_unlock() without rcu_read_lock()");
		return;
	}
	if (t->rcu_read_depth > 1) {
		t->rcu_read_depth--;
		pfl_urcu_read_unlock();
		return;
	}
	pthread_rwlock_rdlock(&fork_gate);
	t->rcu_read_depth = 0;
	atomic_dec(&nr_readers);
	pfl_urcu_read_unlock();
	pthread_rwlock_unlock(&fork_gate);
}

int pfl_rcu_read_lock_held(void)
{
	return pfl_current()->rcu_read_depth > 0;
}

int pfl_rcu_read_depth(void)
{
	return pfl_current()->rcu_read_depth;
}

void call_rcu(struct callback_head *head, rcu_callback_t func)
{
	GATE(pfl_rcu_register_thread(); pfl_urcu_call(head, (void (*)(void *))func));
}

void synchronize_rcu(void)
{
	struct task_struct *t = pfl_current();

	pfl_might_sleep(__FILE__, __LINE__);
	if (t->rcu_read_depth) {
		pfl_printk("BUG: synchronize_rcu() in an RCU read-side critical section (would deadlock)\n");
		return;
	}
	if (grace_period_impossible("synchronize_rcu()"))
		return;
	GATE(pfl_urcu_synchronize());
}

void rcu_barrier(void)
{
	struct task_struct *t = pfl_current();

	pfl_might_sleep(__FILE__, __LINE__);
	if (t->rcu_read_depth) {
		pfl_printk("BUG: rcu_barrier() in an RCU read-side critical section (would deadlock)\n");
		return;
	}
	if (grace_period_impossible("rcu_barrier()"))
		return;
	GATE(pfl_rcu_register_thread(); pfl_urcu_barrier());
}
