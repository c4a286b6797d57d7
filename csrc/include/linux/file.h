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
struct file *file_close_fd(unsigned int fd);
int replace_fd(unsigned fd, struct file *file, unsigned flags);
/* struct fd as in 6.12: a reference (FDPUT_FPUT) or a borrowed file. The
 * runtime's fdget() always takes a reference (the kernel may borrow when the
 * table is not shared: same lifetime rules for the caller). */
struct fd {
	unsigned long word;
};
#define FDPUT_FPUT       1
#define FDPUT_POS_UNLOCK 2
#define fd_file(f) ((struct file *)((f).word & ~(FDPUT_FPUT|FDPUT_POS_UNLOCK)))
static inline bool fd_empty(struct fd f) { return unlikely(!f.word); }
#define EMPTY_FD (struct fd){0}
static inline struct fd BORROWED_FD(struct file *f) { return (struct fd){(unsigned long)f}; }
static inline struct fd CLONED_FD(struct file *f) { return (struct fd){(unsigned long)f | FDPUT_FPUT}; }
static inline void fdput(struct fd fd)
{
	if (fd.word & FDPUT_FPUT)
		fput(fd_file(fd));
}
static inline struct fd fdget(unsigned int fd)
{
	struct file *f = fget(fd);

	return f ? CLONED_FD(f) : EMPTY_FD;
}
DEFINE_CLASS(fd, struct fd, fdput(_T), fdget(fd), int fd)
DEFINE_FREE(fput, struct file *, if (!IS_ERR_OR_NULL(_T)) fput(_T))
#endif
