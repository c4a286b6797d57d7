/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux helpers for pyforlinux/gpu/buddy.py (csrc/helpers/gpu_buddy.c).
 * C header: include/linux/gpu_buddy.h
 */
#ifndef _PFL_GPU_BUDDY_H
#define _PFL_GPU_BUDDY_H
#include <linux/types.h>

struct gpu_buddy;
struct list_head;

long pfl_gpu_buddy_blocks(struct gpu_buddy *mm, struct list_head *blocks, u64 *offsets,
			  unsigned int *orders, unsigned long max);

#endif /* _PFL_GPU_BUDDY_H */
