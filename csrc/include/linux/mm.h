/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: see linux/mm_types.h for the page model. C header: include/linux/mm.h */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H
#include <linux/types.h>
#include <linux/mm_types.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/err.h>
#include <linux/bug.h>
#include <linux/sizes.h>
#include <linux/string.h>

#define PAGE_ALIGN(addr) ALIGN(addr, PAGE_SIZE)
#define PAGE_ALIGNED(addr) IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define offset_in_page(p) ((unsigned long)(p) & ~PAGE_MASK)
#define page_to_pfn(page) ((unsigned long)(page) >> PAGE_SHIFT)
#define pfn_to_page(pfn) ((struct page *)((unsigned long)(pfn) << PAGE_SHIFT))
#define nth_page(page, n) pfn_to_page(page_to_pfn(page) + (n))
#define page_address(page) ((void *)(page))
#define lowmem_page_address(page) page_address(page)
#define virt_to_page(addr) pfn_to_page((unsigned long)(addr) >> PAGE_SHIFT)
#define virt_addr_valid(addr) ((addr) != NULL)
#define page_to_phys(page) ((phys_addr_t)page_to_pfn(page) << PAGE_SHIFT)
#define PHYS_PFN(x) ((unsigned long)((x) >> PAGE_SHIFT))
#define PFN_PHYS(x) ((phys_addr_t)(x) << PAGE_SHIFT)
#define virt_to_phys(a) ((phys_addr_t)(unsigned long)(a))
#define phys_to_virt(p) ((void *)(unsigned long)(p))
#define is_vmalloc_addr(a) false
#define flush_dcache_page(p) do { } while (0)
#define PageSlab(p) false
#define PageHighMem(p) false
#define page_folio(p) ((struct folio *)(p))
#define get_page(p) do { } while (0)
#define put_page(p) do { } while (0)

void *kvmalloc_node(size_t size, gfp_t flags, int node);
#define is_zone_device_page(p) false
static inline bool zone_device_pages_have_same_pgmap(const struct page *a, const struct page *b)
{
	return true;
}
#endif
