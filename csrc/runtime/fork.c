// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: fork().
 *
 * Linux copies only the forking thread. A runtime lock another thread held
 * at that instant would stay held in the child for ever, and liburcu's
 * call_rcu worker would be gone (rcu_barrier() would never return). So the
 * forking thread, around fork(): pauses liburcu's call_rcu workers (first:
 * they take runtime locks in callbacks), then takes every runtime lock in
 * the runtime's own order; the parent releases them, the child
 * re-initialises them and restarts liburcu's worker and the timer thread.
 * Called from Python's os.register_at_fork() hooks (pyforlinux/_fork.py),
 * never from pthread_atfork() (liburcu's README: callbacks that free
 * memory hang glibc's atfork handling).
 *
 * What stays unusable in a child: locks and RCU read sections other
 * threads held at the fork. Their owners do not exist there; the Python
 * layer refuses such a lock (EDEADLK) and a grace period that would wait
 * for such a reader is not waited for (reported).
 */
#include <linux/types.h>
#include <linux/sched.h>
#include <unistd.h>

void pfl_urcu_before_fork(void);
void pfl_urcu_after_fork_parent(void);
void pfl_urcu_after_fork_child(void);
void pfl_rcu_atfork(int phase, int urcu_paused);
void pfl_rcu_cookie_atfork(int phase);
void pfl_sched_atfork(int phase);
void pfl_lockdep_atfork(int phase);
void pfl_slab_atfork(int phase);
void pfl_printk_atfork(int phase);

int pfl_rcu_other_readers(void);

static int forks;
static int urcu_paused;

void pfl_fork_prepare(void)
{
	pfl_current();	/* the forking thread has a task the child keeps */
	/*
	 * call_rcu_before_fork() waits for the call_rcu worker to pause, and the
	 * worker cannot pause inside a grace period a read section holds open
	 * (another thread's, or the forking thread's own): with such readers,
	 * fork without it (the child then has no call_rcu worker, and no grace
	 * period either; see rcu.c).
	 */
	urcu_paused = pfl_rcu_other_readers() == 0 && !pfl_current()->rcu_read_depth;
	if (urcu_paused)
		pfl_urcu_before_fork();
	pfl_rcu_atfork(0, urcu_paused);
	pfl_rcu_cookie_atfork(0);
	pfl_sched_atfork(0);
	pfl_lockdep_atfork(0);
	pfl_slab_atfork(0);
	pfl_printk_atfork(0);
}

void pfl_fork_parent(void)
{
	pfl_printk_atfork(1);
	pfl_slab_atfork(1);
	pfl_lockdep_atfork(1);
	pfl_sched_atfork(1);
	pfl_rcu_cookie_atfork(1);
	pfl_rcu_atfork(1, urcu_paused);
	if (urcu_paused)
		pfl_urcu_after_fork_parent();
}

void pfl_fork_child(void)
{
	pfl_printk_atfork(2);
	pfl_slab_atfork(2);
	pfl_lockdep_atfork(2);
	pfl_sched_atfork(2);
	pfl_rcu_cookie_atfork(2);
	pfl_rcu_atfork(2, urcu_paused);
	if (urcu_paused)
		pfl_urcu_after_fork_child();
	forks++;
}

/* How many forks led to this process (0 in the original). */
int pfl_fork_count(void)
{
	return forks;
}
