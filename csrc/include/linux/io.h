/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: MMIO accessors on plain memory (there is no device behind an
 * __iomem pointer here; the sample drivers' "BARs" are host memory).
 * C header: include/linux/io.h, include/asm-generic/io.h */
#ifndef _LINUX_IO_H
#define _LINUX_IO_H
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/err.h>
#include <asm/io.h>
#define readb(a) (*(const volatile u8 *)(a))
#define readw(a) (*(const volatile u16 *)(a))
#define readl(a) (*(const volatile u32 *)(a))
#define readq(a) (*(const volatile u64 *)(a))
#define writeb(v, a) (*(volatile u8 *)(a) = (v))
#define writew(v, a) (*(volatile u16 *)(a) = (v))
#define writel(v, a) (*(volatile u32 *)(a) = (v))
#define writeq(v, a) (*(volatile u64 *)(a) = (v))
#define memcpy_fromio(d, s, n) memcpy((d), (const void *)(s), (n))
#define memcpy_toio(d, s, n) memcpy((void *)(d), (s), (n))
#define memset_io(d, c, n) memset((void *)(d), (c), (n))
#endif
