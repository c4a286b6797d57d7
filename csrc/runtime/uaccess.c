// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: user memory. A client address space (struct pfl_mm)
 * maps zeroed host memory at user addresses of its own, page-granular, with
 * an unmapped guard page after each mapping. The current task's mm
 * (pfl_use_mm(), like kthread_use_mm()) is what copy_{from,to}_user() see;
 * a range that is not wholly inside one mapping copies nothing and reports
 * every byte as not copied (the kernel may copy a prefix; callers check
 * non-zero and return -EFAULT either way). No mm: every address faults.
 * A remote mm (pfl_mm_create_remote()) is the address space of another host
 * process, by pid: copies go through process_vm_readv()/process_vm_writev(),
 * so an address that process does not map (or maps without the access)
 * copies short and the caller returns -EFAULT, as a faulting copy_*_user()
 * in the kernel; the process is never touched. Used by the device-node
 * bridge to run a real process's ioctls as its task.
 * Python: pyforlinux.uaccess.UserSpace. Kernel: include/linux/uaccess.h.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/err.h>
#include <pfl/vfs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PFL_USER_BASE 0x7f0000000000UL
#define PFL_PAGE 4096UL

struct pfl_umap {
	unsigned long start;
	size_t len;
	unsigned char *host;
};

struct pfl_mm {
	pthread_mutex_t mu;
	struct pfl_umap *maps;	/* sorted by start */
	int nmaps, cap;
	unsigned long next;
	struct pfl_fdtable fds;
	pid_t remote;		/* another host process's memory, or 0 */
};

static __thread struct pfl_mm *cur_mm;

struct pfl_mm *pfl_mm_create(void)
{
	struct pfl_mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return NULL;
	pthread_mutex_init(&mm->mu, NULL);
	pthread_mutex_init(&mm->fds.mu, NULL);
	mm->next = PFL_USER_BASE;
	return mm;
}

struct pfl_mm *pfl_mm_create_remote(pid_t pid)
{
	struct pfl_mm *mm;

	if (pid <= 0)
		return NULL;
	mm = pfl_mm_create();
	if (mm)
		mm->remote = pid;
	return mm;
}

void pfl_mm_destroy(struct pfl_mm *mm)
{
	int i;

	if (!mm)
		return;
	pfl_fdtable_release(&mm->fds);
	for (i = 0; i < mm->nmaps; i++)
		free(mm->maps[i].host);
	free(mm->maps);
	free(mm);
}

struct pfl_fdtable *pfl_mm_fdtable(struct pfl_mm *mm)
{
	return &mm->fds;
}

unsigned long pfl_mm_map(struct pfl_mm *mm, size_t size)
{
	unsigned long addr;
	unsigned char *host;

	if (!size || mm->remote)	/* nothing is mapped into another process */
		return 0;
	host = calloc(1, size);
	if (!host)
		return 0;
	pthread_mutex_lock(&mm->mu);
	if (mm->nmaps == mm->cap) {
		int cap = mm->cap ? mm->cap * 2 : 16;
		struct pfl_umap *m = realloc(mm->maps, sizeof(*m) * (size_t)cap);

		if (!m) {
			pthread_mutex_unlock(&mm->mu);
			free(host);
			return 0;
		}
		mm->maps = m;
		mm->cap = cap;
	}
	addr = mm->next;
	mm->next += (size + PFL_PAGE - 1) / PFL_PAGE * PFL_PAGE + PFL_PAGE;	/* guard page */
	mm->maps[mm->nmaps++] = (struct pfl_umap){ addr, size, host };	/* addresses only grow */
	pthread_mutex_unlock(&mm->mu);
	return addr;
}

int pfl_mm_unmap(struct pfl_mm *mm, unsigned long uaddr)
{
	int i;

	pthread_mutex_lock(&mm->mu);
	for (i = 0; i < mm->nmaps; i++) {
		if (mm->maps[i].start == uaddr) {
			free(mm->maps[i].host);
			memmove(&mm->maps[i], &mm->maps[i + 1], sizeof(mm->maps[0]) * (size_t)(mm->nmaps - i - 1));
			mm->nmaps--;
			pthread_mutex_unlock(&mm->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&mm->mu);
	return -EINVAL;
}

/* The host address of [uaddr, uaddr + len) if wholly mapped, else NULL.
 * Called with mm->mu held. */
static unsigned char *lookup_locked(struct pfl_mm *mm, unsigned long uaddr, size_t len)
{
	int lo = 0, hi = mm->nmaps - 1;

	if (uaddr + len < uaddr)
		return NULL;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct pfl_umap *m = &mm->maps[mid];

		if (uaddr < m->start)
			hi = mid - 1;
		else if (uaddr >= m->start + m->len && !(len == 0 && uaddr == m->start + m->len))
			lo = mid + 1;
		else
			return uaddr + len <= m->start + m->len ? m->host + (uaddr - m->start) : NULL;
	}
	return NULL;
}

void *pfl_mm_host(struct pfl_mm *mm, unsigned long uaddr, size_t len)
{
	void *p;

	pthread_mutex_lock(&mm->mu);
	p = lookup_locked(mm, uaddr, len);
	pthread_mutex_unlock(&mm->mu);
	return p;
}

struct pfl_mm *pfl_use_mm(struct pfl_mm *mm)
{
	struct pfl_mm *old = cur_mm;

	cur_mm = mm;
	return old;
}

struct pfl_mm *pfl_current_mm(void)
{
	return cur_mm;
}

/* The local and remote iovecs of process_vm_{readv,writev}(2) (struct iovec's
 * layout; the kernel tree's uio.h and the host's must not meet here). */
struct pfl_iov {
	void *base;
	size_t len;
};

/* Bytes NOT copied between kbuf and [uaddr, uaddr + n) of process pid. */
static unsigned long remote_copy(pid_t pid, void *kbuf, unsigned long uaddr, unsigned long n,
				 int to_user)
{
	struct pfl_iov local = { kbuf, n }, remote = { (void *)uaddr, n };
	long done;

	if (!pfl_access_ok((const void __user *)uaddr, n))
		return n;
	done = syscall(to_user ? SYS_process_vm_writev : SYS_process_vm_readv,
		       pid, &local, 1UL, &remote, 1UL, 0UL);
	if (done < 0)
		return n;	/* EFAULT, ESRCH (the process is gone), EPERM */
	return n - (unsigned long)done;
}

static unsigned long copy_user(void *kbuf, unsigned long uaddr, unsigned long n, int to_user)
{
	struct pfl_mm *mm = cur_mm;
	unsigned char *p;

	if (!n)
		return 0;
	if (!mm)
		return n;
	if (mm->remote)
		return remote_copy(mm->remote, kbuf, uaddr, n, to_user);
	pthread_mutex_lock(&mm->mu);
	p = lookup_locked(mm, uaddr, n);
	if (p) {
		if (to_user)
			memcpy(p, kbuf, n);
		else
			memcpy(kbuf, p, n);
	}
	pthread_mutex_unlock(&mm->mu);
	return p ? 0 : n;
}

unsigned long pfl_copy_from_user(void *to, const void __user *from, unsigned long n)
{
	unsigned long left = copy_user(to, (unsigned long)from, n, 0);

	if (left)
		memset(to, 0, n);	/* the kernel zeroes what it could not copy */
	return left;
}

unsigned long pfl_copy_to_user(void __user *to, const void *from, unsigned long n)
{
	return copy_user((void *)from, (unsigned long)to, n, 1);
}

unsigned long pfl_clear_user(void __user *to, unsigned long n)
{
	struct pfl_mm *mm = cur_mm;
	unsigned char *p;

	if (!n)
		return 0;
	if (!mm)
		return n;
	if (mm->remote) {
		void *zero = calloc(1, n);
		unsigned long left = zero ? remote_copy(mm->remote, zero, (unsigned long)to, n, 1) : n;

		free(zero);
		return left;
	}
	pthread_mutex_lock(&mm->mu);
	p = lookup_locked(mm, (unsigned long)to, n);
	if (p)
		memset(p, 0, n);
	pthread_mutex_unlock(&mm->mu);
	return p ? 0 : n;
}

long pfl_strncpy_from_user(char *dst, const char __user *src, long count)
{
	long i;

	for (i = 0; i < count; i++) {
		if (pfl_copy_from_user(&dst[i], src + i, 1))
			return -EFAULT;
		if (!dst[i])
			return i;
	}
	return count;
}

/* As mm/util.c: length from strnlen_user() (0 = fault), then memdup_user(). */
char *strndup_user(const char __user *s, long n)
{
	long len = 0;
	char c = 1, *p;

	while (len < n + 1 && c) {
		if (pfl_copy_from_user(&c, s + len, 1))
			return ERR_PTR(-EFAULT);
		len++;
	}
	if (!len)
		return ERR_PTR(-EFAULT);
	if (len > n)
		return ERR_PTR(-EINVAL);
	p = kmalloc(len, GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	if (pfl_copy_from_user(p, s, len)) {
		kfree(p);
		return ERR_PTR(-EFAULT);
	}
	p[len - 1] = '\0';
	return p;
}

bool pfl_access_ok(const void __user *addr, unsigned long size)
{
	/* The kernel's access_ok() only checks the range is below TASK_SIZE. */
	return (unsigned long)addr + size >= (unsigned long)addr &&
	       (unsigned long)addr + size <= 0x00007ffffffff000UL;
}
