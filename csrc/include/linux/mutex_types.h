/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: struct mutex is the runtime's (linux/mutex.h).
 * C header: include/linux/mutex_types.h */
#ifndef __LINUX_MUTEX_TYPES_H
#define __LINUX_MUTEX_TYPES_H
#include <linux/mutex.h>
#endif
