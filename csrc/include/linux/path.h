/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: C header: include/linux/path.h */
#ifndef _LINUX_PATH_H
#define _LINUX_PATH_H
struct dentry;
struct vfsmount;
struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};
#endif
