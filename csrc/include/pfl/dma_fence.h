/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the C side of pyforlinux/dma_buf/dma_fence.py, like the
 * dma_fence_ops a Rust driver gets from rust/kernel/dma_buf/dma_fence.rs.
 *
 * A struct pfl_dma_fence is a real struct dma_fence (first member, so the
 * core's dma_fence_free()/kfree_rcu() frees the whole object) with its own
 * spinlock and its driver and timeline names, so that the fence ops run
 * entirely in C and never call into Python. Fences are allocated early
 * (pfl_dma_fence_alloc, the only allocation) and armed later
 * (pfl_dma_fence_arm: dma_fence_init, no allocation), so that no kernel
 * memory is allocated on the signalling path.
 *
 * Callbacks: a struct pfl_dma_fence_cb carries a cookie; when the fence
 * signals, the C callback (run by dma_fence_signal*() with the fence lock
 * held) hands the cookie to Python (pfl_dma_fence_py_callback, an
 * extern "Python+C" function defined by the cffi extension). The node
 * belongs to the Python FenceCbRegistration, which removes and frees it.
 * Implemented in csrc/helpers/dma_fence.c.
 *
 * Signalling annotations: pfl_dma_fence_begin_signalling() and friends are
 * the CONFIG_LOCKDEP versions of dma_fence_begin_signalling(),
 * dma_fence_end_signalling() and __dma_fence_might_wait(), checked by the
 * runtime's lock validator (csrc/runtime/lockdep.c).
 * C header: include/linux/dma-fence.h
 */
#ifndef _PFL_DMA_FENCE_H
#define _PFL_DMA_FENCE_H
#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/dma-fence.h>

#define PFL_DMA_FENCE_NAME_LEN 64

struct pfl_dma_fence {
	struct dma_fence base;		/* must stay first: freed by dma_fence_free() */
	spinlock_t lock;		/* the fence's lock (base.lock points here) */
	char driver_name[PFL_DMA_FENCE_NAME_LEN];
	char timeline_name[PFL_DMA_FENCE_NAME_LEN];
};

struct pfl_dma_fence_cb {
	struct dma_fence_cb base;
	unsigned long cookie;		/* the Python side's key for the callback */
};

/* Allocation (may fail: NULL) and arming (never allocates). */
struct pfl_dma_fence *pfl_dma_fence_alloc(const char *driver_name, const char *timeline_name,
					  unsigned int gfp);
void pfl_dma_fence_free_unarmed(struct pfl_dma_fence *f);
struct dma_fence *pfl_dma_fence_arm(struct pfl_dma_fence *f, u64 context, u64 seqno);

/* dma_fence_set_error() + dma_fence_signal_locked() under the fence lock
 * taken with lockdep subclass @subclass (nested signalling from a fence
 * callback); -EINVAL if already signalled. */
int pfl_dma_fence_signal(struct dma_fence *fence, int error, int subclass);
bool pfl_dma_fence_lock_held(struct dma_fence *fence);
/* DriverFence drop: WARN and signal with -ECANCELED if unsignalled (1). */
int pfl_dma_fence_drop_signal(struct dma_fence *fence, int subclass);

/* Callbacks: the node stays the caller's from a successful add until it is
 * removed (always, even after it ran) and freed in one call. The add
 * returns the node or ERR_PTR(-EDEADLK) (the caller holds the fence lock),
 * ERR_PTR(-ENOMEM), or dma_fence_add_callback()'s ERR_PTR(-ENOENT). */
struct pfl_dma_fence_cb *pfl_dma_fence_cb_add(struct dma_fence *fence, unsigned long cookie,
					      unsigned int gfp);
bool pfl_dma_fence_cb_remove_free(struct dma_fence *fence, struct pfl_dma_fence_cb *cb);

bool pfl_dma_fence_is_signaled_sync(struct dma_fence *fence);

/* The signalling annotations (runtime/lockdep.c). */
bool pfl_dma_fence_begin_signalling(void);
void pfl_dma_fence_end_signalling(bool cookie);
void pfl_dma_fence_might_wait(void);

/* Static inlines and fields for Python. */
int pfl_dma_fence_test_signaled_flag(struct dma_fence *fence);
struct lockdep_map *pfl_dma_fence_lock_map(struct dma_fence *fence);
unsigned int pfl_dma_fence_refcount(struct dma_fence *fence);
long long pfl_dma_fence_timestamp_ns(struct dma_fence *fence);

/* Defined by the cffi extension (extern "Python+C" in dma_fence.cdef). */
void pfl_dma_fence_py_callback(struct dma_fence *fence, unsigned long cookie);

#endif /* _PFL_DMA_FENCE_H */
