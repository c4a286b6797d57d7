/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: open flags, the kernel's x86-64 (asm-generic) values; the
 * system's <linux/fcntl.h> is an older uapi. C header: include/linux/fcntl.h */
#ifndef _LINUX_FCNTL_H
#define _LINUX_FCNTL_H
/* open flags: the kernel's (x86-64, asm-generic) values */
#ifndef O_ACCMODE
#define O_ACCMODE	00000003
#define O_RDONLY	00000000
#define O_WRONLY	00000001
#define O_RDWR		00000002
#define O_CREAT		00000100
#define O_EXCL		00000200
#define O_NOCTTY	00000400
#define O_TRUNC		00001000
#define O_APPEND	00002000
#define O_NONBLOCK	00004000
#define O_CLOEXEC	02000000
#endif
#endif /* _LINUX_FCNTL_H */
