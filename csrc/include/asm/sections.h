/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: there is no kernel image, so no address is in its .rodata:
 * kstrdup_const()/devm_kstrdup_const() always copy and kfree_const()
 * always frees (see linux/string.h).
 * C header: include/asm-generic/sections.h */
#ifndef _ASM_GENERIC_SECTIONS_H_
#define _ASM_GENERIC_SECTIONS_H_
#include <linux/types.h>
static inline bool is_kernel_rodata(unsigned long addr)
{
	return false;
}
#endif
