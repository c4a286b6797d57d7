/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: tools/include's bitmap.h (backed by tools/lib/bitmap.c) plus
 * the 6.12 helpers it lacks. C header: include/linux/bitmap.h */
#ifndef _PFL_LINUX_BITMAP_H
#define _PFL_LINUX_BITMAP_H
#include_next <linux/bitmap.h>
#undef bitmap_size
#define bitmap_size(nbits) (BITS_TO_LONGS(nbits) * sizeof(unsigned long))
static inline void bitmap_copy(unsigned long *dst, const unsigned long *src, unsigned int nbits)
{
	memcpy(dst, src, bitmap_size(nbits));
}
int bitmap_print_to_pagebuf(bool list, char *buf, const unsigned long *maskp, int nmaskbits);
#endif
