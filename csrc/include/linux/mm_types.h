/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux's page model: a struct page pointer *is* the address of the
 * page-aligned memory it describes (struct page is never dereferenced), and
 * the "physical" address is that address: pfn = addr >> PAGE_SHIFT. This is
 * what lib/scatterlist.c needs (page_to_pfn, page_address, nth_page) and it
 * is the convention of the kernel's tools/testing/scatterlist harness.
 */
#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H
#include <linux/types.h>
/* Never dereferenced: a struct page pointer is the page's address. */
struct page {
	unsigned long __pfl_never_read;
};
struct folio {
	struct page page;
};
struct vm_area_struct;
struct mm_struct;
struct address_space;
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#endif
