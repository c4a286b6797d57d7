// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/dma_buf/dma_fence.py, like
 * rust/helpers/dma_fence.c plus the dma_fence_ops that the Rust
 * abstraction (rust/kernel/dma_buf/dma_fence.rs) implements in Rust.
 *
 * The ops are C so that the dma-fence core never calls Python for a name
 * or a release: only the signal callbacks reach Python, through one
 * extern "Python+C" entry point. See csrc/include/pfl/dma_fence.h.
 * C header: include/linux/dma-fence.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/dma-fence.h>
#include <pfl/dma_fence.h>

static_assert(offsetof(struct pfl_dma_fence, base) == 0,
	      "dma_fence_free() must free the whole struct pfl_dma_fence");

static const char *pfl_dma_fence_get_driver_name(struct dma_fence *fence)
{
	return container_of(fence, struct pfl_dma_fence, base)->driver_name;
}

static const char *pfl_dma_fence_get_timeline_name(struct dma_fence *fence)
{
	return container_of(fence, struct pfl_dma_fence, base)->timeline_name;
}

/* Last reference gone: free after a grace period (dma_fence_get_rcu_safe()
 * readers may still look at it), as the core's default does. */
static void pfl_dma_fence_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
}

static const struct dma_fence_ops pfl_dma_fence_ops = {
	.use_64bit_seqno = true,
	.get_driver_name = pfl_dma_fence_get_driver_name,
	.get_timeline_name = pfl_dma_fence_get_timeline_name,
	.release = pfl_dma_fence_release,
};

struct pfl_dma_fence *pfl_dma_fence_alloc(const char *driver_name, const char *timeline_name,
					  unsigned int gfp)
{
	struct pfl_dma_fence *f;

	if (!driver_name || !timeline_name ||
	    strlen(driver_name) >= PFL_DMA_FENCE_NAME_LEN ||
	    strlen(timeline_name) >= PFL_DMA_FENCE_NAME_LEN)
		return ERR_PTR(-EINVAL);
	f = kzalloc(sizeof(*f), gfp);
	if (!f)
		return ERR_PTR(-ENOMEM);
	/* Lengths checked above; kzalloc() provides the NULs. */
	memcpy(f->driver_name, driver_name, strlen(driver_name));
	memcpy(f->timeline_name, timeline_name, strlen(timeline_name));
	return f;
}

void pfl_dma_fence_free_unarmed(struct pfl_dma_fence *f)
{
	kfree(f);
}

/* dma_fence_init() on the pre-allocated fence: refcount 1, no allocation. */
struct dma_fence *pfl_dma_fence_arm(struct pfl_dma_fence *f, u64 context, u64 seqno)
{
	static struct lock_class_key key;

	pfl_spin_lock_init(&f->lock, "pfl_dma_fence.lock", &key);
	dma_fence_init(&f->base, &pfl_dma_fence_ops, &f->lock, context, seqno);
	return &f->base;
}

int pfl_dma_fence_signal(struct dma_fence *fence, int error, int subclass)
{
	unsigned long flags;
	bool cookie;
	int ret;

	if (error > 0 || error < -MAX_ERRNO)
		return -EINVAL;
	cookie = pfl_dma_fence_begin_signalling();
	spin_lock_irqsave_nested(fence->lock, flags, subclass);
	if (test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags)) {
		ret = -EINVAL;
	} else {
		if (error)
			dma_fence_set_error(fence, error);
		ret = dma_fence_signal_locked(fence);
	}
	spin_unlock_irqrestore(fence->lock, flags);
	pfl_dma_fence_end_signalling(cookie);
	return ret;
}

/* The Rust series' Drop for DriverFence: an unsignalled fence is a driver
 * bug (WARN) and is signalled with -ECANCELED so that no waiter hangs and
 * no callback stays pending. Returns 1 if it had to signal, else 0. */
int pfl_dma_fence_drop_signal(struct dma_fence *fence, int subclass)
{
	unsigned long flags;
	bool cookie;
	int unsignalled;

	cookie = pfl_dma_fence_begin_signalling();
	spin_lock_irqsave_nested(fence->lock, flags, subclass);
	unsignalled = !test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags);
	if (WARN(unsignalled, "DriverFence %llu:%llu dropped unsignalled: signalled with -ECANCELED\n",
		 fence->context, fence->seqno)) {
		dma_fence_set_error(fence, -ECANCELED);
		dma_fence_signal_locked(fence);
	}
	spin_unlock_irqrestore(fence->lock, flags);
	pfl_dma_fence_end_signalling(cookie);
	return unsignalled;
}

/* Runs with the fence lock held, from dma_fence_signal_timestamp_locked().
 * The node belongs to its FenceCbRegistration, which frees it after
 * dma_fence_remove_callback() (that lock round trip orders the free after
 * this call). */
static void pfl_dma_fence_cb_func(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct pfl_dma_fence_cb *pcb = container_of(cb, struct pfl_dma_fence_cb, base);

	pfl_dma_fence_py_callback(fence, pcb->cookie);
}

/* The lock check, the node's allocation and dma_fence_add_callback() in
 * one call (one GIL release): the node, or ERR_PTR(-EDEADLK) if the calling
 * task holds the fence lock (adding would take it again), -ENOMEM, or
 * -ENOENT (already signalled); on an error nothing is left allocated. */
struct pfl_dma_fence_cb *pfl_dma_fence_cb_add(struct dma_fence *fence, unsigned long cookie,
					      unsigned int gfp)
{
	struct pfl_dma_fence_cb *cb;
	int ret;

	if (pfl_dma_fence_lock_held(fence))
		return ERR_PTR(-EDEADLK);
	cb = kzalloc(sizeof(*cb), gfp);
	if (!cb)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&cb->base.node);
	cb->cookie = cookie;
	ret = dma_fence_add_callback(fence, &cb->base, pfl_dma_fence_cb_func);
	if (ret) {
		kfree(cb);
		return ERR_PTR(ret);
	}
	return cb;
}

/* dma_fence_remove_callback(), then free the node; true if the callback
 * was still pending (it will now never run). Always takes the fence lock,
 * so a callback running on another CPU has returned before the free. */
bool pfl_dma_fence_cb_remove_free(struct dma_fence *fence, struct pfl_dma_fence_cb *cb)
{
	bool pending = dma_fence_remove_callback(fence, &cb->base);

	kfree(cb);
	return pending;
}

/* dma_fence_is_signaled(), then a lock round trip so that a true answer
 * also means every callback has run (the Rust series' Fence::is_signaled). */
bool pfl_dma_fence_is_signaled_sync(struct dma_fence *fence)
{
	unsigned long flags;
	bool ret = dma_fence_is_signaled(fence);

	spin_lock_irqsave(fence->lock, flags);
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}

int pfl_dma_fence_test_signaled_flag(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags);
}

struct lockdep_map *pfl_dma_fence_lock_map(struct dma_fence *fence)
{
	return &fence->lock->dep_map;
}

unsigned int pfl_dma_fence_refcount(struct dma_fence *fence)
{
	return kref_read(&fence->refcount);
}

/* The signalling time (ns, CLOCK_MONOTONIC), or -EBUSY while unsignalled. */
long long pfl_dma_fence_timestamp_ns(struct dma_fence *fence)
{
	if (!test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT, &fence->flags))
		return -EBUSY;
	return ktime_to_ns(fence->timestamp);
}

/* Whether the calling task holds @fence's lock (a callback of it is
 * running on this task): the check before any call that takes the lock. */
bool pfl_dma_fence_lock_held(struct dma_fence *fence)
{
	return pfl_lock_is_held(&fence->lock->dep_map);
}
