/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: open files and file descriptors of the current client
 * (runtime/vfs.c). C header: include/linux/file.h */
#ifndef __LINUX_FILE_H
#define __LINUX_FILE_H
#include <linux/fs.h>
#include <linux/cleanup.h>
struct file *fget(unsigned int fd);
int get_unused_fd_flags(unsigned flags);
void put_unused_fd(unsigned int fd);
void fd_install(unsigned int fd, struct file *file);
int close_fd(unsigned int fd);
DEFINE_FREE(fput, struct file *, if (!IS_ERR_OR_NULL(_T)) fput(_T))
#endif
