// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: SRCU grace periods (see include/linux/srcu.h). A grace
 * period flips the domain's reader index and waits for the readers on the old
 * index to leave, twice, under the domain's own mutex. Waiting sleeps
 * (msleep-like) and never holds anything a reader of this or another domain
 * needs. C: kernel/rcu/srcutree.c (semantics, not code).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/mutex.h>
#include <linux/errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <time.h>

int init_srcu_struct(struct srcu_struct *ssp)
{
	ssp->srcu_ctr[0] = 0;
	ssp->srcu_ctr[1] = 0;
	ssp->srcu_idx = 0;
	ssp->name = "srcu";
	ssp->srcu_sup = kzalloc(sizeof(*ssp->srcu_sup), GFP_KERNEL);
	if (!ssp->srcu_sup)
		return -ENOMEM;
	mutex_init(&ssp->srcu_sup->srcu_gp_mutex);
	return 0;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	WARN_ON(__atomic_load_n(&ssp->srcu_ctr[0], __ATOMIC_SEQ_CST) ||
		__atomic_load_n(&ssp->srcu_ctr[1], __ATOMIC_SEQ_CST));
	kfree(ssp->srcu_sup);
	ssp->srcu_sup = NULL;
}

static void srcu_wait_drained(struct srcu_struct *ssp, int idx)
{
	struct timespec ts = { 0, 20000 };

	while (__atomic_load_n(&ssp->srcu_ctr[idx], __ATOMIC_SEQ_CST))
		nanosleep(&ts, NULL);
}

static void srcu_flip_and_wait(struct srcu_struct *ssp)
{
	unsigned long old = __atomic_fetch_add(&ssp->srcu_idx, 1, __ATOMIC_SEQ_CST);

	srcu_wait_drained(ssp, (int)(old & 1));
}

void synchronize_srcu(struct srcu_struct *ssp)
{
	pfl_might_sleep(__FILE__, __LINE__);
	mutex_lock(&ssp->srcu_sup->srcu_gp_mutex);
	srcu_flip_and_wait(ssp);
	srcu_flip_and_wait(ssp);
	mutex_unlock(&ssp->srcu_sup->srcu_gp_mutex);
}

void srcu_barrier(struct srcu_struct *ssp)
{
	/* No call_srcu() here: nothing is ever queued. */
}
