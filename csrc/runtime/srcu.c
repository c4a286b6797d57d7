// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: SRCU, one grace-period domain per srcu_struct.
 *
 * A reader counts itself into the domain's current index (srcu_read_lock()
 * returns it) and out again. synchronize_srcu() flips the index under the
 * domain's mutex, so every reader that started before the flip is counted
 * in the old index and every later one in the new; it then sleeps until the
 * old index drains. Domains are independent: a grace period of one never
 * waits for readers of another. Each thread keeps the domains it is reading
 * so that synchronize_srcu() of a domain from inside its own read section,
 * a certain deadlock in the kernel, is a WARN that returns instead of a hang.
 * Kernel: kernel/rcu/srcutree.c (semantics), include/linux/srcu.h (API).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/srcu.h>
#include <pthread.h>

#define PFL_SRCU_NEST 32
static __thread struct srcu_struct *held[PFL_SRCU_NEST];
static __thread int nheld;

int pfl_init_srcu_struct(struct srcu_struct *ssp, const char *name)
{
	pthread_mutex_init(&ssp->mu, NULL);
	pthread_cond_init(&ssp->cv, NULL);
	pthread_mutex_init(&ssp->gp_mu, NULL);
	ssp->idx = 0;
	ssp->readers[0] = ssp->readers[1] = 0;
	ssp->name = name;
	ssp->initialized = 1;
	return 0;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	pthread_mutex_lock(&ssp->mu);
	if (ssp->readers[0] || ssp->readers[1])
		pfl_warn(__FILE__, __LINE__, "cleanup_srcu_struct() with readers inside");
	pthread_mutex_unlock(&ssp->mu);
	ssp->initialized = 0;
}

int srcu_read_lock(struct srcu_struct *ssp)
{
	int idx;

	if (!ssp->initialized)
		pfl_warn(__FILE__, __LINE__, "srcu_read_lock() of an uninitialized srcu_struct");
	pthread_mutex_lock(&ssp->mu);
	idx = ssp->idx & 1;
	ssp->readers[idx]++;
	pthread_mutex_unlock(&ssp->mu);
	if (nheld < PFL_SRCU_NEST)
		held[nheld] = ssp;
	nheld++;
	return idx;
}

void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	int i;

	pthread_mutex_lock(&ssp->mu);
	if (idx < 0 || idx > 1 || ssp->readers[idx] <= 0) {
		pthread_mutex_unlock(&ssp->mu);
		pfl_warn(__FILE__, __LINE__, "srcu_read_unlock() without srcu_read_lock()");
		return;
	}
	if (--ssp->readers[idx] == 0)
		pthread_cond_broadcast(&ssp->cv);
	pthread_mutex_unlock(&ssp->mu);
	for (i = (nheld < PFL_SRCU_NEST ? nheld : PFL_SRCU_NEST) - 1; i >= 0; i--) {
		if (held[i] == ssp) {
			memmove(&held[i], &held[i + 1], sizeof(held[0]) *
				(size_t)((nheld < PFL_SRCU_NEST ? nheld : PFL_SRCU_NEST) - i - 1));
			break;
		}
	}
	if (nheld > 0)
		nheld--;
}

int srcu_read_lock_held(const struct srcu_struct *ssp)
{
	int i;

	for (i = 0; i < nheld && i < PFL_SRCU_NEST; i++)
		if (held[i] == ssp)
			return 1;
	return 0;
}

void synchronize_srcu(struct srcu_struct *ssp)
{
	unsigned int old;

	if (srcu_read_lock_held(ssp)) {
		pfl_printk("WARNING: synchronize_srcu(%s) inside its own read section: deadlock\n",
			   ssp->name ? ssp->name : "?");
		pfl_warn(__FILE__, __LINE__, "synchronize_srcu() in its own read section");
		return;
	}
	might_sleep();
	pthread_mutex_lock(&ssp->gp_mu);
	pthread_mutex_lock(&ssp->mu);
	old = ssp->idx & 1;
	ssp->idx++;
	while (ssp->readers[old])
		pthread_cond_wait(&ssp->cv, &ssp->mu);
	pthread_mutex_unlock(&ssp->mu);
	pthread_mutex_unlock(&ssp->gp_mu);
}

void srcu_barrier(struct srcu_struct *ssp)
{
	/* no call_srcu() callbacks are ever queued */
}
