/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: the page-cache calls the DRM core makes on shmem-backed GEM
 * objects (runtime/shmem.c). C header: include/linux/pagemap.h */
#ifndef _LINUX_PAGEMAP_H
#define _LINUX_PAGEMAP_H
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/pagevec.h>
void mapping_set_unevictable(struct address_space *mapping);
void mapping_clear_unevictable(struct address_space *mapping);
gfp_t mapping_gfp_mask(struct address_space *mapping);
#define mapping_gfp_constraint(mapping, gfp) (mapping_gfp_mask(mapping) & (gfp))
void mapping_set_gfp_mask(struct address_space *m, gfp_t mask);
void folio_mark_accessed(struct folio *folio);
bool folio_mark_dirty(struct folio *folio);
unsigned long invalidate_mapping_pages(struct address_space *mapping, pgoff_t start, pgoff_t end);
void folio_get(struct folio *folio);
void folio_put(struct folio *folio);
#define folio_nr_pages(f) ((void)(f), 1L)
#define folio_pfn(f) page_to_pfn(&(f)->page)
#define folio_file_page(f, index) (&(f)->page)
#define folio_page(f, n) (&(f)->page + (n))
#endif
