/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_DEBUG_FS=n: the real header's config-off stubs (the
 * real one needs linux/fs.h first; tools/include's copy is a stale fork).
 * Creating a file or directory gives ERR_PTR(-ENODEV), as in the kernel.
 * C header: include/linux/debugfs.h */
#ifndef _DEBUGFS_H_
#define _DEBUGFS_H_
#include <linux/err.h>
#include <linux/seq_file.h>
#include <linux/types.h>
struct dentry;
static inline struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	return ERR_PTR(-ENODEV);
}
/* fops is a struct file_operations in the kernel; unused when debugfs is off. */
#define debugfs_create_file(name, mode, parent, data, fops) \
	({ (void)(fops); (struct dentry *)ERR_PTR(-ENODEV); })
static inline struct dentry *debugfs_lookup(const char *name, struct dentry *parent)
{
	return ERR_PTR(-ENODEV);
}
static inline void debugfs_remove(struct dentry *dentry) { }
#define debugfs_remove_recursive debugfs_remove
static inline void debugfs_lookup_and_remove(const char *name, struct dentry *parent) { }
#endif
