/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: benchmark helpers (csrc/helpers/bench.c) for pyforlinux/bench.py.
 *
 * Each pfl_bench_*() loop is layer (c) of one benchmark: the same kernel C
 * calls that the safe Python API (layer a) and the raw cffi bindings
 * (layer b) make for one operation, repeated @n times in C, so that
 * ns/op of the three layers compare the same work. They return 0 or a
 * negative errno (a failed call, or a result that is not what the
 * operation must give: -EIO).
 */
#ifndef _PFL_BENCH_H
#define _PFL_BENCH_H
#include <linux/types.h>
#include <linux/list.h>

struct gpu_buddy;
struct mutex;
struct spinlock;
struct xarray;
struct idr;

/* 1. CList iteration: a C list of kmalloc'd nodes. */
struct pfl_bench_node {
	u64 value;			/* i for the i-th node */
	struct list_head link;
};
/* A kmalloc'd head with @n kmalloc'd nodes (values 0..n-1); NULL on ENOMEM. */
struct list_head *pfl_bench_list_new(size_t n);
void pfl_bench_list_free(struct list_head *head);
/* list_for_each_entry() over the list @reps times; returns the sum of the values. */
u64 pfl_bench_list_walk(struct list_head *head, size_t reps);
/* Raw batched walk (no checks): up to @max entries after *@cur into @out,
 * *@cur advanced to the last one; returns how many (0 at the end). */
size_t pfl_bench_list_collect(struct list_head *head, struct list_head **cur,
			      struct pfl_bench_node **out, size_t max);

/* 2. mutex_lock; gpu_buddy_alloc_blocks(@size, @min_block_size); mutex_unlock;
 *    mutex_lock; gpu_buddy_free_list; mutex_unlock -- @n times. */
int pfl_bench_buddy(struct gpu_buddy *mm, struct mutex *lock, u64 size, u64 min_block_size,
		    size_t n);

/* 3. xa_lock; __xa_store(@index, @a or @b alternately); xa_load(@index); xa_unlock. */
int pfl_bench_xarray(struct xarray *xa, unsigned long index, void *a, void *b, size_t n);

/* 4. pfl_dma_fence_alloc + _arm (context @context); dma_fence_add_callback (a C
 *    callback counting calls); dma_fence_signal; dma_fence_put. */
int pfl_bench_dma_fence(u64 context, size_t n);

/* 5. mutex_lock; mutex_unlock. */
int pfl_bench_mutex(struct mutex *lock, size_t n);

/* 6. The kernel C calls of Nova's GEM_CREATE(@size) + GEM_CLOSE: buddy alloc
 *    under @mm_lock, clear the blocks in @vram, a kmalloc'd refcount_t as the
 *    object's handle, idr_alloc in @table under @table_lock; then idr_remove,
 *    the last put, synchronize_rcu() if @sync_rcu (the revocation of the
 *    object's device resource), buddy free, kfree. */
int pfl_bench_gem(struct gpu_buddy *mm, struct mutex *mm_lock, void *vram,
		  struct spinlock *table_lock, struct idr *table, u64 size, int sync_rcu,
		  size_t n);
#endif
