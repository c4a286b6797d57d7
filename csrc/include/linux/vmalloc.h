/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: vmalloc is kvmalloc (slab.h); vmap() maps pages of the shmem
 * page pool contiguously, aliasing them as the kernel's vmap area does
 * (runtime/shmem.c). C header: include/linux/vmalloc.h */
#ifndef _LINUX_VMALLOC_H
#define _LINUX_VMALLOC_H
#include <linux/slab.h>
#include <linux/mm.h>
#define VM_MAP		0x00000004
#ifndef PAGE_KERNEL
#define PAGE_KERNEL	__pgprot(VM_READ | VM_WRITE)
#endif
/* NULL if a page is not from the pool, or out of address space. */
void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot);
void vunmap(const void *addr);
#endif
