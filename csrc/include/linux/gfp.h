/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: GFP flags are the kernel's (include/linux/gfp_types.h);
 * allocation honours __GFP_ZERO, __GFP_NOFAIL and fault injection.
 * C header: include/linux/gfp.h */
#ifndef __LINUX_GFP_H
#define __LINUX_GFP_H
#include <linux/types.h>
#include <linux/gfp_types.h>
#include <linux/mm_types.h>
#include <linux/bitmap.h>
#include <linux/find.h>
#include <pfl/runtime.h>

static inline bool gfpflags_allow_blocking(const gfp_t gfp_flags)
{
	return !!(gfp_flags & __GFP_DIRECT_RECLAIM);
}

#define alloc_pages(gfp, order) ((struct page *)pfl_alloc_pages((gfp), (order), _RET_IP_))
#define alloc_page(gfp) alloc_pages(gfp, 0)
#define __get_free_pages(gfp, order) ((unsigned long)pfl_alloc_pages((gfp), (order), _RET_IP_))
#define __get_free_page(gfp) __get_free_pages(gfp, 0)
#define get_zeroed_page(gfp) __get_free_pages((gfp) | __GFP_ZERO, 0)
#define __free_pages(page, order) pfl_free_pages((void *)(page), (order))
#define __free_page(page) __free_pages(page, 0)
#define free_pages(addr, order) pfl_free_pages((void *)(addr), (order))
#define free_page(addr) free_pages(addr, 0)
#endif
