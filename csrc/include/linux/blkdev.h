/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_BLOCK=n. drivers/base/core.c includes this header but
 * uses it only inside #ifdef CONFIG_BLOCK; the real one pulls in the block
 * layer's types (bio, gendisk, percpu counters).
 * C header: include/linux/blkdev.h */
#ifndef _LINUX_BLKDEV_H
#define _LINUX_BLKDEV_H
#endif
