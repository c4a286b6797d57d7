/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: a mount is its superblock. C header: include/linux/mount.h */
#ifndef _LINUX_MOUNT_H
#define _LINUX_MOUNT_H
struct super_block;
struct vfsmount {
	struct super_block *mnt_sb;
};
#endif
