// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: lock ownership and a lock-order validator in the
 * spirit of lockdep.
 *
 * Every lock acquisition (kernel C spinlocks and mutexes, and the Python
 * safe layer's locks, which are the same C locks) goes through
 * pfl_lock_acquire(). Locks belong to classes (a struct lock_class_key and
 * a subclass; a lock with no key is its own class). While a task holds A
 * and takes B, the class edge A -> B is recorded with both acquisition
 * sites; an acquisition that would close a cycle (B -> ... -> A already
 * known) is reported as a possible circular locking dependency, with the
 * sites of every edge in the cycle, whether or not the threads involved
 * ever run at the same time. Also caught: taking a lock the task already
 * holds (a certain deadlock: BUG), nesting two locks of one class without
 * a subclass, releasing a lock the task does not hold, and sleeping
 * (might_sleep()) while holding a spinlock, with preemption disabled or
 * inside an RCU read section.
 *
 * Not caught: orders through locks that bypass this runtime (pthread locks
 * of other libraries), read/write-lock subtleties (rwlocks are plain locks
 * here), and interrupt-safety (there are no interrupts).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/lockdep.h>
#include <pfl/sync.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>

#define MAX_CLASSES 8192
#define CTX_LEN 160

struct pfl_dep {
	int to;
	unsigned long ip_from, ip_to;	/* where the held and the new lock were taken */
	int tid;
	char ctx_from[CTX_LEN], ctx_to[CTX_LEN];
};

struct pfl_lock_class {
	int id;
	int subclass;
	struct lock_class_key *key;
	char name[64];
	struct pfl_dep *deps;
	int nr_deps, cap_deps;
};

static pthread_mutex_t graph_mu = PTHREAD_MUTEX_INITIALIZER;

/* fork(): held across it by the forking thread (runtime/fork.c). */
void pfl_lockdep_atfork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&graph_mu);
	else if (phase == 1)
		pthread_mutex_unlock(&graph_mu);
	else
		pthread_mutex_init(&graph_mu, NULL);
}
static struct pfl_lock_class *classes[MAX_CLASSES];
static int nr_classes;	/* ids are never reused; freed slots stay NULL */

static int enabled = 1;
static int quiet;
static unsigned long counts[PFL_LOCKDEP_NR_KINDS];
static char last_report[4096];

/* Python's acquisition site for the next lock taken by this thread. */
static __thread char next_ctx[CTX_LEN];

/* The subclass of this thread's next acquisition (spin_lock_nested() and
 * mutex_lock_nested()); 0 means the lock's own (lockdep_set_subclass()).
 * Per thread, not in the lock, so waiters never change the class of the
 * lock's holder, and a held lock keeps the class it was taken with. */
static __thread int next_subclass;

void pfl_lockdep_set_next_subclass(int subclass)
{
	next_subclass = subclass;
}

static int acquire_subclass(const struct lockdep_map *map)
{
	return next_subclass ? next_subclass : map->subclass;
}

/* What this thread itself reported: lets the Python layer's strict mode tell
 * its own reports from those of other threads running at the same time. */
static __thread unsigned long thread_counts[PFL_LOCKDEP_NR_KINDS];
static __thread char thread_report[sizeof(last_report)];

void pfl_lockdep_set_enabled(int on) { enabled = on; }
int pfl_lockdep_enabled(void) { return enabled; }
void pfl_lockdep_set_quiet(int q) { quiet = q; }

unsigned long pfl_lockdep_count(int kind)
{
	if (kind < 0 || kind >= PFL_LOCKDEP_NR_KINDS)
		return 0;
	return __atomic_load_n(&counts[kind], __ATOMIC_SEQ_CST);
}

size_t pfl_lockdep_last_report(char *buf, size_t size)
{
	size_t n;

	pthread_mutex_lock(&graph_mu);
	n = strlen(last_report);
	if (size)
		snprintf(buf, size, "%s", last_report);
	pthread_mutex_unlock(&graph_mu);
	return n;
}

unsigned long pfl_lockdep_thread_count(int kind)
{
	if (kind < 0 || kind >= PFL_LOCKDEP_NR_KINDS)
		return 0;
	return thread_counts[kind];
}

size_t pfl_lockdep_thread_last_report(char *buf, size_t size)
{
	if (size)
		snprintf(buf, size, "%s", thread_report);
	return strlen(thread_report);
}

void pfl_lockdep_set_acquire_context(const char *ctx)
{
	snprintf(next_ctx, sizeof(next_ctx), "%s", ctx ? ctx : "");
}

/*
 * Python sites, formatted lazily. The safe layer's acquisitions name their
 * Python site by reference -- the frame, its code object (their addresses,
 * as identities) and the instruction offset -- instead of as text, because
 * formatting the text (frames, line numbers, strings) costs more than the
 * lock, and it is read only when a new dependency edge is recorded or a
 * report is made. Such a ctx starts with PY_SITE and holds struct py_site;
 * resolve_ctx() turns it into text through the hook the Python layer sets
 * (it finds the frame on the calling thread's stack), and is only called
 * without graph_mu held: the hook runs Python.
 */
#define PY_SITE '\x01'

struct py_site {
	unsigned long frame, code;
	int lasti;
};

static void (*py_site_hook)(unsigned long frame, unsigned long code, int lasti,
			    char *buf, size_t size);

void pfl_lockdep_set_site_hook(void (*fn)(unsigned long frame, unsigned long code,
					  int lasti, char *buf, size_t size))
{
	py_site_hook = fn;
}

void pfl_lockdep_set_py_site(unsigned long frame, unsigned long code, int lasti)
{
	struct py_site ps = { .frame = frame, .code = code, .lasti = lasti };

	next_ctx[0] = PY_SITE;
	memcpy(next_ctx + 8, &ps, sizeof(ps));
}

_Static_assert(sizeof(((struct pfl_held_lock *)0)->ctx) == CTX_LEN, "held-lock ctx size");
_Static_assert(8 + sizeof(struct py_site) <= CTX_LEN, "lazy site size");

/* A ctx buffer (CTX_LEN bytes) copied whole: a lazy site is binary. */
static void copy_ctx(char *dst, const char *src)
{
	if (src[0] == PY_SITE)
		memcpy(dst, src, CTX_LEN);
	else
		snprintf(dst, CTX_LEN, "%s", src);
}

/* A lazy Python site in @ctx (CTX_LEN bytes) becomes its text, in place. */
static void resolve_ctx(char *ctx)
{
	struct py_site ps;
	char buf[CTX_LEN];

	if (ctx[0] != PY_SITE)
		return;
	memcpy(&ps, ctx + 8, sizeof(ps));
	buf[0] = 0;
	if (py_site_hook)
		py_site_hook(ps.frame, ps.code, ps.lasti, buf, sizeof(buf));
	buf[sizeof(buf) - 1] = 0;
	memcpy(ctx, buf, CTX_LEN);
}

static void site(char *buf, size_t size, unsigned long ip, const char *ctx)
{
	Dl_info info;

	if (ctx && ctx[0]) {
		snprintf(buf, size, "%s", ctx);
	} else if (ip && dladdr((void *)ip, &info) && info.dli_sname) {
		snprintf(buf, size, "%s+0x%lx", info.dli_sname,
			 ip - (unsigned long)info.dli_saddr);
	} else {
		snprintf(buf, size, "%p", (void *)ip);
	}
}

/* Called with graph_mu held (it is a plain pthread mutex, not validated). */
static void report_locked(int kind, const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&counts[kind], 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	vsnprintf(last_report, sizeof(last_report), fmt, ap);
	va_end(ap);
	thread_counts[kind]++;
	memcpy(thread_report, last_report, sizeof(thread_report));
	if (!quiet)
		pfl_printk("%s\n", last_report);
}

#define report(kind, fmt...) do {		\
	pthread_mutex_lock(&graph_mu);		\
	report_locked(kind, fmt);		\
	pthread_mutex_unlock(&graph_mu);	\
} while (0)

struct lock_class_key __lockdep_no_validate__;

static struct pfl_lock_class *class_of_locked(struct lockdep_map *map, int sub)
{
	struct lock_class_key *key = map->key;
	struct pfl_lock_class *c;

	if (key == &__lockdep_no_validate__)
		return NULL;	/* lockdep_set_novalidate_class(): not validated */
	if (!key) {
		/* A lock without a key (static initialiser) is its own class. */
		key = calloc(1, sizeof(*key));
		if (!key)
			return NULL;
		key->name = map->name;
		map->key = key;
	}
	if (sub < 0 || sub >= (int)MAX_LOCKDEP_SUBCLASSES)
		sub = 0;
	if (key->cls[sub])
		return key->cls[sub];
	if (nr_classes == MAX_CLASSES)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = nr_classes;
	c->subclass = sub;
	c->key = key;
	/* "name" or "name/sub", truncating the name so the suffix always fits. */
	snprintf(c->name, sizeof(c->name), "%.*s", sub ? (int)sizeof(c->name) - 3 : -1,
		 key->name ? key->name : map->name ? map->name : "?");
	if (sub)
		snprintf(c->name + strlen(c->name), 3, "/%d", sub);
	classes[nr_classes++] = c;
	key->cls[sub] = c;
	return c;
}

void pfl_lockdep_init_map(struct lockdep_map *map, const char *name,
			  struct lock_class_key *key, int kind)
{
	map->key = key;
	map->name = name;
	map->owner = NULL;
	map->kind = kind;
	map->subclass = 0;
	if (key && !key->name)
		key->name = name;
}

/* Forget a dynamic key's classes and every edge to or from them. */
void pfl_lockdep_unregister_key(struct lock_class_key *key)
{
	int i, j, s;

	pthread_mutex_lock(&graph_mu);
	for (s = 0; s < (int)MAX_LOCKDEP_SUBCLASSES; s++) {
		struct pfl_lock_class *c = key->cls[s];

		if (!c)
			continue;
		for (i = 0; i < nr_classes; i++) {
			struct pfl_lock_class *o = classes[i];

			if (!o)
				continue;
			for (j = 0; j < o->nr_deps; j++) {
				if (o->deps[j].to == c->id) {
					o->deps[j] = o->deps[--o->nr_deps];
					j--;
				}
			}
		}
		classes[c->id] = NULL;
		free(c->deps);
		free(c);
		key->cls[s] = NULL;
	}
	pthread_mutex_unlock(&graph_mu);
}

/* Breadth-first search from -> target; fills prev[] for the path. */
static bool reaches_locked(int from, int target, int *prev)
{
	int *queue = malloc(sizeof(int) * (size_t)nr_classes);
	char *seen = calloc((size_t)nr_classes, 1);
	int head = 0, tail = 0;
	bool found = false;

	if (!queue || !seen)
		goto out;
	queue[tail++] = from;
	seen[from] = 1;
	prev[from] = -1;
	while (head < tail && !found) {
		struct pfl_lock_class *c = classes[queue[head++]];
		int i;

		if (!c)
			continue;
		for (i = 0; i < c->nr_deps; i++) {
			int to = c->deps[i].to;

			if (seen[to])
				continue;
			seen[to] = 1;
			prev[to] = c->id;
			if (to == target) {
				found = true;
				break;
			}
			queue[tail++] = to;
		}
	}
out:
	free(queue);
	free(seen);
	return found;
}

static struct pfl_dep *find_dep_locked(struct pfl_lock_class *a, int to)
{
	int i;

	for (i = 0; i < a->nr_deps; i++)
		if (a->deps[i].to == to)
			return &a->deps[i];
	return NULL;
}

static void add_dep(struct pfl_lock_class *a, struct pfl_held_lock *ha,
		    struct pfl_lock_class *b, unsigned long ip, char *ctx)
{
	int *prev;
	struct pfl_dep *d;

	pthread_mutex_lock(&graph_mu);
	if (find_dep_locked(a, b->id))
		goto out;
	if (ha->ctx[0] == PY_SITE || (ctx && ctx[0] == PY_SITE)) {
		/* A new edge names both sites: format them (Python, so without
		 * graph_mu), then look again. */
		pthread_mutex_unlock(&graph_mu);
		resolve_ctx(ha->ctx);
		if (ctx)
			resolve_ctx(ctx);
		pthread_mutex_lock(&graph_mu);
		if (find_dep_locked(a, b->id))
			goto out;
	}
	prev = malloc(sizeof(int) * (size_t)nr_classes);
	if (prev && reaches_locked(b->id, a->id, prev)) {
		char buf[3072], s1[CTX_LEN + 32], s2[CTX_LEN + 32];
		size_t n = 0;
		int cur;

		site(s1, sizeof(s1), ha->ip, ha->ctx);
		site(s2, sizeof(s2), ip, ctx);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			"WARNING: possible circular locking dependency detected\n"
			"task %d is trying to acquire %s at %s\n"
			"while holding %s (taken at %s);\n"
			"but the reverse order is already known:\n",
			pfl_current()->pid, b->name, s2, a->name, s1);
		/* Walk the existing chain b -> ... -> a backwards from a. */
		for (cur = a->id; prev[cur] != -1 && n < sizeof(buf) - 1; cur = prev[cur]) {
			struct pfl_lock_class *from = classes[prev[cur]];
			struct pfl_dep *e = find_dep_locked(from, cur);

			site(s1, sizeof(s1), e->ip_from, e->ctx_from);
			site(s2, sizeof(s2), e->ip_to, e->ctx_to);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				"  task %d held %s (taken at %s) and then took %s at %s\n",
				e->tid, from->name, s1, classes[cur]->name, s2);
		}
		report_locked(PFL_LOCKDEP_INVERSION, "%s", buf);
		free(prev);
		goto out;
	}
	free(prev);
	if (a->nr_deps == a->cap_deps) {
		int cap = a->cap_deps ? a->cap_deps * 2 : 4;
		struct pfl_dep *nd = realloc(a->deps, sizeof(*nd) * (size_t)cap);

		if (!nd)
			goto out;
		a->deps = nd;
		a->cap_deps = cap;
	}
	d = &a->deps[a->nr_deps++];
	d->to = b->id;
	d->ip_from = ha->ip;
	d->ip_to = ip;
	d->tid = pfl_current()->pid;
	snprintf(d->ctx_from, sizeof(d->ctx_from), "%s", ha->ctx);
	snprintf(d->ctx_to, sizeof(d->ctx_to), "%s", ctx ? ctx : "");
out:
	pthread_mutex_unlock(&graph_mu);
}

static struct pfl_lock_class *class_of(struct lockdep_map *map, int sub)
{
	struct pfl_lock_class *c;

	pthread_mutex_lock(&graph_mu);
	c = class_of_locked(map, sub);
	pthread_mutex_unlock(&graph_mu);
	return c;
}

/* Before blocking on the lock: validate recursion and ordering. */
void pfl_lock_acquire(struct lockdep_map *map, int trylock, int sleeping, unsigned long ip)
{
	struct task_struct *t = pfl_current();
	struct pfl_lock_class *c;
	int i;

	if (map->owner == t && !trylock) {
		report(PFL_LOCKDEP_RECURSION,
		       "BUG: recursive locking: task %d already holds %s", t->pid,
		       map->name ? map->name : "?");
		pfl_bug(__FILE__, __LINE__, "recursive locking (certain deadlock)");
	}
	if (sleeping)
		pfl_might_sleep(__FILE__, __LINE__);
	if (!enabled || trylock)
		return;
	c = class_of(map, acquire_subclass(map));
	if (!c)
		return;
	for (i = 0; i < t->lockdep_depth; i++) {
		struct pfl_held_lock *h = &t->held_locks[i];
		struct pfl_lock_class *hc = class_of(h->map, h->subclass);

		if (!hc)
			continue;
		if (hc == c) {
			report(PFL_LOCKDEP_RECURSION,
			       "WARNING: possible recursive locking detected: task %d takes %s while holding another lock of the same class (use a subclass: spin_lock_nested/mutex_lock_nested)",
			       t->pid, c->name);
			continue;
		}
		add_dep(hc, h, c, ip, next_ctx);
	}
}

/* After the lock is taken: record the owner and the held-lock entry. */
void pfl_lock_acquired(struct lockdep_map *map)
{
	struct task_struct *t = pfl_current();

	map->owner = t;
	if (t->lockdep_depth < PFL_MAX_HELD_LOCKS) {
		struct pfl_held_lock *h = &t->held_locks[t->lockdep_depth++];

		h->map = map;
		h->ip = map->acquire_ip;
		h->subclass = acquire_subclass(map);
		copy_ctx(h->ctx, next_ctx);
	}
	next_ctx[0] = 0;
	next_subclass = 0;
}

/* Before unlocking: false if the task does not hold the lock (reported). */
int pfl_lock_release_check(struct lockdep_map *map, unsigned long ip)
{
	struct task_struct *t = pfl_current();
	int i;

	if (map->owner != t) {
		report(PFL_LOCKDEP_BAD_UNLOCK,
		       "WARNING: bad unlock balance: task %d releases %s, which it does not hold (owner %d)",
		       t->pid, map->name ? map->name : "?", map->owner ? map->owner->pid : 0);
		return 0;
	}
	for (i = t->lockdep_depth - 1; i >= 0; i--) {
		if (t->held_locks[i].map == map) {
			memmove(&t->held_locks[i], &t->held_locks[i + 1],
				sizeof(t->held_locks[0]) * (size_t)(t->lockdep_depth - i - 1));
			t->lockdep_depth--;
			break;
		}
	}
	map->owner = NULL;
	return 1;
}

void pfl_lock_release(struct lockdep_map *map, unsigned long ip)
{
	(void)pfl_lock_release_check(map, ip);
}

int pfl_lock_is_held(const struct lockdep_map *map)
{
	return map->owner == pfl_current();
}

void pfl_lockdep_assert_held(const struct lockdep_map *map, const char *file, int line)
{
	if (map->owner != pfl_current())
		pfl_warn(file, line, "lockdep_assert_held(): lock not held by this task");
}

void pfl_lockdep_assert_not_held(const struct lockdep_map *map, const char *file, int line)
{
	if (map->owner == pfl_current())
		pfl_warn(file, line, "lockdep_assert_not_held(): lock held by this task");
}

void pfl_might_sleep(const char *file, int line)
{
	struct task_struct *t = pfl_current();

	if (t->preempt_depth > 0 || t->rcu_read_depth > 0) {
		char held[256] = "";
		size_t n = 0;
		int i;

		resolve_ctx(next_ctx);
		for (i = 0; i < t->lockdep_depth && n < sizeof(held) - 1; i++)
			if (t->held_locks[i].map->kind == PFL_LOCK_SPIN)
				n += (size_t)snprintf(held + n, sizeof(held) - n, " %s",
						      t->held_locks[i].map->name ?
						      t->held_locks[i].map->name : "?");
		report(PFL_LOCKDEP_MIGHT_SLEEP,
		       "BUG: sleeping function called from invalid context at %s:%d%s%s%s\n"
		       "in_atomic(): %d, rcu_read_lock depth: %d, pid: %d, spinlocks held:%s",
		       file, line, next_ctx[0] ? " (acquiring at " : "", next_ctx,
		       next_ctx[0] ? ")" : "", t->preempt_depth > 0, t->rcu_read_depth, t->pid,
		       n ? held : " none");
	}
}

/* The task is exiting: locks still held are a bug. */
/*
 * "Task exits with locks held" (the kernel's debug_check_no_locks_held() in
 * do_exit()): report it for the calling task. The Python layer calls this
 * before it releases the guards of a thread that ends holding them.
 */
void pfl_lockdep_report_exit_held(void)
{
	struct task_struct *t = pfl_current();

	if (t->lockdep_depth)
		report(PFL_LOCKDEP_BAD_UNLOCK, "WARNING: task %d exits holding %d lock(s), first %s",
		       t->pid, t->lockdep_depth,
		       t->held_locks[0].map->name ? t->held_locks[0].map->name : "?");
}

/*
 * Thread exit (runs on the exiting thread, from the task destructor): report
 * the locks still held, then release them, so that the state stays
 * recoverable -- a pthread mutex can only be unlocked by its owner, which
 * is this thread, now or never -- and no lock keeps a pointer to this
 * task_struct as its owner after it is freed.
 */
void pfl_lockdep_task_exit(struct task_struct *t)
{
	if (!t->lockdep_depth)
		return;
	pfl_lockdep_report_exit_held();
	while (t->lockdep_depth > 0) {
		struct lockdep_map *map = t->held_locks[t->lockdep_depth - 1].map;

		if (map->owner != t) {	/* not ours after all: only forget the entry */
			t->lockdep_depth--;
			continue;
		}
		switch (map->kind) {
		case PFL_LOCK_SPIN:
			pfl_spin_unlock(container_of(map, spinlock_t, dep_map), _THIS_IP_);
			break;
		case PFL_LOCK_MUTEX:
			pfl_mutex_unlock(container_of(map, struct mutex, dep_map), _THIS_IP_);
			break;
		default:
			pfl_lock_release(map, _THIS_IP_);
			break;
		}
	}
}

int pfl_lockdep_depth(void)
{
	return pfl_current()->lockdep_depth;
}

int pfl_lockdep_nr_classes(void)
{
	return nr_classes;
}

/*
 * dma_fence signalling annotations (drivers/dma-buf/dma-fence.c under
 * CONFIG_LOCKDEP: dma_fence_begin_signalling(), dma_fence_end_signalling(),
 * __dma_fence_might_wait()), as real checks. One global map stands for
 * "a fence signalling critical section":
 *  - entering a section is a recursive read trylock of it: no edge from
 *    the locks already held, but every lock taken inside the section gets
 *    an edge map -> lock;
 *  - waiting for a fence acquires the map for write (validated, not held):
 *    every lock held around the wait gets an edge lock -> map.
 * A lock taken inside a signalling section and also held around a fence
 * wait closes the cycle and is reported as a circular dependency, as
 * lockdep does: the signaller could block on the lock the waiter holds.
 * The map is shared by every task (a read lock), so it is pushed on the
 * task's held-lock stack without an owner, and never goes through
 * pfl_lock_acquired()/pfl_lock_release_check().
 * Kernel C compiled without CONFIG_LOCKDEP keeps the header's no-op
 * inlines; csrc/helpers/dma_fence.c calls these around the same calls.
 */
static struct lock_class_key pfl_dma_fence_signal_key = { .name = "dma_fence_map" };
static struct lockdep_map pfl_dma_fence_signal_map = {
	.name = "dma_fence_map",
	.key = &pfl_dma_fence_signal_key,
	.kind = PFL_LOCK_OTHER,
};

static bool pfl_dma_fence_map_pop(struct task_struct *t)
{
	int i;

	for (i = t->lockdep_depth - 1; i >= 0; i--) {
		if (t->held_locks[i].map == &pfl_dma_fence_signal_map) {
			memmove(&t->held_locks[i], &t->held_locks[i + 1],
				sizeof(t->held_locks[0]) * (size_t)(t->lockdep_depth - i - 1));
			t->lockdep_depth--;
			return true;
		}
	}
	return false;
}

static void pfl_dma_fence_map_push(struct task_struct *t, unsigned long ip)
{
	struct pfl_held_lock *h;

	if (t->lockdep_depth >= PFL_MAX_HELD_LOCKS)
		return;
	h = &t->held_locks[t->lockdep_depth++];
	h->map = &pfl_dma_fence_signal_map;
	h->ip = ip;
	h->subclass = 0;
	copy_ctx(h->ctx, next_ctx);
}

/* true (nothing to end) in atomic context, as the kernel's. */
bool pfl_dma_fence_begin_signalling(void)
{
	struct task_struct *t = pfl_current();

	if (t->preempt_depth > 0 || !enabled)
		return true;
	pfl_dma_fence_map_push(t, _RET_IP_);
	return false;
}

void pfl_dma_fence_end_signalling(bool cookie)
{
	if (cookie)
		return;
	if (!pfl_dma_fence_map_pop(pfl_current()))
		report(PFL_LOCKDEP_BAD_UNLOCK,
		       "WARNING: bad unlock balance: task %d ends a dma_fence signalling section it did not begin",
		       pfl_current()->pid);
}

void pfl_dma_fence_might_wait(void)
{
	struct task_struct *t = pfl_current();
	bool held = pfl_dma_fence_map_pop(t);

	pfl_lock_acquire(&pfl_dma_fence_signal_map, 0, 0, _RET_IP_);
	if (held)
		pfl_dma_fence_map_push(t, _RET_IP_);
}
