/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the iov_iter subset lib/scatterlist.c's extract_iter_to_sg()
 * compiles against. Kernel-memory iterators (KVEC, BVEC, FOLIOQ, XARRAY)
 * work; there is no user memory, so iov_iter_extract_pages() gives -EFAULT.
 * C header: include/linux/uio.h
 */
#ifndef __LINUX_UIO_H
#define __LINUX_UIO_H
#include <linux/types.h>
#include <linux/bvec.h>
#include <linux/errno.h>
struct kvec {
	void *iov_base;
	size_t iov_len;
};
struct iovec {
	void *iov_base;
	size_t iov_len;
};
enum iter_type {
	ITER_UBUF, ITER_IOVEC, ITER_BVEC, ITER_KVEC, ITER_FOLIOQ, ITER_XARRAY, ITER_DISCARD,
};
#define ITER_SOURCE 1
#define ITER_DEST 0
typedef unsigned int iov_iter_extraction_t;
#define ITER_ALLOW_P2PDMA 0x01
struct folio_queue;
struct xarray;
struct iov_iter {
	u8 iter_type;
	bool nofault;
	bool data_source;
	size_t iov_offset;
	size_t count;
	union {
		const struct iovec *__iov;
		const struct kvec *kvec;
		const struct bio_vec *bvec;
		const struct folio_queue *folioq;
		struct xarray *xarray;
		void *ubuf;
	};
	union {
		unsigned long nr_segs;
		u8 folioq_slot;
		loff_t xarray_start;
	};
};
static inline enum iter_type iov_iter_type(const struct iov_iter *i) { return (enum iter_type)i->iter_type; }
void iov_iter_advance(struct iov_iter *i, size_t bytes);
static inline ssize_t iov_iter_extract_pages(struct iov_iter *i, struct page ***pages,
					     size_t maxsize, unsigned int maxpages,
					     iov_iter_extraction_t f, size_t *offset0)
{
	return -EFAULT;
}
static inline bool iov_iter_extract_will_pin(const struct iov_iter *i) { return false; }
#define unpin_user_page(p) do { (void)(p); } while (0)
#endif
