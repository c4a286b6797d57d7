/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: a pseudo filesystem is a superblock to hang anon inodes on
 * (runtime/vfs.c). C header: include/linux/pseudo_fs.h, linux/fs_context.h */
#ifndef __LINUX_PSEUDO_FS__
#define __LINUX_PSEUDO_FS__
#include <linux/fs.h>
struct pseudo_fs_context {
	const void *ops;
	const void *xattr;
	const void *dops;
	unsigned long magic;
};
struct fs_context {
	struct file_system_type *fs_type;
	void *fs_private;
	struct super_block *sb;
};
struct pseudo_fs_context *init_pseudo(struct fs_context *fc, unsigned long magic);
void kill_anon_super(struct super_block *sb);
#endif
