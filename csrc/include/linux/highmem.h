/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: all memory is "lowmem"; kmap is page_address. C header: include/linux/highmem.h */
#ifndef _LINUX_HIGHMEM_H
#define _LINUX_HIGHMEM_H
#include <linux/mm.h>
#include <linux/preempt.h>
#define kmap(p) page_address(p)
#define kunmap(p) do { } while (0)
#define kmap_atomic(p) page_address(p)
#define kunmap_atomic(a) do { (void)(a); } while (0)
#define kmap_local_page(p) page_address(p)
#define kunmap_local(a) do { (void)(a); } while (0)
#define pagefault_disabled() 0
#define flush_kernel_vmap_range(a, s) do { } while (0)
#endif
