// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: the VFS objects kernel C sees (linux/fs.h), tasks'
 * pids and credentials.
 *
 * - A chrdev registry (__register_chrdev) and pfl_chrdev_open(), which does
 *   what fs/char_dev.c's chrdev_open() does: a file on the device's inode
 *   with the registered fops, whose ->open() may replace_fops() (drm_stub_open).
 * - struct file refcounting (get_file/fput; the last fput calls ->release
 *   and drops the inode), anon inode files sharing one inode, inodes on a
 *   pseudo filesystem (alloc_anon_inode, iput), simple_pin_fs.
 * - File descriptors: one table per client address space (struct pfl_mm,
 *   runtime/uaccess.c), or a process-wide one for threads with no client;
 *   file_close_fd()/replace_fd() move files between such a table and the
 *   real descriptors of a bridge client (pyforlinux/devnode/fds.py).
 * - capable(): the current task's credentials (pfl_set_current_cred(), else
 *   the process's own: root has every capability, others none).
 * - struct pid per task id, refcounted (get_pid/put_pid), task_tgid().
 * Kernel: fs/char_dev.c, fs/file_table.c, fs/anon_inodes.c, fs/libfs.c,
 * kernel/pid.c, kernel/capability.c (semantics).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/anon_inodes.h>
#include <linux/pseudo_fs.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/ioport.h>
#include <pfl/vfs.h>
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t vfs_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- chrdevs ---- */
#define PFL_MAX_CHRDEVS 64
struct pfl_chrdev {
	unsigned int major, baseminor, count;
	const char *name;
	const struct file_operations *fops;
};
static struct pfl_chrdev chrdevs[PFL_MAX_CHRDEVS];

int __register_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
		      const char *name, const struct file_operations *fops)
{
	int i, slot = -1, ret;

	pthread_mutex_lock(&vfs_mu);
	if (major == 0) {	/* dynamic, from the top of the range down, as the kernel */
		for (major = 511; major > 384; major--) {
			for (i = 0; i < PFL_MAX_CHRDEVS; i++)
				if (chrdevs[i].fops && chrdevs[i].major == major)
					break;
			if (i == PFL_MAX_CHRDEVS)
				break;
		}
	}
	for (i = 0; i < PFL_MAX_CHRDEVS; i++) {
		struct pfl_chrdev *c = &chrdevs[i];

		if (!c->fops) {
			if (slot < 0)
				slot = i;
			continue;
		}
		if (c->major == major && baseminor < c->baseminor + c->count &&
		    c->baseminor < baseminor + count) {
			pthread_mutex_unlock(&vfs_mu);
			return -EBUSY;
		}
	}
	if (slot < 0) {
		ret = -ENOSPC;
	} else {
		chrdevs[slot] = (struct pfl_chrdev){ major, baseminor, count, name, fops };
		ret = (int)major;
	}
	pthread_mutex_unlock(&vfs_mu);
	return ret;
}

void __unregister_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
			 const char *name)
{
	int i;

	pthread_mutex_lock(&vfs_mu);
	for (i = 0; i < PFL_MAX_CHRDEVS; i++)
		if (chrdevs[i].fops && chrdevs[i].major == major &&
		    chrdevs[i].baseminor == baseminor && chrdevs[i].count == count)
			chrdevs[i].fops = NULL;
	pthread_mutex_unlock(&vfs_mu);
}

static const struct file_operations *chrdev_fops(dev_t devt)
{
	const struct file_operations *fops = NULL;
	unsigned int major = MAJOR(devt), minor = MINOR(devt);
	int i;

	pthread_mutex_lock(&vfs_mu);
	for (i = 0; i < PFL_MAX_CHRDEVS; i++) {
		struct pfl_chrdev *c = &chrdevs[i];

		if (c->fops && c->major == major && minor >= c->baseminor &&
		    minor < c->baseminor + c->count)
			fops = c->fops;
	}
	pthread_mutex_unlock(&vfs_mu);
	return fops;
}

/* ---- inodes ---- */
static atomic_long_t next_ino = ATOMIC64_INIT(1);

static struct inode *inode_new(struct super_block *sb)
{
	struct inode *inode = kzalloc(sizeof(*inode), GFP_KERNEL);

	if (!inode)
		return NULL;
	atomic_set(&inode->i_count, 1);
	inode->i_sb = sb;
	inode->i_ino = (unsigned long)atomic_long_inc_return(&next_ino);
	inode->i_data.host = inode;
	INIT_LIST_HEAD(&inode->i_data.pfl_vmas);
	spin_lock_init(&inode->i_data.pfl_lock);
	inode->i_mapping = &inode->i_data;
	return inode;
}

void inode_init_once(struct inode *inode)
{
	memset(inode, 0, sizeof(*inode));
	inode->i_data.host = inode;
	INIT_LIST_HEAD(&inode->i_data.pfl_vmas);
	inode->i_mapping = &inode->i_data;
}

struct inode *new_inode_pseudo(struct super_block *sb)
{
	return inode_new(sb);
}

struct inode *alloc_anon_inode(struct super_block *sb)
{
	struct inode *inode = inode_new(sb);

	return inode ? inode : ERR_PTR(-ENOMEM);
}

void ihold(struct inode *inode)
{
	WARN_ON(atomic_inc_return(&inode->i_count) < 2);
}

void iput(struct inode *inode)
{
	if (!inode)
		return;
	if (atomic_dec_and_test(&inode->i_count)) {
		/* evict(): the filesystem drops the inode's pages */
		if (inode->i_sb && inode->i_sb->s_op && inode->i_sb->s_op->evict_inode)
			inode->i_sb->s_op->evict_inode(inode);
		kfree(inode);
	}
}

/* ---- pseudo filesystems ---- */
struct pseudo_fs_context *init_pseudo(struct fs_context *fc, unsigned long magic)
{
	struct pseudo_fs_context *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (ctx) {
		ctx->magic = magic;
		fc->fs_private = ctx;
	}
	return ctx;
}

void kill_anon_super(struct super_block *sb) { }

/* A mount of a pseudo filesystem: its superblock with the magic and the
 * dentry operations of its init_fs_context (init_pseudo). */
static struct vfsmount *mount_pseudo(struct file_system_type *type)
{
	struct vfsmount *mnt = kzalloc(sizeof(*mnt), GFP_KERNEL);
	struct super_block *sb = kzalloc(sizeof(*sb), GFP_KERNEL);
	struct fs_context fc = { .fs_type = type };
	int ret = 0;

	if (mnt && sb && type->init_fs_context)
		ret = type->init_fs_context(&fc);
	if (!mnt || !sb || ret) {
		kfree(mnt);
		kfree(sb);
		kfree(fc.fs_private);
		return ERR_PTR(ret ?: -ENOMEM);
	}
	if (fc.fs_private) {
		struct pseudo_fs_context *ctx = fc.fs_private;

		sb->s_magic = ctx->magic;
		sb->s_d_op = ctx->dops;
	}
	kfree(fc.fs_private);
	sb->s_type = type;
	mnt->mnt_sb = sb;
	return mnt;
}

static void unmount_pseudo(struct vfsmount *mnt)
{
	if (mnt) {
		kfree(mnt->mnt_sb);
		kfree(mnt);
	}
}

struct vfsmount *kern_mount(struct file_system_type *type)
{
	return mount_pseudo(type);
}

void kern_unmount(struct vfsmount *mnt)
{
	if (!IS_ERR_OR_NULL(mnt))
		unmount_pseudo(mnt);
}

int simple_pin_fs(struct file_system_type *type, struct vfsmount **mount, int *count)
{
	pthread_mutex_lock(&vfs_mu);
	if (!*mount) {
		struct vfsmount *mnt = mount_pseudo(type);

		if (IS_ERR(mnt)) {
			pthread_mutex_unlock(&vfs_mu);
			return PTR_ERR(mnt);
		}
		*mount = mnt;
	}
	++*count;
	pthread_mutex_unlock(&vfs_mu);
	return 0;
}

void simple_release_fs(struct vfsmount **mount, int *count)
{
	struct vfsmount *mnt = NULL;

	pthread_mutex_lock(&vfs_mu);
	if (!--*count) {
		mnt = *mount;
		*mount = NULL;
	}
	pthread_mutex_unlock(&vfs_mu);
	unmount_pseudo(mnt);
}

/* ---- files ---- */
static struct file *file_new(struct inode *inode, const struct file_operations *fops,
			     unsigned int flags)
{
	struct file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	atomic_long_set(&f->f_count, 1);
	spin_lock_init(&f->f_lock);
	f->f_inode = inode;
	f->f_mapping = inode->i_mapping;
	f->f_op = fops;
	f->f_flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	switch (flags & O_ACCMODE) {
	case O_RDONLY: f->f_mode = FMODE_READ; break;
	case O_WRONLY: f->f_mode = FMODE_WRITE; break;
	default: f->f_mode = FMODE_READ | FMODE_WRITE; break;
	}
	f->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	f->f_cred = current_cred();
	f->pfl_mm = pfl_current_mm();
	return f;
}

struct file *pfl_chrdev_open(unsigned int major, unsigned int minor, unsigned int flags)
{
	dev_t devt = MKDEV(major, minor);
	const struct file_operations *fops = chrdev_fops(devt);
	struct inode *inode;
	struct file *f;
	int ret = 0;

	if (!fops)
		return ERR_PTR(-ENXIO);
	inode = inode_new(NULL);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	inode->i_rdev = devt;
	inode->i_fop = fops;
	f = file_new(inode, fops_get(fops), flags);
	if (!f) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	/* O_EXCL is seen by ->open() (drm_open_helper refuses it) */
	f->f_flags |= flags & O_EXCL;
	if (f->f_op->open)
		ret = f->f_op->open(inode, f);
	f->f_flags &= ~O_EXCL;
	if (ret) {
		fops_put(f->f_op);
		kfree(f);
		iput(inode);
		return ERR_PTR(ret);
	}
	return f;
}

struct file *get_file(struct file *f)
{
	long n = atomic_long_inc_return(&f->f_count);

	WARN_ON(n < 2);
	return f;
}

void fput(struct file *file)
{
	struct inode *inode;
	struct dentry *dentry;

	if (!atomic_long_dec_and_test(&file->f_count))
		return;
	inode = file->f_inode;
	dentry = file->f_path.dentry;
	if (file->f_op && file->f_op->release)
		file->f_op->release(inode, file);
	fops_put(file->f_op);
	kfree(file);
	iput(inode);
	/* __fput() -> dput(): the dentry's inode goes, then d_release. */
	if (dentry) {
		if (dentry->d_op && dentry->d_op->d_release)
			dentry->d_op->d_release(dentry);
		kfree(dentry);
	}
}

/* fs/file_table.c: a file on a new dentry of a pseudo filesystem, taking
 * over the caller's inode reference (on failure the caller keeps it). */
struct file *alloc_file_pseudo(struct inode *inode, struct vfsmount *mnt, const char *name,
			       int flags, const struct file_operations *fops)
{
	struct dentry *dentry = kzalloc(sizeof(*dentry), GFP_KERNEL);
	struct file *f;

	if (!dentry)
		return ERR_PTR(-ENOMEM);
	strscpy((char *)dentry->d_iname, name, sizeof(dentry->d_iname));
	dentry->d_name.name = dentry->d_iname;
	dentry->d_name.len = (u32)strlen((char *)dentry->d_iname);
	dentry->d_sb = mnt->mnt_sb;
	dentry->d_op = mnt->mnt_sb->s_d_op;
	dentry->d_inode = inode;
	f = file_new(inode, fops, (unsigned int)flags);
	if (!f) {
		kfree(dentry);
		return ERR_PTR(-ENOMEM);
	}
	f->f_path.mnt = mnt;
	f->f_path.dentry = dentry;
	return f;
}

/* fs/d_path.c */
char *dynamic_dname(char *buffer, int buflen, const char *fmt, ...)
{
	va_list args;
	char temp[64];
	int sz;

	va_start(args, fmt);
	sz = vsnprintf(temp, sizeof(temp), fmt, args) + 1;
	va_end(args);
	if (sz > (int)sizeof(temp) || sz > buflen)
		return ERR_PTR(-ENAMETOOLONG);
	buffer += buflen - sz;
	return memcpy(buffer, temp, sz);
}

long pfl_file_count(struct file *file)
{
	return atomic_long_read(&file->f_count);
}

loff_t noop_llseek(struct file *file, loff_t offset, int whence)
{
	return file->f_pos;
}

int nonseekable_open(struct inode *inode, struct file *filp)
{
	filp->f_mode &= ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE);
	return 0;
}

int stream_open(struct inode *inode, struct file *filp)
{
	return nonseekable_open(inode, filp);
}

/* ---- anon inodes: one inode shared by all, as fs/anon_inodes.c ---- */
static struct inode *anon_inode;

struct file *anon_inode_getfile(const char *name, const struct file_operations *fops,
				void *priv, int flags)
{
	struct file *f;

	pthread_mutex_lock(&vfs_mu);
	if (!anon_inode) {
		anon_inode = calloc(1, sizeof(*anon_inode));	/* lives for the process */
		if (anon_inode) {
			inode_init_once(anon_inode);
			atomic_set(&anon_inode->i_count, 1);
		}
	}
	pthread_mutex_unlock(&vfs_mu);
	if (!anon_inode)
		return ERR_PTR(-ENOMEM);
	ihold(anon_inode);
	f = file_new(anon_inode, fops_get(fops), (unsigned int)flags & (O_ACCMODE | O_NONBLOCK));
	if (!f) {
		iput(anon_inode);
		return ERR_PTR(-ENOMEM);
	}
	f->private_data = priv;
	return f;
}

int anon_inode_getfd(const char *name, const struct file_operations *fops,
		     void *priv, int flags)
{
	int fd = get_unused_fd_flags((unsigned int)flags);
	struct file *f;

	if (fd < 0)
		return fd;
	f = anon_inode_getfile(name, fops, priv, flags);
	if (IS_ERR(f)) {
		put_unused_fd((unsigned int)fd);
		return (int)PTR_ERR(f);
	}
	fd_install((unsigned int)fd, f);
	return fd;
}

/* ---- file descriptors: per client (pfl_mm), else process-wide ---- */
static struct pfl_fdtable global_fds = { .mu = PTHREAD_MUTEX_INITIALIZER };

static struct pfl_fdtable *fdt(void)
{
	struct pfl_mm *mm = pfl_current_mm();

	return mm ? pfl_mm_fdtable(mm) : &global_fds;
}

#define PFL_FD_RESERVED ((struct file *)1)

int get_unused_fd_flags(unsigned flags)
{
	struct pfl_fdtable *t = fdt();
	int fd;

	pthread_mutex_lock(&t->mu);
	for (fd = 3; fd < PFL_MAX_FDS; fd++) {
		if (!t->files[fd]) {
			t->files[fd] = PFL_FD_RESERVED;
			pthread_mutex_unlock(&t->mu);
			return fd;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return -EMFILE;
}

void put_unused_fd(unsigned int fd)
{
	struct pfl_fdtable *t = fdt();

	pthread_mutex_lock(&t->mu);
	if (fd < PFL_MAX_FDS && t->files[fd] == PFL_FD_RESERVED)
		t->files[fd] = NULL;
	pthread_mutex_unlock(&t->mu);
}

void fd_install(unsigned int fd, struct file *file)
{
	struct pfl_fdtable *t = fdt();

	pthread_mutex_lock(&t->mu);
	WARN_ON(fd >= PFL_MAX_FDS || t->files[fd] != PFL_FD_RESERVED);
	if (fd < PFL_MAX_FDS)
		t->files[fd] = file;
	pthread_mutex_unlock(&t->mu);
}

struct file *fget(unsigned int fd)
{
	struct pfl_fdtable *t = fdt();
	struct file *f = NULL;

	pthread_mutex_lock(&t->mu);
	if (fd < PFL_MAX_FDS && t->files[fd] && t->files[fd] != PFL_FD_RESERVED)
		f = get_file(t->files[fd]);
	pthread_mutex_unlock(&t->mu);
	return f;
}

/* fs/file.c: take fd's file out of the table with its reference (NULL if
 * none): how the device-node bridge moves a file the kernel C installed for a
 * real client into a real descriptor of that client. */
struct file *file_close_fd(unsigned int fd)
{
	struct pfl_fdtable *t = fdt();
	struct file *f = NULL;

	pthread_mutex_lock(&t->mu);
	if (fd < PFL_MAX_FDS && t->files[fd] != PFL_FD_RESERVED) {
		f = t->files[fd];
		t->files[fd] = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	return f;
}

int close_fd(unsigned int fd)
{
	struct file *f = file_close_fd(fd);

	if (!f)
		return -EBADF;
	fput(f);
	return 0;
}

/* fs/file.c: install file (a new reference) at fd, closing what was there;
 * fd or -errno (-EBADF past the table, as past RLIMIT_NOFILE; -EBUSY for a
 * number reserved by a get_unused_fd_flags() in progress). */
int replace_fd(unsigned fd, struct file *file, unsigned flags)
{
	struct pfl_fdtable *t = fdt();
	struct file *old;

	if (fd >= PFL_MAX_FDS)
		return -EBADF;
	pthread_mutex_lock(&t->mu);
	old = t->files[fd];
	if (old == PFL_FD_RESERVED) {
		pthread_mutex_unlock(&t->mu);
		return -EBUSY;
	}
	t->files[fd] = get_file(file);
	pthread_mutex_unlock(&t->mu);
	if (old)
		fput(old);
	return (int)fd;
}

/* fs/read_write.c */
loff_t vfs_llseek(struct file *file, loff_t offset, int whence)
{
	if (!(file->f_mode & FMODE_LSEEK) || !file->f_op->llseek)
		return -ESPIPE;
	return file->f_op->llseek(file, offset, whence);
}

/* A file that none of the kernel C here made: what a real client's
 * descriptor of a regular file, a pipe or a socket is to the kernel C (its
 * dma_buf_get() / sync_file_fdget() answer -EINVAL for it). */
static const struct file_operations pfl_foreign_fops;

struct file *pfl_foreign_file(void)
{
	return anon_inode_getfile("[pfl-foreign]", &pfl_foreign_fops, NULL, O_RDWR);
}

void pfl_fdtable_release(struct pfl_fdtable *t)
{
	int fd;

	for (fd = 0; fd < PFL_MAX_FDS; fd++) {
		struct file *f;

		pthread_mutex_lock(&t->mu);
		f = t->files[fd];
		t->files[fd] = NULL;
		pthread_mutex_unlock(&t->mu);
		if (f && f != PFL_FD_RESERVED)
			fput(f);
	}
}

/* ---- mappings ---- */
void unmap_mapping_range(struct address_space *mapping, loff_t const holebegin,
			 loff_t const holelen, int even_cows)
{
	/* No page tables: a mapping here faults through its vm_ops on every
	 * access (pfl_vma_*), so there is nothing cached to zap. */
}

/* Whether user accesses of vma fault pages in (vm_ops->fault: shmem-backed
 * objects) rather than going to the driver's own accessors. */
bool pfl_vma_faults(struct vm_area_struct *vma)
{
	return vma->vm_ops && vma->vm_ops->fault;
}

/* ---- credentials and capabilities ---- */
static __thread const struct cred *cur_cred;
static struct cred process_cred;
static pthread_once_t process_cred_once = PTHREAD_ONCE_INIT;

static void process_cred_init(void)
{
	refcount_set(&process_cred.usage, 1);
	process_cred.uid = KUIDT_INIT(getuid());
	process_cred.euid = KUIDT_INIT(geteuid());
	process_cred.gid = KGIDT_INIT(getgid());
	process_cred.egid = KGIDT_INIT(getegid());
	process_cred.cap_effective.val = geteuid() == 0 ? ~0ULL : 0;
}

const struct cred *pfl_current_cred(void)
{
	if (cur_cred)
		return cur_cred;
	pthread_once(&process_cred_once, process_cred_init);
	return &process_cred;
}

const struct cred *pfl_set_current_cred(const struct cred *cred)
{
	const struct cred *old = cur_cred;

	cur_cred = cred;
	return old;
}

bool capable(int cap)
{
	if (cap < 0 || cap > 63)
		return false;
	return (current_cred()->cap_effective.val >> cap) & 1;
}

int overflowuid = 65534;

/* ---- pids ---- */
static struct pid *pids;	/* by nr, in a plain array list; they live for the process */
static int npids, cap_pids;

static struct pid *pid_of_nr(int nr)
{
	struct pid *p = NULL;
	int i;

	pthread_mutex_lock(&vfs_mu);
	for (i = 0; i < npids; i++) {
		if (((struct pid **)pids)[i]->nr == nr) {
			p = ((struct pid **)pids)[i];
			break;
		}
	}
	if (!p) {
		if (npids == cap_pids) {
			cap_pids = cap_pids ? cap_pids * 2 : 64;
			pids = realloc(pids, sizeof(struct pid *) * (size_t)cap_pids);
		}
		p = calloc(1, sizeof(*p));	/* the task's own reference: never dropped */
		refcount_set(&p->count, 1);
		p->nr = nr;
		((struct pid **)pids)[npids++] = p;
	}
	pthread_mutex_unlock(&vfs_mu);
	return p;
}

struct pid *get_pid(struct pid *pid)
{
	if (pid)
		refcount_inc(&pid->count);
	return pid;
}

void put_pid(struct pid *pid)
{
	if (pid)
		WARN_ON(refcount_dec_and_test(&pid->count));	/* the task keeps one */
}

pid_t pid_nr(struct pid *pid) { return pid ? pid->nr : 0; }
pid_t pid_vnr(struct pid *pid) { return pid_nr(pid); }
struct pid *task_tgid(struct task_struct *task) { return pid_of_nr(task->tgid); }
struct pid *task_pid(struct task_struct *task) { return pid_of_nr(task->pid); }
pid_t task_pid_vnr(struct task_struct *tsk) { return tsk->pid; }
pid_t task_tgid_vnr(struct task_struct *tsk) { return tsk->tgid; }
struct task_struct *pid_task(struct pid *pid, enum pid_type type) { return NULL; }
struct task_struct *get_pid_task(struct pid *pid, enum pid_type type) { return NULL; }

/* ---- the I/O memory resource tree: empty ---- */
struct resource iomem_resource = { .name = "PCI mem", .start = 0, .end = -1, .flags = IORESOURCE_MEM };
