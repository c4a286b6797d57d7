/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: tasks are threads. Each thread that enters C gets a
 * task_struct (runtime/sched.c) with a state word and a condition variable;
 * schedule_timeout() sleeps on it until wake_up_state() or the timeout,
 * with the kernel's lost-wakeup-free protocol (set_current_state() before
 * testing the condition). A task is "signalled" by pfl_task_signal()
 * (Python: Task.signal()), which makes signal_pending() true and wakes
 * TASK_INTERRUPTIBLE sleeps, like a signal's delivery.
 * C header: include/linux/sched.h
 */
#ifndef _LINUX_SCHED_H
#define _LINUX_SCHED_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/atomic.h>
#include <linux/refcount.h>
#include <pthread.h>
#include <pfl/runtime.h>

#define TASK_RUNNING		0x00000000
#define TASK_INTERRUPTIBLE	0x00000001
#define TASK_UNINTERRUPTIBLE	0x00000002
#define __TASK_STOPPED		0x00000004
#define __TASK_TRACED		0x00000008
#define TASK_PARKED		0x00000040
#define TASK_DEAD		0x00000080
#define TASK_WAKEKILL		0x00000100
#define TASK_NOLOAD		0x00000400
#define TASK_KILLABLE		(TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)
#define TASK_IDLE		(TASK_UNINTERRUPTIBLE | TASK_NOLOAD)
#define TASK_NORMAL		(TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)
#define TASK_COMM_LEN 16
#define MAX_SCHEDULE_TIMEOUT	LONG_MAX

struct pfl_held_lock {
	struct lockdep_map *map;
	unsigned long ip;
	int subclass;		/* taken as (key, subclass): its class while held */
	char ctx[160];		/* Python acquisition site, if any */
};
#define PFL_MAX_HELD_LOCKS 48

struct task_struct {
	volatile unsigned int __state;
	refcount_t usage;
	pthread_mutex_t pi_mu;		/* protects __state changes by wakers */
	pthread_cond_t wake;		/* schedule_timeout() sleeps here */
	pthread_t thread;
	int pid;			/* thread id (gettid) */
	int tgid;			/* process id */
	char comm[TASK_COMM_LEN];
	atomic_t sigpending;		/* pfl_task_signal() */
	atomic_t should_stop;		/* kthread_stop() */
	int rcu_read_depth;
	int rcu_registered;
	int preempt_depth;		/* preempt_disable() nesting */
	int lockdep_depth;
	struct pfl_held_lock held_locks[PFL_MAX_HELD_LOCKS];
	unsigned long fail_nth;		/* fail the nth allocation from now (0: off) */
	unsigned int fail_probability;	/* parts per million */
	unsigned long alloc_count;	/* allocation attempts by this task */
	int (*kthread_fn)(void *data);	/* kthread_run() body */
	void *kthread_data;
	int kthread_ret;
	int kthread_exited;
	void *pfl_private;		/* owner data for the Python layer */
};

#define current pfl_current()
#define __set_current_state(s) do { current->__state = (s); } while (0)
#define set_current_state(s) do { __atomic_store_n(&current->__state, (s), __ATOMIC_SEQ_CST); } while (0)
#define get_current_state() READ_ONCE(current->__state)
#define task_pid_nr(t) ((t)->pid)
#define task_tgid_nr(t) ((t)->tgid)

int pfl_task_signal(struct task_struct *p);
void pfl_task_clear_signal(struct task_struct *p);
void get_task_struct_fn(struct task_struct *t);
void put_task_struct(struct task_struct *t);
#define get_task_struct(t) ({ struct task_struct *__t = (t); get_task_struct_fn(__t); __t; })

static inline int signal_pending(struct task_struct *p)
{
	return atomic_read(&p->sigpending) != 0;
}
static inline int fatal_signal_pending(struct task_struct *p)
{
	return signal_pending(p);
}
static inline int signal_pending_state(unsigned int state, struct task_struct *p)
{
	if (!(state & (TASK_INTERRUPTIBLE | TASK_WAKEKILL)))
		return 0;
	return signal_pending(p);
}

#define schedule_timeout(t) pfl_schedule_timeout(t)
static inline long schedule_timeout_interruptible(long t)
{
	__set_current_state(TASK_INTERRUPTIBLE);
	return schedule_timeout(t);
}
static inline long schedule_timeout_uninterruptible(long t)
{
	__set_current_state(TASK_UNINTERRUPTIBLE);
	return schedule_timeout(t);
}
static inline long schedule_timeout_killable(long t)
{
	__set_current_state(TASK_KILLABLE);
	return schedule_timeout(t);
}
#define schedule() ((void)schedule_timeout(MAX_SCHEDULE_TIMEOUT))
#define wake_up_state(p, s) pfl_wake_up_state((p), (s))
#define wake_up_process(p) pfl_wake_up_state((p), TASK_NORMAL)
void pfl_yield(void);
#define yield() pfl_yield()
#define yield_to(p, preempt) ({ (void)(p); (void)(preempt); pfl_yield(); 1; })
#define cond_resched() ({ pfl_might_sleep(__FILE__, __LINE__); 0; })
#define might_sleep() pfl_might_sleep(__FILE__, __LINE__)
#define might_sleep_if(c) do { if (c) might_sleep(); } while (0)
#define might_resched() do { } while (0)
#define need_resched() 0
#define in_atomic() (current->preempt_depth != 0)
#define in_task() 1
#define sched_set_fifo(p) do { } while (0)
#define sched_set_normal(p, n) do { } while (0)
#define set_user_nice(p, n) do { } while (0)
#define io_schedule_timeout(t) schedule_timeout(t)

#include <linux/timer.h>
/* pids and capabilities of tasks (runtime/vfs.c), as linux/sched.h gets them */
#include <linux/pid.h>
#include <linux/capability.h>
pid_t task_pid_vnr(struct task_struct *tsk);
pid_t task_tgid_vnr(struct task_struct *tsk);

#endif
