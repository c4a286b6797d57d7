/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: sleepable RCU, one domain per srcu_struct (a synchronize_srcu()
 * of one domain never waits for readers of another). Readers count on one of
 * two counters chosen by the domain's index; synchronize_srcu() flips the
 * index and waits for the old counter to drain, twice (the classic two-flip
 * SRCU: a reader that read the index just before a flip is caught by the
 * second wait). Counters are sequentially consistent atomics, so no per-CPU
 * memory barriers are needed. Implementation: csrc/runtime/srcu.c.
 * (h11base wrote this for the driver core's device_links_srcu; a fuller SRCU
 * runtime -- lockdep on readers, call_srcu -- may replace it.)
 * C header: include/linux/srcu.h
 */
#ifndef _LINUX_SRCU_H
#define _LINUX_SRCU_H
#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>

struct srcu_usage {
	struct mutex srcu_gp_mutex;	/* one grace period at a time */
};

struct srcu_struct {
	long srcu_ctr[2];		/* readers inside, per index */
	unsigned long srcu_idx;		/* low bit: the index new readers take */
	struct srcu_usage *srcu_sup;
	const char *name;
};

#define __SRCU_USAGE_INIT(name) { .srcu_gp_mutex = __MUTEX_INITIALIZER(name.srcu_gp_mutex) }
#define __SRCU_STRUCT_INIT(nm, usage_name, pcpu_name) \
	{ .srcu_sup = &usage_name, .name = #nm }
#define __DEFINE_SRCU(name, qualifier)					\
	static struct srcu_usage name##_srcu_usage = __SRCU_USAGE_INIT(name##_srcu_usage); \
	qualifier struct srcu_struct name = __SRCU_STRUCT_INIT(name, name##_srcu_usage, name##_pcpu)
#define DEFINE_SRCU(name) __DEFINE_SRCU(name, /* not static */)
#define DEFINE_STATIC_SRCU(name) __DEFINE_SRCU(name, static)

int init_srcu_struct(struct srcu_struct *ssp);
void cleanup_srcu_struct(struct srcu_struct *ssp);
void synchronize_srcu(struct srcu_struct *ssp);
#define synchronize_srcu_expedited(ssp) synchronize_srcu(ssp)
void srcu_barrier(struct srcu_struct *ssp);

static inline int srcu_read_lock(struct srcu_struct *ssp)
{
	int idx = (int)(__atomic_load_n(&ssp->srcu_idx, __ATOMIC_SEQ_CST) & 1);

	__atomic_add_fetch(&ssp->srcu_ctr[idx], 1, __ATOMIC_SEQ_CST);
	return idx;
}

static inline void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	__atomic_sub_fetch(&ssp->srcu_ctr[idx & 1], 1, __ATOMIC_SEQ_CST);
}

/* As the kernel without CONFIG_DEBUG_LOCK_ALLOC: assumed held. */
static inline int srcu_read_lock_held(const struct srcu_struct *ssp)
{
	return 1;
}

#define srcu_dereference_check(p, ssp, c) rcu_dereference_check((p), (c))
#define srcu_dereference(p, ssp) srcu_dereference_check((p), (ssp), 0)
#define srcu_dereference_notrace(p, ssp) srcu_dereference_check((p), (ssp), 1)
#endif
