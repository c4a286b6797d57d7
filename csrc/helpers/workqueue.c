// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers: work items and hrtimers whose functions are Python
 * (see include/pfl/workqueue.h), and the macros/inlines of workqueue.h
 * and completion.h that cffi cannot call, like rust/helpers/workqueue.c
 * and rust/helpers/completion.c.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <pfl/workqueue.h>
#include <asm/barrier.h>

void init_work_with_key(struct work_struct *work, work_func_t func, bool onstack,
			const char *name, struct lock_class_key *key)
{
	__init_work(work, onstack);
	work->data = (atomic_long_t)WORK_DATA_INIT();
	lockdep_init_map(&work->lockdep_map, name, key, 0);
	INIT_LIST_HEAD(&work->entry);
	work->func = func;
}

static void pfl_work_fn(struct work_struct *work)
{
	struct pfl_work *w = container_of(work, struct pfl_work, dwork.work);

	pfl_work_py_run(w->cookie);
}

void pfl_work_init(struct pfl_work *w, unsigned long cookie, const char *name,
		   struct lock_class_key *key)
{
	init_work_with_key(&w->dwork.work, pfl_work_fn, false, name, key);
	timer_setup(&w->dwork.timer, delayed_work_timer_fn, TIMER_IRQSAFE);
	w->dwork.wq = NULL;
	w->cookie = cookie;
}

static enum hrtimer_restart pfl_hrtimer_fn(struct hrtimer *timer)
{
	struct pfl_hrtimer *t = container_of(timer, struct pfl_hrtimer, timer);

	return pfl_hrtimer_py_run(t->cookie) ? HRTIMER_RESTART : HRTIMER_NORESTART;
}

void pfl_hrtimer_init(struct pfl_hrtimer *t, unsigned long cookie, clockid_t clock,
		      enum hrtimer_mode mode)
{
	hrtimer_setup(&t->timer, pfl_hrtimer_fn, clock, mode);
	t->cookie = cookie;
}

int pfl_work_pending(struct work_struct *work)
{
	return work_pending(work);
}

/* The system queues by index, in the order of pyforlinux/workqueue.py. */
struct workqueue_struct *pfl_system_wq(int which)
{
	switch (which) {
	case 0: return system_wq;
	case 1: return system_highpri_wq;
	case 2: return system_long_wq;
	case 3: return system_unbound_wq;
	case 4: return system_freezable_wq;
	case 5: return system_power_efficient_wq;
	case 6: return system_freezable_power_efficient_wq;
	case 7: return system_bh_wq;
	case 8: return system_bh_highpri_wq;
	case 9: return system_percpu_wq;
	case 10: return system_dfl_wq;
	}
	return NULL;
}

/* wait_for_completion_state() with a timeout in jiffies: the one call the
 * Python waits slice (so that Ctrl-C is seen between slices). */
long pfl_wait_for_completion_state_timeout(struct completion *x, unsigned int state, long timeout)
{
	if (state & TASK_INTERRUPTIBLE)
		return wait_for_completion_interruptible_timeout(x, timeout);
	if (state & TASK_WAKEKILL)
		return wait_for_completion_killable_timeout(x, timeout);
	return wait_for_completion_timeout(x, timeout);
}

/* rust/helpers/barrier.c: the SMP barriers, for pyforlinux/sync/barrier.py. */
void pfl_smp_mb(void)
{
	smp_mb();
}

void pfl_smp_wmb(void)
{
	smp_wmb();
}

void pfl_smp_rmb(void)
{
	smp_rmb();
}

/* A statically initialised work, as drivers declare them (DECLARE_WORK):
 * tests/test_workqueue.py queues it with the C API. */
static atomic_t pfl_static_work_count = ATOMIC_INIT(0);

static void pfl_static_work_fn(struct work_struct *work)
{
	atomic_inc(&pfl_static_work_count);
}

static DECLARE_WORK(pfl_static_work, pfl_static_work_fn);

struct work_struct *pfl_static_work_get(void)
{
	return &pfl_static_work;
}

int pfl_static_work_runs(void)
{
	return atomic_read(&pfl_static_work_count);
}
