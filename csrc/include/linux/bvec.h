/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: struct bio_vec for lib/scatterlist.c's iov_iter extraction. */
#ifndef __LINUX_BVEC_H
#define __LINUX_BVEC_H
#include <linux/mm.h>
struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
#endif
