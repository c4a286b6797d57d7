/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: the tree's mmap flag values only (no mm accounting here).
 * C header: include/linux/mman.h */
#ifndef _LINUX_MMAN_H
#define _LINUX_MMAN_H
#include <linux/mm.h>
#include <uapi/asm-generic/mman-common.h>
#endif
