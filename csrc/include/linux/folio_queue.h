/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: folios are single pages here (see linux/mm_types.h).
 * C header: include/linux/folio_queue.h */
#ifndef _LINUX_FOLIO_QUEUE_H
#define _LINUX_FOLIO_QUEUE_H
#include <linux/mm.h>
#include <linux/xarray.h>
#include <linux/rcupdate.h>
#define PAGEVEC_SIZE 31
struct folio_queue {
	struct folio *vec[PAGEVEC_SIZE];
	u8 orders[PAGEVEC_SIZE];
	unsigned int nr;
	struct folio_queue *next;
	struct folio_queue *prev;
};
#define folio_page(folio, n) nth_page((struct page *)(folio), (n))
#define folio_size(folio) PAGE_SIZE
#define offset_in_folio(folio, p) ((unsigned long)(p) & (PAGE_SIZE - 1))
#define folio_test_hugetlb(folio) false
static inline unsigned int folioq_nr_slots(const struct folio_queue *q) { return PAGEVEC_SIZE; }
static inline struct folio *folioq_folio(const struct folio_queue *q, unsigned int s) { return q->vec[s]; }
static inline size_t folioq_folio_size(const struct folio_queue *q, unsigned int s) { return PAGE_SIZE << q->orders[s]; }
#define is_vmalloc_or_module_addr(a) false
#define vmalloc_to_page(a) virt_to_page(a)
#endif
