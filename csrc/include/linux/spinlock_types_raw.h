/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: raw_spinlock_t is the runtime's spinlock_t (linux/spinlock_types.h).
 * C header: include/linux/spinlock_types_raw.h */
#ifndef __LINUX_SPINLOCK_TYPES_RAW_H
#define __LINUX_SPINLOCK_TYPES_RAW_H
#include <linux/spinlock_types.h>
#endif
