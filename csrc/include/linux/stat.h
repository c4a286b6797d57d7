/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: the mode bits (from libc's <sys/stat.h>, same values as the
 * kernel's uapi) and the kernel's own combinations. struct kstat (VFS) is
 * not here. The real header needs the kernel's time types over libc's.
 * C header: include/linux/stat.h */
#ifndef _LINUX_STAT_H
#define _LINUX_STAT_H
#include <sys/stat.h>
#define S_IRWXUGO	(S_IRWXU|S_IRWXG|S_IRWXO)
#define S_IALLUGO	(S_ISUID|S_ISGID|S_ISVTX|S_IRWXUGO)
#define S_IRUGO		(S_IRUSR|S_IRGRP|S_IROTH)
#define S_IWUGO		(S_IWUSR|S_IWGRP|S_IWOTH)
#define S_IXUGO		(S_IXUSR|S_IXGRP|S_IXOTH)
#define UTIME_NOW	((1l << 30) - 1l)
#define UTIME_OMIT	((1l << 30) - 2l)
#endif
