/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included (after the prelude) into drivers/gpu/buddy.c only.
 *
 * drivers/gpu/buddy.c (6.12.117) cannot survive a failed block allocation
 * in split_block(): every caller's err_undo path hands a block that is
 * still *free* -- still linked in its free rb-tree -- to __gpu_buddy_free(),
 * which is written for allocated blocks:
 *
 *   - alloc_from_freetree(): if the first split fails, the free block is
 *     rb_add()ed to its tree a second time (the node becomes its own child:
 *     the tree loops); if a later split fails, block->right is merged with
 *     its free buddy and kmem_cache_free()d while still in the tree
 *     (use-after-free on the next walk);
 *   - __alloc_range() / __gpu_buddy_alloc_range_bias(): the same merge of a
 *     free block that is still in its tree.
 *
 * pyforlinux faultsweep found it (buddy-alloc, nova-session: a segfault in
 * split_block()/gpu_buddy_free_list a few allocations later). The kernel
 * never sees it without fault injection or an OOM-killed task, because a
 * GFP_KERNEL slab allocation this small does not fail ("too small to
 * fail"). The kernel file is compiled unmodified; until it is fixed
 * upstream, its block allocations get exactly that guarantee here:
 * __GFP_NOFAIL, so fault injection skips them (they are still counted by
 * pfl_task_alloc_count()). Its other allocations (gpu_buddy_init's arrays)
 * can still be failed.
 */
#ifndef _PFL_BUDDY_NOFAIL_H
#define _PFL_BUDDY_NOFAIL_H

#include <linux/slab.h>

#undef kmem_cache_zalloc
#define kmem_cache_zalloc(s, gfp) \
	kmem_cache_alloc((s), (gfp) | __GFP_ZERO | __GFP_NOFAIL)

#endif
