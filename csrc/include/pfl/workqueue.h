/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the C side of pyforlinux/workqueue.py and pyforlinux/time
 * (hrtimers). A struct pfl_work is a real struct delayed_work (so one work
 * can be queued now or later) carrying a cookie; its work function hands the
 * cookie to Python (pfl_work_py_run, an extern "Python+C" function of the
 * cffi extension) on a worker kthread. A struct pfl_hrtimer is a real
 * struct hrtimer whose callback does the same (pfl_hrtimer_py_run), and
 * returns what Python returned (HRTIMER_NORESTART/HRTIMER_RESTART).
 * Implemented in csrc/helpers/workqueue.c.
 * C header: include/linux/workqueue.h, include/linux/hrtimer.h
 */
#ifndef _PFL_WORKQUEUE_H
#define _PFL_WORKQUEUE_H
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/hrtimer.h>
#include <linux/completion.h>

struct pfl_work {
	struct delayed_work dwork;	/* dwork.work is the work_struct */
	unsigned long cookie;
};

struct pfl_hrtimer {
	struct hrtimer timer;
	unsigned long cookie;
};

/* rust/helpers/workqueue.c: INIT_WORK() with a caller-given class. */
void init_work_with_key(struct work_struct *work, work_func_t func, bool onstack,
			const char *name, struct lock_class_key *key);
void pfl_work_init(struct pfl_work *w, unsigned long cookie, const char *name,
		   struct lock_class_key *key);
void pfl_hrtimer_init(struct pfl_hrtimer *t, unsigned long cookie, clockid_t clock,
		      enum hrtimer_mode mode);
int pfl_work_pending(struct work_struct *work);
struct work_struct *current_work(void);
struct workqueue_struct *pfl_system_wq(int which);
struct workqueue_struct *pfl_current_work_queue(void);
long pfl_wait_for_completion_state_timeout(struct completion *x, unsigned int state, long timeout);

struct work_struct *pfl_static_work_get(void);
int pfl_static_work_runs(void);
void pfl_smp_mb(void);
void pfl_smp_wmb(void);
void pfl_smp_rmb(void);

/* Defined by the cffi extension (extern "Python+C"). */
void pfl_work_py_run(unsigned long cookie);
int pfl_hrtimer_py_run(unsigned long cookie);
#endif
