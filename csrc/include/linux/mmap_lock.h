/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no mm_struct to lock (dma-resv's lockdep priming, the only
 * user, is CONFIG_LOCKDEP code). C header: include/linux/mmap_lock.h */
#ifndef _LINUX_MMAP_LOCK_H
#define _LINUX_MMAP_LOCK_H
struct mm_struct;
#endif
