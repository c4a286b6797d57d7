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

/* Mappings (runtime/vfs.c keeps them per address_space). C header: linux/mm_types.h */
typedef struct { unsigned long pgprot; } pgprot_t;
typedef unsigned long vm_flags_t;
typedef unsigned int vm_fault_t;
struct file;
struct vm_operations_struct;
struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	pgprot_t vm_page_prot;
	union {
		const vm_flags_t vm_flags;
		vm_flags_t __vm_flags;
	};
	unsigned long vm_pgoff;
	struct file *vm_file;
	void *vm_private_data;
	const struct vm_operations_struct *vm_ops;
};
struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	unsigned long pgoff;
	unsigned int flags;
	struct page *page;
};
struct vm_operations_struct {
	void (*open)(struct vm_area_struct *area);
	void (*close)(struct vm_area_struct *area);
	int (*may_split)(struct vm_area_struct *area, unsigned long addr);
	int (*mremap)(struct vm_area_struct *area);
	vm_fault_t (*fault)(struct vm_fault *vmf);
	vm_fault_t (*huge_fault)(struct vm_fault *vmf, unsigned int order);
	vm_fault_t (*map_pages)(struct vm_fault *vmf, unsigned long start_pgoff, unsigned long end_pgoff);
	unsigned long (*pagesize)(struct vm_area_struct *area);
	vm_fault_t (*page_mkwrite)(struct vm_fault *vmf);
	vm_fault_t (*pfn_mkwrite)(struct vm_fault *vmf);
	int (*access)(struct vm_area_struct *vma, unsigned long addr, void *buf, int len, int write);
	const char *(*name)(struct vm_area_struct *vma);
};
#endif
