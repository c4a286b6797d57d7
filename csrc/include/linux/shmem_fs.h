/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: shmem files (runtime/shmem.c). C header: include/linux/shmem_fs.h */
#ifndef __SHMEM_FS_H
#define __SHMEM_FS_H
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/mm.h>
struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags);
struct folio *shmem_read_folio_gfp(struct address_space *mapping, pgoff_t index, gfp_t gfp);
struct page *shmem_read_mapping_page_gfp(struct address_space *mapping, pgoff_t index, gfp_t gfp);
void shmem_truncate_range(struct inode *inode, loff_t start, loff_t end);
unsigned long pfl_shmem_nr_pages(void);
#endif
