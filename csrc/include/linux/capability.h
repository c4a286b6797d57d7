/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: capabilities of the current task's creds (runtime/vfs.c); the
 * numbers are the tree's uapi (not the system's /usr/include copy).
 * C header: include/linux/capability.h */
#ifndef _LINUX_CAPABILITY_H
#define _LINUX_CAPABILITY_H
#include <uapi/linux/capability.h>
#include <linux/types.h>
typedef struct { u64 val; } kernel_cap_t;
bool capable(int cap);
#endif
