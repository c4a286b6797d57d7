/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: 64-bit division helpers (the 64-bit asm-generic form). */
#ifndef _ASM_GENERIC_DIV64_H
#define _ASM_GENERIC_DIV64_H
#include <linux/types.h>
#define do_div(n, base) ({ u32 __base = (base); u32 __rem; \
	__rem = ((u64)(n)) % __base; (n) = ((u64)(n)) / __base; __rem; })
#endif
