// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux benchmark helpers: layer (c) of pyforlinux/bench.py, the
 * pure-C loop over the same kernel C calls as the safe API and the raw
 * bindings make for one operation (see csrc/include/pfl/bench.h).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
#include <linux/xarray.h>
#include <linux/idr.h>
#include <linux/gpu_buddy.h>
#include <linux/dma-fence.h>
#include <pfl/dma_fence.h>
#include <pfl/bench.h>

/* ---- 1. lists ---- */
struct list_head *pfl_bench_list_new(size_t n)
{
	struct list_head *head = kmalloc(sizeof(*head), GFP_KERNEL);
	size_t i;

	if (!head)
		return NULL;
	INIT_LIST_HEAD(head);
	for (i = 0; i < n; i++) {
		struct pfl_bench_node *node = kmalloc(sizeof(*node), GFP_KERNEL);

		if (!node) {
			pfl_bench_list_free(head);
			return NULL;
		}
		node->value = i;
		list_add_tail(&node->link, head);
	}
	return head;
}

void pfl_bench_list_free(struct list_head *head)
{
	struct pfl_bench_node *pos, *n;

	if (!head)
		return;
	list_for_each_entry_safe(pos, n, head, link) {
		list_del(&pos->link);
		kfree(pos);
	}
	kfree(head);
}

u64 pfl_bench_list_walk(struct list_head *head, size_t reps)
{
	struct pfl_bench_node *pos;
	u64 sum = 0;
	size_t r;

	for (r = 0; r < reps; r++) {
		list_for_each_entry(pos, head, link)
			sum += READ_ONCE(pos->value);
	}
	return sum;
}

size_t pfl_bench_list_collect(struct list_head *head, struct list_head **cur,
			      struct pfl_bench_node **out, size_t max)
{
	struct list_head *p = *cur;
	size_t count = 0;

	while (count < max && p->next != head) {
		p = p->next;
		out[count++] = list_entry(p, struct pfl_bench_node, link);
	}
	*cur = p;
	return count;
}

/* ---- 2. the GPU buddy allocator ---- */
int pfl_bench_buddy(struct gpu_buddy *mm, struct mutex *lock, u64 size, u64 min_block_size,
		    size_t n)
{
	LIST_HEAD(blocks);
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		mutex_lock(lock);
		ret = gpu_buddy_alloc_blocks(mm, 0, 0, size, min_block_size, &blocks, 0);
		mutex_unlock(lock);
		if (ret)
			return ret;
		mutex_lock(lock);
		gpu_buddy_free_list(mm, &blocks, 0);
		mutex_unlock(lock);
	}
	return 0;
}

/* ---- 3. xarray ---- */
int pfl_bench_xarray(struct xarray *xa, unsigned long index, void *a, void *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		void *v = (i & 1) ? b : a, *old;

		xa_lock(xa);
		old = __xa_store(xa, index, v, GFP_KERNEL);
		if (xa_is_err(old)) {
			xa_unlock(xa);
			return xa_err(old);
		}
		if (xa_load(xa, index) != v) {
			xa_unlock(xa);
			return -EIO;
		}
		xa_unlock(xa);
	}
	return 0;
}

/* ---- 4. dma-fence ---- */
struct bench_cb {
	struct dma_fence_cb cb;
	unsigned long calls;
};

static void bench_fence_cb(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	container_of(cb, struct bench_cb, cb)->calls++;
}

int pfl_bench_dma_fence(u64 context, size_t n)
{
	struct bench_cb cb = { .calls = 0 };
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		struct pfl_dma_fence *f = pfl_dma_fence_alloc("bench", "bench", GFP_KERNEL);
		struct dma_fence *fence;

		if (IS_ERR(f))
			return PTR_ERR(f);
		fence = pfl_dma_fence_arm(f, context, i + 1);
		ret = dma_fence_add_callback(fence, &cb.cb, bench_fence_cb);
		if (!ret)
			ret = dma_fence_signal(fence);
		dma_fence_put(fence);
		if (ret)
			return ret;
	}
	return cb.calls == n ? 0 : -EIO;
}

/* ---- 5. mutex ---- */
int pfl_bench_mutex(struct mutex *lock, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		mutex_lock(lock);
		mutex_unlock(lock);
	}
	return 0;
}

/* ---- 6. Nova's GEM_CREATE + GEM_CLOSE, the C calls ---- */
int pfl_bench_gem(struct gpu_buddy *mm, struct mutex *mm_lock, void *vram,
		  struct spinlock *table_lock, struct idr *table, u64 size, int sync_rcu,
		  size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		struct gpu_buddy_block *block;
		refcount_t *refs;
		LIST_HEAD(blocks);
		int handle;

		/* GEM_CREATE: VRAM, cleared; the object; its handle. */
		mutex_lock(mm_lock);
		ret = gpu_buddy_alloc_blocks(mm, 0, 0, size, PAGE_SIZE, &blocks, 0);
		mutex_unlock(mm_lock);
		if (ret)
			return ret;
		list_for_each_entry(block, &blocks, link)
			memset((char *)vram + gpu_buddy_block_offset(block), 0,
			       gpu_buddy_block_size(mm, block));
		refs = kmalloc(sizeof(*refs), GFP_KERNEL);
		if (!refs) {
			ret = -ENOMEM;
			goto free_blocks;
		}
		refcount_set(refs, 1);
		refcount_inc(refs);		/* the handle's reference */
		idr_preload(GFP_KERNEL);
		spin_lock(table_lock);
		handle = idr_alloc(table, refs, 1, 0, GFP_NOWAIT);
		spin_unlock(table_lock);
		idr_preload_end();
		/* the creator's reference: never the last one here */
		ret = refcount_dec_and_test(refs) ? -EIO : 0;
		if (handle < 0) {
			ret = handle;
			kfree(refs);
			goto free_blocks;
		}
		/* GEM_CLOSE: the handle, the last reference, the VRAM. */
		spin_lock(table_lock);
		if (idr_remove(table, handle) != refs)
			ret = -EIO;
		spin_unlock(table_lock);
		if (!refcount_dec_and_test(refs))
			ret = -EIO;
		if (sync_rcu)
			synchronize_rcu();
		kfree(refs);
free_blocks:
		mutex_lock(mm_lock);
		gpu_buddy_free_list(mm, &blocks, 0);
		mutex_unlock(mm_lock);
		if (ret)
			return ret;
	}
	return 0;
}
