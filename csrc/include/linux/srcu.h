/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: sleepable RCU, one grace-period domain per srcu_struct
 * (runtime/srcu.c). Readers count themselves into the domain's current
 * index; synchronize_srcu() flips the index and waits until the readers
 * of the old one have left -- readers of other domains are not waited for,
 * so synchronize_srcu(&a) inside srcu_read_lock(&b) is fine, as in the
 * kernel. synchronize_srcu() of a domain inside its own read section would
 * never return: it is reported (WARN, lockdep's view) and returns.
 * C header: include/linux/srcu.h
 */
#ifndef _LINUX_SRCU_H
#define _LINUX_SRCU_H
#include <pthread.h>
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/rcupdate.h>
#include <linux/lockdep_types.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>

struct srcu_struct {
	pthread_mutex_t mu;		/* protects idx and readers */
	pthread_cond_t cv;		/* readers of the old index left */
	pthread_mutex_t gp_mu;		/* one grace period at a time */
	unsigned int idx;
	long readers[2];
	const char *name;
	int initialized;
};

#define __SRCU_STRUCT_INIT(_n)						\
	{ .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, \
	  .gp_mu = PTHREAD_MUTEX_INITIALIZER, .name = #_n, .initialized = 1 }
#define DEFINE_SRCU(_n) struct srcu_struct _n = __SRCU_STRUCT_INIT(_n)
#define DEFINE_STATIC_SRCU(_n) static struct srcu_struct _n = __SRCU_STRUCT_INIT(_n)
/* Tree SRCU's out-of-line state (linux/notifier.h embeds one): none here. */
struct srcu_usage { int pfl_unused; };

int pfl_init_srcu_struct(struct srcu_struct *ssp, const char *name);
#define init_srcu_struct(ssp) pfl_init_srcu_struct((ssp), #ssp)
void cleanup_srcu_struct(struct srcu_struct *ssp);
int srcu_read_lock(struct srcu_struct *ssp);
void srcu_read_unlock(struct srcu_struct *ssp, int idx);
#define srcu_read_lock_nmisafe(ssp) srcu_read_lock(ssp)
#define srcu_read_unlock_nmisafe(ssp, idx) srcu_read_unlock((ssp), (idx))
int srcu_read_lock_held(const struct srcu_struct *ssp);
void synchronize_srcu(struct srcu_struct *ssp);
#define synchronize_srcu_expedited(ssp) synchronize_srcu(ssp)
void srcu_barrier(struct srcu_struct *ssp);
#define srcu_dereference_check(p, ssp, c) rcu_dereference_protected((p), 1)
#define srcu_dereference(p, ssp) srcu_dereference_check((p), (ssp), 0)
#define srcu_dereference_notrace(p, ssp) srcu_dereference((p), (ssp))
#endif
