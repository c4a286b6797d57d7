/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the dentry of a pseudo-filesystem file (alloc_file_pseudo,
 * runtime/vfs.c). No dcache: a dentry lives exactly as long as the one file
 * made with it; its last reference drops after the file's ->release and the
 * inode's iput, then d_op->d_release runs, as in __dentry_kill().
 * C header: include/linux/dcache.h
 */
#ifndef __LINUX_DCACHE_H
#define __LINUX_DCACHE_H
#include <linux/types.h>

struct inode;
struct super_block;
struct dentry;

struct qstr {
	u32 len;
	const unsigned char *name;
};

#define DNAME_INLINE_LEN 40
struct dentry {
	struct qstr d_name;
	struct inode *d_inode;
	const struct dentry_operations *d_op;
	struct super_block *d_sb;
	void *d_fsdata;
	unsigned char d_iname[DNAME_INLINE_LEN];
};

struct dentry_operations {
	char *(*d_dname)(struct dentry *, char *, int);
	void (*d_release)(struct dentry *);
};

/* fs/d_path.c: "buffer ends with the formatted name", or ERR_PTR(-ENAMETOOLONG) */
__printf(3, 4) char *dynamic_dname(char *buffer, int buflen, const char *fmt, ...);
static inline struct inode *d_inode(const struct dentry *dentry) { return dentry->d_inode; }
#endif
