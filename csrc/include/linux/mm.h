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

/* VMAs: the kernel's flag values and helpers. C header: include/linux/mm.h */
#define VM_NONE		0x00000000
#define VM_READ		0x00000001
#define VM_WRITE	0x00000002
#define VM_EXEC		0x00000004
#define VM_SHARED	0x00000008
#define VM_MAYREAD	0x00000010
#define VM_MAYWRITE	0x00000020
#define VM_MAYEXEC	0x00000040
#define VM_MAYSHARE	0x00000080
#define VM_PFNMAP	0x00000400
#define VM_LOCKED	0x00002000
#define VM_IO		0x00004000
#define VM_DONTCOPY	0x00020000
#define VM_DONTEXPAND	0x00040000
#define VM_NORESERVE	0x00200000
#define VM_MIXEDMAP	0x10000000
#define VM_DONTDUMP	0x04000000
#define VM_WIPEONFORK	0x02000000
#define VM_FAULT_OOM	0x000001
#define VM_FAULT_SIGBUS	0x000002
#define VM_FAULT_NOPAGE	0x000100
#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS)
#define FAULT_FLAG_WRITE	0x01
/* include/linux/mm.h */
static inline bool is_cow_mapping(vm_flags_t flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}
/* No page tables (runtime/shmem.c): the pfn is handed to the access that
 * faulted, pfl_vma_rw(). */
vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn);
int pfl_vma_rw(struct vm_area_struct *vma, unsigned long offset, void *buf, size_t len, int write);
static inline unsigned long vma_pages(struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags) { vma->__vm_flags |= flags; }
static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags) { vma->__vm_flags &= ~flags; }
static inline void vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set, vm_flags_t clear)
{
	vma->__vm_flags = (vma->__vm_flags | set) & ~clear;
}
static inline pgprot_t vm_get_page_prot(unsigned long vm_flags)
{
	return (pgprot_t){ vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED) };
}
#define pgprot_val(x) ((x).pgprot)
#define __pgprot(x) ((pgprot_t){ (x) })
#define PFL_PGPROT_WC 0x1000UL
#define pgprot_writecombine(p) __pgprot(pgprot_val(p) | PFL_PGPROT_WC)
#define pgprot_noncached(p) (p)
#define pgprot_decrypted(p) (p)
#define pgprot_encrypted(p) (p)
static inline void vma_set_file(struct vm_area_struct *vma, struct file *file) { vma->vm_file = file; }
#endif
