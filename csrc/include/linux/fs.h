/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the VFS objects kernel C sees, with the kernel's field names
 * and semantics, kept by the runtime (runtime/vfs.c): struct inode and
 * struct file with their file_operations, a chrdev registry (register_chrdev,
 * chrdev_open -> fops->open with replace_fops), anon inodes and files, and an
 * fd table per client (fd_install/fget/fput). There is no path lookup, no
 * dentry cache, no page cache: a file is opened from its inode.
 * struct file_operations is the kernel's, field for field.
 * C header: include/linux/fs.h
 */
#ifndef _LINUX_FS_H
#define _LINUX_FS_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/err.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/kdev_t.h>
#include <linux/mm_types.h>
#include <linux/rbtree.h>
#include <linux/cred.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/fcntl.h>
#include <linux/dcache.h>
#include <linux/path.h>

struct module;
struct seq_file;
struct kiocb;
struct iov_iter;
struct io_comp_batch;
struct dir_context;
struct poll_table_struct;
struct file_lock;
struct file_lease;
struct pipe_inode_info;
struct io_uring_cmd;
struct super_block;
struct vfsmount;
struct dentry;
struct fs_context;
typedef void *fl_owner_t;
typedef unsigned int __bitwise fmode_t;
typedef unsigned int __bitwise fop_flags_t;


#define FMODE_READ		((__force fmode_t)(1 << 0))
#define FMODE_WRITE		((__force fmode_t)(1 << 1))
#define FMODE_LSEEK		((__force fmode_t)(1 << 2))
#define FMODE_PREAD		((__force fmode_t)(1 << 3))
#define FMODE_PWRITE		((__force fmode_t)(1 << 4))
#define FMODE_EXEC		((__force fmode_t)(1 << 5))
#define FMODE_UNSIGNED_OFFSET	((__force fmode_t)(1 << 13))

#define FOP_BUFFER_RASYNC	((__force fop_flags_t)(1 << 0))
#define FOP_BUFFER_WASYNC	((__force fop_flags_t)(1 << 1))
#define FOP_MMAP_SYNC		((__force fop_flags_t)(1 << 2))
#define FOP_DIO_PARALLEL_WRITE	((__force fop_flags_t)(1 << 3))
#define FOP_HUGE_PAGES		((__force fop_flags_t)(1 << 4))
#define FOP_UNSIGNED_OFFSET	((__force fop_flags_t)(1 << 5))

/* The page cache of an inode: only what mappings of it need. */
struct address_space {
	struct inode *host;
	unsigned long nrpages;
	atomic_t i_mmap_writable;
	struct list_head pfl_vmas;	/* vm_area_structs mapping it (vfs.c) */
	spinlock_t pfl_lock;
	void *pfl_shmem;		/* a shmem file's pages (runtime/shmem.c) */
};

struct inode {
	umode_t i_mode;
	unsigned int i_flags;
	dev_t i_rdev;
	loff_t i_size;
	atomic_t i_count;
	unsigned long i_ino;
	struct super_block *i_sb;
	const struct file_operations *i_fop;
	struct address_space *i_mapping;
	struct address_space i_data;
	void *i_private;
};

struct file {
	atomic_long_t f_count;
	spinlock_t f_lock;
	fmode_t f_mode;
	const struct file_operations *f_op;
	struct address_space *f_mapping;
	void *private_data;
	struct inode *f_inode;
	unsigned int f_flags;
	loff_t f_pos;
	const struct cred *f_cred;
	struct path f_path;		/* alloc_file_pseudo files only; else NULLs */
	struct pfl_mm *pfl_mm;		/* the client that opened it */
};

struct file_operations {
	struct module *owner;
	fop_flags_t fop_flags;
	loff_t (*llseek) (struct file *, loff_t, int);
	ssize_t (*read) (struct file *, char __user *, size_t, loff_t *);
	ssize_t (*write) (struct file *, const char __user *, size_t, loff_t *);
	ssize_t (*read_iter) (struct kiocb *, struct iov_iter *);
	ssize_t (*write_iter) (struct kiocb *, struct iov_iter *);
	int (*iopoll)(struct kiocb *kiocb, struct io_comp_batch *, unsigned int flags);
	int (*iterate_shared) (struct file *, struct dir_context *);
	__poll_t (*poll) (struct file *, struct poll_table_struct *);
	long (*unlocked_ioctl) (struct file *, unsigned int, unsigned long);
	long (*compat_ioctl) (struct file *, unsigned int, unsigned long);
	int (*mmap) (struct file *, struct vm_area_struct *);
	int (*open) (struct inode *, struct file *);
	int (*flush) (struct file *, fl_owner_t id);
	int (*release) (struct inode *, struct file *);
	int (*fsync) (struct file *, loff_t, loff_t, int datasync);
	int (*fasync) (int, struct file *, int);
	int (*lock) (struct file *, int, struct file_lock *);
	unsigned long (*get_unmapped_area)(struct file *, unsigned long, unsigned long, unsigned long, unsigned long);
	int (*check_flags)(int);
	int (*flock) (struct file *, int, struct file_lock *);
	ssize_t (*splice_write)(struct pipe_inode_info *, struct file *, loff_t *, size_t, unsigned int);
	ssize_t (*splice_read)(struct file *, loff_t *, struct pipe_inode_info *, size_t, unsigned int);
	void (*splice_eof)(struct file *file);
	int (*setlease)(struct file *, int, struct file_lease **, void **);
	long (*fallocate)(struct file *file, int mode, loff_t offset, loff_t len);
	void (*show_fdinfo)(struct seq_file *m, struct file *f);
	ssize_t (*copy_file_range)(struct file *, loff_t, struct file *, loff_t, size_t, unsigned int);
	loff_t (*remap_file_range)(struct file *file_in, loff_t pos_in, struct file *file_out,
				   loff_t pos_out, loff_t len, unsigned int remap_flags);
	int (*fadvise)(struct file *, loff_t, loff_t, int);
	int (*uring_cmd)(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
	int (*uring_cmd_iopoll)(struct io_uring_cmd *, struct io_comp_batch *, unsigned int poll_flags);
};

struct super_operations {
	void (*evict_inode)(struct inode *);	/* at the last iput() */
};

struct super_block {
	const struct super_operations *s_op;
	unsigned long s_magic;
	struct file_system_type *s_type;
	const struct dentry_operations *s_d_op;	/* pseudo_fs_context.dops */
};

struct file_system_type {
	const char *name;
	int fs_flags;
	int (*init_fs_context)(struct fs_context *);
	void (*kill_sb) (struct super_block *);
	struct module *owner;
};

static inline unsigned iminor(const struct inode *inode) { return MINOR(inode->i_rdev); }
static inline unsigned imajor(const struct inode *inode) { return MAJOR(inode->i_rdev); }
static inline struct inode *file_inode(const struct file *f) { return f->f_inode; }

/* fops reference the owning module; modules do not unload from here. */
#define fops_get(fops) (fops)
#define fops_put(fops) do { (void)(fops); } while (0)
#define replace_fops(f, fops) do { (f)->f_op = (fops); } while (0)

/* runtime/vfs.c */
int __register_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
		      const char *name, const struct file_operations *fops);
void __unregister_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
			 const char *name);
static inline int register_chrdev(unsigned int major, const char *name,
				  const struct file_operations *fops)
{
	return __register_chrdev(major, 0, 256, name, fops);
}
static inline void unregister_chrdev(unsigned int major, const char *name)
{
	__unregister_chrdev(major, 0, 256, name);
}
struct inode *alloc_anon_inode(struct super_block *sb);
struct inode *new_inode_pseudo(struct super_block *sb);
void iput(struct inode *inode);
void ihold(struct inode *inode);
int simple_pin_fs(struct file_system_type *type, struct vfsmount **mount, int *count);
void simple_release_fs(struct vfsmount **mount, int *count);
void fput(struct file *file);
#define file_count(f) ((long)atomic_long_read(&(f)->f_count))
struct file *alloc_file_pseudo(struct inode *inode, struct vfsmount *mnt, const char *name,
			       int flags, const struct file_operations *fops);
struct vfsmount *kern_mount(struct file_system_type *type);
void kern_unmount(struct vfsmount *mnt);
/* No block accounting (no stat() here): i_blocks/i_bytes are not kept. */
static inline void inode_set_bytes(struct inode *inode, loff_t bytes) { }
struct file *get_file(struct file *f);
loff_t noop_llseek(struct file *file, loff_t offset, int whence);
loff_t vfs_llseek(struct file *file, loff_t offset, int whence);
int nonseekable_open(struct inode *inode, struct file *filp);
int stream_open(struct inode *inode, struct file *filp);
#define no_llseek NULL
/* CONFIG_COMPAT=n, as include/linux/fs.h. */
#define compat_ptr_ioctl NULL
void unmap_mapping_range(struct address_space *mapping, loff_t const holebegin,
			 loff_t const holelen, int even_cows);
void inode_init_once(struct inode *inode);

static inline bool is_sync_kiocb(struct kiocb *kiocb) { return true; }
#define MAX_LFS_FILESIZE ((loff_t)LLONG_MAX)
#endif /* _LINUX_FS_H */
