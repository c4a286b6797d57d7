// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: kmalloc, vmalloc, pages and kmem caches.
 *
 * Every object carries a header just before it (size, cache, caller, the
 * rcu_head used for deferred frees) and is entered in a live-object set,
 * so that:
 *  - live objects are counted in total and per cache (the kmemleak view
 *    Python reads through pfl_slab_*());
 *  - kfree() of a pointer that is not live (double free, foreign pointer)
 *    is a WARN, not heap corruption;
 *  - SLAB_TYPESAFE_BY_RCU caches and kfree_rcu() free only after a grace
 *    period, as the kernel does (dma_fence_get_rcu_safe() depends on it);
 *  - allocations can fail on purpose: per task, the nth from now
 *    (fail_nth) or with a probability, like the kernel's fault injection.
 *    __GFP_NOFAIL allocations never fail.
 * C header: include/linux/slab.h (mm/slab_common.c semantics)
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/rcupdate.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct kmem_cache {
	char name[64];
	unsigned int size;
	unsigned int align;
	unsigned int flags;
	void (*ctor)(void *);
	long live;		/* objects allocated and not yet freed */
	unsigned long total;	/* allocations ever made */
	int index;		/* in caches[] */
};

enum { OBJ_KMALLOC, OBJ_VMALLOC, OBJ_PAGES, OBJ_CACHE };

struct pfl_obj {
	struct rcu_head rcu;		/* deferred free */
	struct kmem_cache *cache;
	size_t size;
	size_t offset;			/* from the malloc'd base to the object */
	unsigned long caller;		/* the allocating function's caller (_RET_IP_) */
	unsigned long site;		/* the call of the allocator itself */
	unsigned int kind;
	unsigned int magic;
};
#define OBJ_MAGIC 0x5ab1e11dU
#define OBJ_HDR(p) ((struct pfl_obj *)((char *)(p) - sizeof(struct pfl_obj)))

static pthread_mutex_t slab_mu = PTHREAD_MUTEX_INITIALIZER;

void pfl_slab_atfork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&slab_mu);
	else if (phase == 1)
		pthread_mutex_unlock(&slab_mu);
	else
		pthread_mutex_init(&slab_mu, NULL);
}

/* Pseudo-caches for the non-cache allocators. */
static struct kmem_cache kmalloc_cache = { .name = "kmalloc", .index = 0 };
static struct kmem_cache vmalloc_cache = { .name = "vmalloc", .index = 1 };
static struct kmem_cache pages_cache = { .name = "pages", .index = 2 };
#define MAX_CACHES 1024
static struct kmem_cache *caches[MAX_CACHES] = { &kmalloc_cache, &vmalloc_cache, &pages_cache };
static int nr_caches = 3;

static long live_total;
static size_t live_bytes;
static unsigned long alloc_total;
static unsigned long injected_failures;

/* ---- the live-object set: open addressing on the object address ---- */
static uintptr_t *live_set;	/* 0 empty, 1 tombstone, else a live pointer */
static size_t live_cap, live_used;	/* used counts tombstones too */
/* Objects ever taken out of the live set (pfl_kobj_unlink_gen_locked()). */
static unsigned long unlink_gen;
#define TOMB ((uintptr_t)1)

static size_t hash_ptr(uintptr_t p, size_t cap)
{
	p ^= p >> 33;
	p *= 0xff51afd7ed558ccdULL;
	p ^= p >> 33;
	return (size_t)p & (cap - 1);
}

static void set_insert_nolock(uintptr_t p);

static void set_grow(void)
{
	uintptr_t *old = live_set;
	size_t old_cap = live_cap, i;

	live_cap = live_cap ? live_cap * 2 : 4096;
	/* Shrink back if most entries are tombstones. */
	if (old_cap && (size_t)live_total * 4 < old_cap)
		live_cap = old_cap;
	live_set = calloc(live_cap, sizeof(*live_set));
	if (!live_set)
		abort();
	live_used = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i] > TOMB)
			set_insert_nolock(old[i]);
	free(old);
}

static void set_insert_nolock(uintptr_t p)
{
	size_t i;

	if ((live_used + 1) * 2 > live_cap)
		set_grow();
	for (i = hash_ptr(p, live_cap);; i = (i + 1) & (live_cap - 1)) {
		if (live_set[i] <= TOMB) {
			if (live_set[i] == 0)
				live_used++;
			live_set[i] = p;
			return;
		}
	}
}

static bool set_remove_nolock(uintptr_t p)
{
	size_t i;

	if (!live_cap)
		return false;
	for (i = hash_ptr(p, live_cap); live_set[i]; i = (i + 1) & (live_cap - 1)) {
		if (live_set[i] == p) {
			live_set[i] = TOMB;
			unlink_gen++;
			return true;
		}
	}
	return false;
}

static bool set_contains_nolock(uintptr_t p)
{
	size_t i;

	if (!live_cap)
		return false;
	for (i = hash_ptr(p, live_cap); live_set[i]; i = (i + 1) & (live_cap - 1))
		if (live_set[i] == p)
			return true;
	return false;
}

/* ---- fault injection ---- */
static u32 task_rand(struct task_struct *t)
{
	/* xorshift32 seeded from the task; only used for fail_probability */
	u32 x = (u32)(t->alloc_count * 2654435761u) ^ (u32)t->pid ^ 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/*
 * Known bugs of the unmodified kernel C that an injected allocation failure
 * turns into a crash. A failure that would be injected with one of these
 * functions on the stack is not injected: it is counted and named
 * (pfl_fault_known_bug_*()), so that the fault sweep reports the bug by name
 * instead of dying or skipping it silently.
 */
static const struct { const char *func; const char *what; } known_bugs[] = {
	{ "drm_sysfs_minor_alloc",
	  "Linux 6.12 drm_minor_alloc(): when drm_sysfs_minor_alloc() fails (its kzalloc or "
	  "dev_set_name), minor->kdev is left as ERR_PTR(-ENOMEM) and the drmm action "
	  "drm_minor_alloc_release() put_device()s it (fixed upstream by clearing minor->kdev "
	  "on that error)" },
};
static unsigned long known_bug_hits;
static const char *known_bug_last;

static const char *known_bug_on_stack(void)
{
	void *pcs[64];
	int n = backtrace(pcs, 64), i;
	size_t k;

	for (i = 0; i < n; i++) {
		Dl_info info;

		if (!dladdr(pcs[i], &info) || !info.dli_sname)
			continue;
		for (k = 0; k < ARRAY_SIZE(known_bugs); k++)
			if (!strcmp(info.dli_sname, known_bugs[k].func))
				return known_bugs[k].what;
	}
	return NULL;
}

unsigned long pfl_fault_known_bug_count(void)
{
	return __atomic_load_n(&known_bug_hits, __ATOMIC_RELAXED);
}

const char *pfl_fault_known_bug_last(void)
{
	return known_bug_last ? known_bug_last : "";
}

bool pfl_should_fail_alloc(unsigned int gfp)
{
	struct task_struct *t = pfl_current();
	bool fail = false;

	t->alloc_count++;
	if (gfp & __GFP_NOFAIL)
		return false;
	if (t->fail_nth) {
		if (--t->fail_nth == 0)
			fail = true;
	} else if (t->fail_probability && task_rand(t) % 1000000u < t->fail_probability) {
		fail = true;
	}
	if (fail) {
		const char *bug = known_bug_on_stack();

		if (bug) {
			known_bug_last = bug;
			__atomic_add_fetch(&known_bug_hits, 1, __ATOMIC_RELAXED);
			return false;
		}
	}
	if (fail) {
		__atomic_add_fetch(&injected_failures, 1, __ATOMIC_RELAXED);
		if (!(gfp & __GFP_NOWARN) && pfl_fault_verbose())
			pfl_printk("FAULT_INJECTION: forcing a failure (alloc #%lu of task %d)\n",
				   t->alloc_count, t->pid);
	}
	return fail;
}

static int fault_verbose;
int pfl_fault_verbose(void)
{
	return fault_verbose;
}

/* Python API: fail the nth allocation from now made by the calling thread. */
void pfl_fail_nth_set(unsigned long n)
{
	pfl_current()->fail_nth = n;
}

unsigned long pfl_fail_nth_get(void)
{
	return pfl_current()->fail_nth;
}

/* Probability in parts per million (0..1000000), for the calling thread. */
void pfl_fail_probability_set(unsigned int ppm)
{
	pfl_current()->fail_probability = ppm > 1000000u ? 1000000u : ppm;
}

unsigned long pfl_task_alloc_count(void)
{
	return pfl_current()->alloc_count;
}

unsigned long pfl_injected_failures(void)
{
	return __atomic_load_n(&injected_failures, __ATOMIC_RELAXED);
}

void pfl_fault_set_verbose(int v)
{
	fault_verbose = v;
}

/* ---- the allocator ---- */
static void *obj_alloc(struct kmem_cache *cache, unsigned int kind, size_t size,
		       size_t align, unsigned int gfp, unsigned long caller, unsigned long site)
{
	struct pfl_obj *h;
	size_t offset;
	void *base, *p;

	if (pfl_should_fail_alloc(gfp))
		return NULL;
	if (align < 16)
		align = 16;
	offset = ALIGN(sizeof(struct pfl_obj), align);
	if (size > ((size_t)1 << 40) || posix_memalign(&base, align, offset + (size ? size : 1)))
		return NULL;
	p = (char *)base + offset;
	h = OBJ_HDR(p);
	h->cache = cache;
	h->size = size;
	h->offset = offset;
	h->caller = caller;
	h->site = site;
	h->kind = kind;
	h->magic = OBJ_MAGIC;
	if (gfp & __GFP_ZERO)
		memset(p, 0, size);

	pthread_mutex_lock(&slab_mu);
	set_insert_nolock((uintptr_t)p);
	cache->live++;
	cache->total++;
	live_total++;
	live_bytes += size;
	alloc_total++;
	pthread_mutex_unlock(&slab_mu);
	return p;
}

/* Frees memory already removed from the live set. */
static void obj_release(struct pfl_obj *h)
{
	pthread_mutex_lock(&slab_mu);
	h->cache->live--;
	live_total--;
	live_bytes -= h->size;
	pthread_mutex_unlock(&slab_mu);
	h->magic = 0;
	free((char *)h + sizeof(*h) - h->offset);
}

static void obj_release_rcu(struct rcu_head *rcu)
{
	obj_release(container_of(rcu, struct pfl_obj, rcu));
}

/* Takes p out of the live set; false (and a WARN) if it was not live. */
static bool obj_unlink(const void *p, const char *what, unsigned long caller)
{
	bool live;

	pthread_mutex_lock(&slab_mu);
	live = set_remove_nolock((uintptr_t)p);
	pthread_mutex_unlock(&slab_mu);
	if (!live) {
		pfl_printk("BUG: %s of %p, which is not a live object (double free or foreign pointer), caller %p\n",
			   what, p, (void *)caller);
		pfl_warn(__FILE__, __LINE__, "free of a non-live object");
	}
	return live;
}

void *pfl_kmalloc(size_t size, unsigned int gfp, unsigned long caller)
{
	if (!size)
		return ZERO_SIZE_PTR;
	return obj_alloc(&kmalloc_cache, OBJ_KMALLOC, size, 16, gfp, caller, _RET_IP_);
}

void *pfl_vmalloc(size_t size, unsigned int gfp, unsigned long caller)
{
	if (!size)
		return NULL;
	return obj_alloc(&vmalloc_cache, OBJ_VMALLOC, size, 16, gfp, caller, _RET_IP_);
}

void *pfl_alloc_pages(unsigned int gfp, unsigned int order, unsigned long caller)
{
	if (order > 20)
		return NULL;
	return obj_alloc(&pages_cache, OBJ_PAGES, PAGE_SIZE << order, PAGE_SIZE, gfp, caller, _RET_IP_);
}

void pfl_free_pages(void *addr, unsigned int order)
{
	if (!addr)
		return;
	if (obj_unlink(addr, "free_pages", _RET_IP_))
		obj_release(OBJ_HDR(addr));
}

size_t pfl_ksize(const void *p)
{
	if (ZERO_OR_NULL_PTR(p))
		return 0;
	return OBJ_HDR(p)->size;
}

void pfl_kfree(const void *p, unsigned long caller)
{
	struct pfl_obj *h;

	if (ZERO_OR_NULL_PTR(p))
		return;
	if (!obj_unlink(p, "kfree", caller))
		return;
	h = OBJ_HDR(p);
	if (h->kind == OBJ_CACHE && (h->cache->flags & SLAB_TYPESAFE_BY_RCU)) {
		call_rcu(&h->rcu, obj_release_rcu);
		return;
	}
	obj_release(h);
}

void pfl_kfree_rcu(const void *p)
{
	struct pfl_obj *h;

	if (ZERO_OR_NULL_PTR(p))
		return;
	if (!obj_unlink(p, "kfree_rcu", _RET_IP_))
		return;
	h = OBJ_HDR(p);
	call_rcu(&h->rcu, obj_release_rcu);
}

void *pfl_krealloc(const void *p, size_t size, unsigned int gfp, unsigned long caller)
{
	void *n;
	size_t old;

	if (!size) {
		pfl_kfree(p, caller);
		return ZERO_SIZE_PTR;
	}
	old = pfl_ksize(p);
	if (old >= size && !ZERO_OR_NULL_PTR(p))
		return (void *)p;
	n = obj_alloc(&kmalloc_cache, OBJ_KMALLOC, size, 16, gfp & ~__GFP_ZERO, caller, _RET_IP_);
	if (!n)
		return NULL;
	if (old)
		memcpy(n, p, old);
	if (gfp & __GFP_ZERO)
		memset((char *)n + old, 0, size - old);
	pfl_kfree(p, caller);
	return n;
}

void *kvmalloc_node(size_t size, gfp_t flags, int node)
{
	return pfl_kmalloc(size, flags, _RET_IP_);
}

struct kmem_cache *pfl_kmem_cache_create(const char *name, unsigned int size,
					 unsigned int align, unsigned int flags,
					 void (*ctor)(void *))
{
	struct kmem_cache *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->size = size;
	s->align = align ? align : 8;
	if (flags & SLAB_HWCACHE_ALIGN && s->align < 64)
		s->align = 64;
	s->flags = flags;
	s->ctor = ctor;
	pthread_mutex_lock(&slab_mu);
	if (nr_caches == MAX_CACHES) {
		pthread_mutex_unlock(&slab_mu);
		free(s);
		return NULL;
	}
	s->index = nr_caches;
	caches[nr_caches++] = s;
	pthread_mutex_unlock(&slab_mu);
	return s;
}

void pfl_kmem_cache_destroy(struct kmem_cache *s)
{
	int i;

	if (!s)
		return;
	/* As 6.12's kmem_cache_destroy() (kvfree_rcu_barrier()): objects
	 * passed to kfree_rcu() or freed by RCU callbacks are gone first. */
	rcu_barrier();
	pthread_mutex_lock(&slab_mu);
	if (s->live) {
		pthread_mutex_unlock(&slab_mu);
		pfl_printk("kmem_cache_destroy %s: Slab cache still has %ld objects\n", s->name, s->live);
		pfl_warn(__FILE__, __LINE__, "kmem_cache_destroy of a cache with live objects");
		return;	/* the kernel leaks the cache too */
	}
	for (i = s->index + 1; i < nr_caches; i++) {
		caches[i - 1] = caches[i];
		caches[i - 1]->index = i - 1;
	}
	nr_caches--;
	pthread_mutex_unlock(&slab_mu);
	free(s);
}

void *pfl_kmem_cache_alloc(struct kmem_cache *s, unsigned int gfp, unsigned long caller)
{
	void *p = obj_alloc(s, OBJ_CACHE, s->size, s->align, gfp, caller, _RET_IP_);

	if (p && s->ctor && !(gfp & __GFP_ZERO))
		s->ctor(p);
	return p;
}

void pfl_kmem_cache_free(struct kmem_cache *s, void *p)
{
	if (p && OBJ_HDR(p)->cache != s && pfl_kobj_is_live(p)) {
		pfl_printk("kmem_cache_free: object %p belongs to %s, not %s\n",
			   p, OBJ_HDR(p)->cache->name, s->name);
		pfl_warn(__FILE__, __LINE__, "kmem_cache_free to the wrong cache");
		return;
	}
	pfl_kfree(p, _RET_IP_);
}

/* ---- the kmemleak view, for Python ---- */
bool pfl_kobj_is_live(const void *p)
{
	bool live;

	pthread_mutex_lock(&slab_mu);
	live = set_contains_nolock((uintptr_t)p);
	pthread_mutex_unlock(&slab_mu);
	return live;
}

/*
 * For checked walks over many objects (csrc/helpers/list.c): the same
 * lookup as pfl_kobj_is_live() with slab_mu taken once around the whole
 * walk instead of once per object. While it is held no object is freed, so
 * an object found live stays readable until pfl_kobj_live_unlock(). The
 * caller must not allocate or free in between.
 */
void pfl_kobj_live_lock(void)
{
	pthread_mutex_lock(&slab_mu);
}

bool pfl_kobj_is_live_locked(const void *p)
{
	return set_contains_nolock((uintptr_t)p);
}

/*
 * How many objects were ever taken out of the live set (freed), with
 * slab_mu held. Unchanged since an earlier lookup found an object live
 * means nothing was freed in between: it is still live (a later walk over
 * the same objects need not look each one up again).
 */
unsigned long pfl_kobj_unlink_gen_locked(void)
{
	return unlink_gen;
}

void pfl_kobj_live_unlock(void)
{
	pthread_mutex_unlock(&slab_mu);
}

long pfl_slab_live_objects(void)
{
	return __atomic_load_n(&live_total, __ATOMIC_SEQ_CST);
}

size_t pfl_slab_live_bytes(void)
{
	return __atomic_load_n(&live_bytes, __ATOMIC_SEQ_CST);
}

unsigned long pfl_slab_total_allocs(void)
{
	return __atomic_load_n(&alloc_total, __ATOMIC_SEQ_CST);
}

int pfl_slab_nr_caches(void)
{
	return nr_caches;
}

/* Snapshot of cache i: returns 0, or -ENOENT past the end. */
int pfl_slab_cache_info(int i, char *name, size_t name_size, long *live, unsigned long *total,
			unsigned int *object_size)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&slab_mu);
	if (i >= 0 && i < nr_caches) {
		snprintf(name, name_size, "%s", caches[i]->name);
		*live = caches[i]->live;
		*total = caches[i]->total;
		*object_size = caches[i]->size;
		ret = 0;
	}
	pthread_mutex_unlock(&slab_mu);
	return ret;
}

/*
 * The kmemleak view: a snapshot of up to @max live objects, oldest first
 * not guaranteed (hash order). Returns how many live objects there are in
 * all (may exceed @max: call again with a bigger array).
 */
long pfl_kmemleak_snapshot(struct pfl_leak *out, long max)
{
	long n = 0;
	size_t i;

	pthread_mutex_lock(&slab_mu);
	for (i = 0; i < live_cap; i++) {
		struct pfl_obj *h;

		if (live_set[i] <= TOMB)
			continue;
		if (n < max) {
			h = OBJ_HDR(live_set[i]);
			out[n].ptr = (void *)live_set[i];
			out[n].size = h->size;
			snprintf(out[n].cache, sizeof(out[n].cache), "%s", h->cache->name);
			out[n].site = h->site;
			out[n].caller = h->caller;
		}
		n++;
	}
	pthread_mutex_unlock(&slab_mu);
	return n;
}

/* Where a code address is: the loaded object's path and load base. */
int pfl_addr_object(unsigned long addr, char *path, size_t path_size, unsigned long *base)
{
	Dl_info info;

	if (!dladdr((void *)addr, &info) || !info.dli_fname)
		return -ENOENT;
	snprintf(path, path_size, "%s", info.dli_fname);
	*base = (unsigned long)info.dli_fbase;
	return 0;
}

void pfl_percpu_drain_current(void);

/* Makes the live counts final: frees the calling thread's per-CPU caches
 * (as if its CPU went offline) and waits for RCU-deferred frees. */
void pfl_slab_quiesce(void)
{
	pfl_percpu_drain_current();
	rcu_barrier();
}
