// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/gpu/buddy.py: an allocation's blocks
 * read in one FFI crossing (AllocatedBlocks reads them once and keeps them:
 * its list does not change until it is freed).
 * C header: include/linux/gpu_buddy.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/gpu_buddy.h>
#include <pfl/gpu_buddy.h>
#include <pfl/list_walk.h>

/*
 * Offset and order of the blocks linked on @blocks, in list order, up to
 * @max of them into @offsets/@orders (bytes from the start of the managed
 * space; chunks as a power of two). @blocks is an allocation's own list:
 * gpu_buddy_alloc_blocks() linked the blocks of @mm on it and only
 * gpu_buddy_free_list() unlinks them. Returns the number of blocks on the
 * list (more than @max: nothing past @max was written), or -EFAULT for a
 * list that is not one (a NULL or poisoned link, a neighbour that does not point back,
 * more blocks than @mm has chunks): never loops.
 */
long pfl_gpu_buddy_blocks(struct gpu_buddy *mm, struct list_head *blocks, u64 *offsets,
			  unsigned int *orders, unsigned long max)
{
	unsigned long limit = mm->chunk_size ? mm->size / mm->chunk_size : 0;
	struct list_head *p, *prev = blocks;
	long n = 0;

	for (p = blocks->next; p != blocks; prev = p, p = p->next) {
		struct gpu_buddy_block *block;

		if (pfl_list_bad_link(p) || p->prev != prev || (unsigned long)n >= limit)
			return -EFAULT;
		block = list_entry(p, struct gpu_buddy_block, link);
		if ((unsigned long)n < max) {
			offsets[n] = gpu_buddy_block_offset(block);
			orders[n] = gpu_buddy_block_order(block);
		}
		n++;
	}
	if (blocks->prev != prev)
		return -EFAULT;
	return n;
}
