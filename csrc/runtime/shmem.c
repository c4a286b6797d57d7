// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: shmem files and their pages, the execution environment
 * of drm_gem_object_init()/drm_gem_get_pages() and drm_gem_shmem_helper.c.
 *
 * - Physical memory for shmem is one sparse memfd (the "pool"), mapped once
 *   as the direct map: a page's struct page pointer is its address there
 *   (the runtime's page model, linux/mm_types.h), so page_to_pfn/pfn_to_page
 *   and page_address hold. A refcount per pool page plays struct page's
 *   _refcount; the last folio_put() returns the page (its memory is punched
 *   out of the memfd: a reused page reads as zeroes, as a new shmem page).
 * - shmem_file_setup() is a file on the shmem pseudo filesystem with a page
 *   cache of i_size/PAGE_SIZE slots; shmem_read_folio_gfp() fills a slot on
 *   first use (the cache's reference) and returns the folio with one more
 *   reference for the caller. The last iput() evicts: the cache's references
 *   go (shmem_evict_inode()).
 * - vmap() maps pool pages contiguously in a fresh address range, aliasing
 *   the same memory (MAP_SHARED of the memfd), as the kernel's vmap area.
 * - No page tables: a user mapping faults through vm_ops->fault on every
 *   access (pfl_vma_rw); vmf_insert_pfn() hands the pfn to that access.
 * Kernel: mm/shmem.c, mm/vmalloc.c, mm/memory.c (vmf_insert_pfn), mm/swap.c
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/shmem_fs.h>
#include <linux/pagemap.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/init.h>
#include <pthread.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#define POOL_SIZE	(1UL << 32)		/* address space; memory on use */
#define POOL_PAGES	(POOL_SIZE >> PAGE_SHIFT)

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static int pool_fd = -1;
static char *pool;
static atomic_t *pool_ref;			/* struct page's _refcount */
static unsigned int *pool_free;		/* stack of free page indices */
static unsigned long pool_nr_free, pool_next, pool_live;

static int pool_init_locked(void)
{
	if (pool)
		return 0;
	pool_fd = memfd_create("pfl-shmem", MFD_CLOEXEC);
	if (pool_fd < 0 || ftruncate(pool_fd, (off_t)POOL_SIZE))
		return -ENOMEM;
	pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		    pool_fd, 0);
	pool_ref = mmap(NULL, POOL_PAGES * sizeof(*pool_ref), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pool_free = mmap(NULL, POOL_PAGES * sizeof(*pool_free), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool == MAP_FAILED || pool_ref == MAP_FAILED || pool_free == MAP_FAILED) {
		pool = NULL;
		return -ENOMEM;
	}
	return 0;
}

static bool pool_page(const struct page *page, unsigned long *idx)
{
	const char *p = (const char *)page;

	if (!pool || p < pool || p >= pool + POOL_SIZE || ((unsigned long)p & ~PAGE_MASK))
		return false;
	*idx = (unsigned long)(p - pool) >> PAGE_SHIFT;
	return true;
}

static struct page *pool_alloc(gfp_t gfp)
{
	unsigned long idx;

	if (pfl_should_fail_alloc(gfp))
		return NULL;
	pthread_mutex_lock(&pool_mu);
	if (pool_init_locked()) {
		pthread_mutex_unlock(&pool_mu);
		return NULL;
	}
	if (pool_nr_free)
		idx = pool_free[--pool_nr_free];
	else if (pool_next < POOL_PAGES)
		idx = pool_next++;
	else {
		pthread_mutex_unlock(&pool_mu);
		return NULL;
	}
	atomic_set(&pool_ref[idx], 1);
	pool_live++;
	pthread_mutex_unlock(&pool_mu);
	return (struct page *)(pool + (idx << PAGE_SHIFT));
}

static void pool_release(unsigned long idx)
{
	/* the memory goes back to the system; the next user reads zeroes */
	fallocate(pool_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)(idx << PAGE_SHIFT), PAGE_SIZE);
	pthread_mutex_lock(&pool_mu);
	pool_free[pool_nr_free++] = (unsigned int)idx;
	pool_live--;
	pthread_mutex_unlock(&pool_mu);
}

/* folio_get()/folio_put() of pool pages (a folio is one page here). */
static void pool_get(struct page *page)
{
	unsigned long idx;

	if (WARN_ON(!pool_page(page, &idx)))
		return;
	WARN_ON(atomic_inc_return(&pool_ref[idx]) < 2);
}

static void pool_put(struct page *page)
{
	unsigned long idx;
	int n;

	if (WARN_ON(!pool_page(page, &idx)))
		return;
	n = atomic_dec_return(&pool_ref[idx]);
	WARN_ON(n < 0);
	if (!n)
		pool_release(idx);
}

/* Pages of the pool in use (cache + references): for leak checks. */
unsigned long pfl_shmem_nr_pages(void)
{
	unsigned long n;

	pthread_mutex_lock(&pool_mu);
	n = pool_live;
	pthread_mutex_unlock(&pool_mu);
	return n;
}

/* ---- shmem files ---- */
struct shmem_cache {
	pgoff_t nr;
	gfp_t gfp;
	struct mutex lock;
	struct page *pages[];
};

static void shmem_evict_inode(struct inode *inode)
{
	struct shmem_cache *c = inode->i_data.pfl_shmem;
	pgoff_t i;

	if (!c)
		return;
	for (i = 0; i < c->nr; i++)
		if (c->pages[i])
			pool_put(c->pages[i]);
	mutex_destroy(&c->lock);
	kvfree(c);
	inode->i_data.pfl_shmem = NULL;
}

static const struct super_operations shmem_ops = {
	.evict_inode = shmem_evict_inode,
};

static int shmem_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, 0x01021994 /* TMPFS_MAGIC */) ? 0 : -ENOMEM;
}

static struct file_system_type shmem_fs_type = {
	.name = "tmpfs",
	.init_fs_context = shmem_init_fs_context,
	.kill_sb = kill_anon_super,
};

static const struct file_operations shmem_file_operations = {
	.llseek = noop_llseek,
};

static struct vfsmount *shm_mnt;

/* mm/shmem.c's shmem_init(), at boot: the internal tmpfs mount. */
static int shmem_init(void)
{
	struct vfsmount *m = kern_mount(&shmem_fs_type);

	if (IS_ERR(m))
		return PTR_ERR(m);
	m->mnt_sb->s_op = &shmem_ops;
	shm_mnt = m;
	return 0;
}
core_initcall(shmem_init);

struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags)
{
	struct shmem_cache *c;
	struct inode *inode;
	struct file *file;
	pgoff_t nr;

	if (size < 0 || size > MAX_LFS_FILESIZE)
		return ERR_PTR(-EINVAL);
	if (!shm_mnt)
		return ERR_PTR(-ENOMEM);
	nr = (pgoff_t)((size + PAGE_SIZE - 1) >> PAGE_SHIFT);
	inode = new_inode_pseudo(shm_mnt->mnt_sb);
	if (!inode)
		return ERR_PTR(-ENOSPC);
	inode->i_mode = S_IFREG | 0777;
	inode->i_size = size;
	c = kvzalloc(struct_size(c, pages, nr), GFP_KERNEL);
	if (!c) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	c->nr = nr;
	c->gfp = GFP_HIGHUSER_MOVABLE;
	mutex_init(&c->lock);
	inode->i_data.pfl_shmem = c;
	file = alloc_file_pseudo(inode, shm_mnt, name, O_RDWR, &shmem_file_operations);
	if (IS_ERR(file))
		iput(inode);
	return file;
}

struct folio *shmem_read_folio_gfp(struct address_space *mapping, pgoff_t index, gfp_t gfp)
{
	struct shmem_cache *c = mapping->pfl_shmem;
	struct page *page;

	if (WARN_ON(!c))
		return ERR_PTR(-EINVAL);
	if (index >= c->nr)
		return ERR_PTR(-EINVAL);	/* beyond i_size: shmem_get_folio */
	mutex_lock(&c->lock);
	page = c->pages[index];
	if (!page) {
		page = pool_alloc(gfp);
		if (!page) {
			mutex_unlock(&c->lock);
			return ERR_PTR(-ENOMEM);
		}
		c->pages[index] = page;	/* the page cache's reference */
		mapping->nrpages++;
	}
	pool_get(page);			/* the caller's */
	mutex_unlock(&c->lock);
	return page_folio(page);
}

struct page *shmem_read_mapping_page_gfp(struct address_space *mapping, pgoff_t index, gfp_t gfp)
{
	struct folio *folio = shmem_read_folio_gfp(mapping, index, gfp);

	return IS_ERR(folio) ? ERR_CAST(folio) : &folio->page;
}

/* Drop the page cache's pages from lstart to lend (inclusive, -1: to the
 * end); pages still referenced elsewhere live on until their last put. */
void shmem_truncate_range(struct inode *inode, loff_t lstart, loff_t lend)
{
	struct shmem_cache *c = inode->i_data.pfl_shmem;
	pgoff_t i, first, last;

	if (!c)
		return;
	first = (pgoff_t)((lstart + PAGE_SIZE - 1) >> PAGE_SHIFT);
	last = lend == (loff_t)-1 ? c->nr : (pgoff_t)((lend + 1) >> PAGE_SHIFT);
	mutex_lock(&c->lock);
	for (i = first; i < last && i < c->nr; i++)
		if (c->pages[i]) {
			pool_put(c->pages[i]);
			c->pages[i] = NULL;
			inode->i_data.nrpages--;
		}
	mutex_unlock(&c->lock);
}

/* Clean, unmapped page-cache pages: shmem pages are never clean here (no
 * swap): nothing to invalidate, as for a tmpfs file that was written. */
unsigned long invalidate_mapping_pages(struct address_space *mapping, pgoff_t start, pgoff_t end)
{
	return 0;
}

void mapping_set_unevictable(struct address_space *mapping) { }
void mapping_clear_unevictable(struct address_space *mapping) { }
gfp_t mapping_gfp_mask(struct address_space *mapping)
{
	struct shmem_cache *c = mapping->pfl_shmem;

	return c ? c->gfp : GFP_HIGHUSER_MOVABLE;
}
void mapping_set_gfp_mask(struct address_space *mapping, gfp_t mask)
{
	struct shmem_cache *c = mapping->pfl_shmem;

	if (c)
		c->gfp = mask;
}
void folio_mark_accessed(struct folio *folio) { }
bool folio_mark_dirty(struct folio *folio) { return true; }	/* no writeback */
void check_move_unevictable_folios(struct folio_batch *fbatch) { }
void folio_get(struct folio *folio) { pool_get(&folio->page); }
void folio_put(struct folio *folio) { pool_put(&folio->page); }

void __folio_batch_release(struct folio_batch *fbatch)
{
	unsigned int i;

	for (i = 0; i < folio_batch_count(fbatch); i++)
		folio_put(fbatch->folios[i]);
	folio_batch_init(fbatch);
}

/* ---- vmap ---- */
struct vmap_area {
	struct list_head list;
	void *addr;
	size_t size;
};
static LIST_HEAD(vmap_areas);
static DEFINE_SPINLOCK(vmap_lock);

void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot)
{
	struct vmap_area *va;
	unsigned long idx;
	unsigned int i;
	char *addr;

	if (!count)
		return NULL;
	va = kmalloc(sizeof(*va), GFP_KERNEL);
	if (!va)
		return NULL;
	va->size = (size_t)count << PAGE_SHIFT;
	addr = mmap(NULL, va->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED) {
		kfree(va);
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if (!pool_page(pages[i], &idx) ||
		    mmap(addr + ((size_t)i << PAGE_SHIFT), PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, pool_fd, (off_t)(idx << PAGE_SHIFT)) == MAP_FAILED) {
			WARN(!pool_page(pages[i], &idx), "vmap() of a page not from the shmem pool");
			munmap(addr, va->size);
			kfree(va);
			return NULL;
		}
	}
	va->addr = addr;
	spin_lock(&vmap_lock);
	list_add(&va->list, &vmap_areas);
	spin_unlock(&vmap_lock);
	return addr;
}

void vunmap(const void *addr)
{
	struct vmap_area *va, *found = NULL;

	if (!addr)
		return;
	spin_lock(&vmap_lock);
	list_for_each_entry(va, &vmap_areas, list)
		if (va->addr == addr) {
			list_del(&va->list);
			found = va;
			break;
		}
	spin_unlock(&vmap_lock);
	if (WARN(!found, "vunmap() of %p: no such vmap area", addr))
		return;
	munmap(found->addr, found->size);
	kfree(found);
}

/* ---- faults ---- */
static __thread unsigned long fault_pfn;

vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn)
{
	if (addr < vma->vm_start || addr >= vma->vm_end)
		return VM_FAULT_SIGBUS;
	fault_pfn = pfn;
	return VM_FAULT_NOPAGE;
}

/* A user access of len bytes at offset into vma: each page faults through
 * vm_ops->fault (no page tables). -EFAULT on a fault error (SIGBUS for a
 * real process), past the mapping or a write to a read-only mapping. */
int pfl_vma_rw(struct vm_area_struct *vma, unsigned long offset, void *buf, size_t len, int write)
{
	char *b = buf;

	if (offset > vma->vm_end - vma->vm_start || len > vma->vm_end - vma->vm_start - offset)
		return -EFAULT;
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	if (!vma->vm_ops || !vma->vm_ops->fault)
		return -EFAULT;
	while (len) {
		unsigned long addr = vma->vm_start + offset;
		size_t in = offset & ~PAGE_MASK, n = min_t(size_t, len, PAGE_SIZE - in);
		struct vm_fault vmf = {
			.vma = vma,
			.address = addr & PAGE_MASK,
			.pgoff = vma->vm_pgoff + (offset >> PAGE_SHIFT),
			.flags = write ? FAULT_FLAG_WRITE : 0,
		};
		vm_fault_t ret;
		char *page;

		fault_pfn = 0;
		ret = vma->vm_ops->fault(&vmf);
		if ((ret & VM_FAULT_ERROR) || !fault_pfn)
			return -EFAULT;
		page = page_address(pfn_to_page(fault_pfn));
		if (write)
			memcpy(page + in, b, n);
		else
			memcpy(b, page + in, n);
		b += n;
		offset += n;
		len -= n;
	}
	return 0;
}
