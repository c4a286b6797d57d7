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
#include <pfl/runtime.h>

/* runtime/urcu.c */
void pfl_urcu_register_thread(void);
void pfl_urcu_unregister_thread(void);
void pfl_urcu_read_lock(void);
void pfl_urcu_read_unlock(void);
void pfl_urcu_synchronize(void);
void pfl_urcu_barrier(void);
void pfl_urcu_call(void *head, void (*func)(void *head));
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
		if (t->rcu_read_depth) {
			pfl_printk("BUG: thread %d exits inside %d RCU read section(s)\n",
				   t->pid, t->rcu_read_depth);
			pfl_warn(__FILE__, __LINE__, "thread exit in RCU read section");
			while (t->rcu_read_depth--)
				pfl_urcu_read_unlock();
		}
		pfl_urcu_unregister_thread();
		t->rcu_registered = 0;
	}
}

void pfl_rcu_read_lock(void)
{
	struct task_struct *t = pfl_current();

	if (!t->rcu_registered)
		pfl_rcu_register_thread();
	pfl_urcu_read_lock();
	t->rcu_read_depth++;
}

void pfl_rcu_read_unlock(void)
{
	struct task_struct *t = pfl_current();

	if (!t->rcu_read_depth) {
		pfl_warn(__FILE__, __LINE__, "rcu_read_unlock() without rcu_read_lock()");
		return;
	}
	t->rcu_read_depth--;
	pfl_urcu_read_unlock();
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
	pfl_rcu_register_thread();
	pfl_urcu_call(head, (void (*)(void *))func);
}

void synchronize_rcu(void)
{
	struct task_struct *t = pfl_current();

	pfl_might_sleep(__FILE__, __LINE__);
	if (t->rcu_read_depth) {
		pfl_printk("BUG: synchronize_rcu() in an RCU read-side critical section (would deadlock)\n");
		return;
	}
	pfl_urcu_synchronize();
}

void rcu_barrier(void)
{
	struct task_struct *t = pfl_current();

	pfl_might_sleep(__FILE__, __LINE__);
	if (t->rcu_read_depth) {
		pfl_printk("BUG: rcu_barrier() in an RCU read-side critical section (would deadlock)\n");
		return;
	}
	pfl_rcu_register_thread();
	pfl_urcu_barrier();
}
