// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: workqueues on the runtime's kthreads, for the kernel's
 * own include/linux/workqueue.h (read with its CONFIG_LOCKDEP layout).
 *
 * Kernel semantics kept:
 * - queue_work() sets WORK_STRUCT_PENDING first: a work already pending is
 *   not queued again (false). The pending bit is cleared when a worker
 *   starts the work, so a running work can be queued again (it then runs
 *   once more, after the current run, never concurrently with itself: a
 *   work is not re-entered, as in the kernel since 3.7).
 * - flush_work() waits for the queued instance and the running instance
 *   at the time of the call, not for later re-queues; flush_workqueue()
 *   waits for every work queued before it; cancel_work_sync() removes a
 *   pending instance and waits for a running one, holding PENDING meanwhile
 *   so that a work re-queueing itself cannot escape; destroy_workqueue()
 *   drains (works queued by the queue's own works are accepted while
 *   draining), then stops the workers.
 * - delayed works go through a struct timer_list (runtime/sched.c timers);
 *   delayed_work_timer_fn() queues them when the timer fires.
 * - Ordered queues (alloc_ordered_workqueue, max_active 1) run one work at
 *   a time in queueing order; other queues run up to min(max_active,
 *   PFL_WQ_MAX_WORKERS) works at once, one worker kthread each, created on
 *   demand. There are no CPUs: WQ_UNBOUND and per-CPU queues behave alike
 *   and the cpu argument of the *_on() calls is ignored.
 * - The lock validator sees works and workqueues as lockdep does: a worker
 *   holds the workqueue's lockdep_map, then the work's, while the work runs;
 *   flush_work()/cancel_work_sync() take the work's map and flushing an
 *   ordered queue takes the queue's, so flushing under a lock the work takes
 *   is reported as a circular dependency.
 *
 * Where the kernel would deadlock or leave a corrupt state, this WARNs and
 * returns instead (and the validator reports): flush_work() or
 * cancel_work_sync() of the work the calling worker is running, and
 * flush_workqueue()/drain_workqueue()/destroy_workqueue() from a work of
 * that same queue. Queueing to a queue being destroyed (not from one of its
 * own works) WARNs and returns false with PENDING cleared (the kernel leaves
 * PENDING set). Delayed works still waiting on their timer when their queue
 * is destroyed are cancelled with a WARN (the kernel would queue them on a
 * freed queue).
 *
 * Locking: one runtime mutex (wq_mu, a pthread mutex outside the validator)
 * protects every queue's lists; it is never held while a work runs. It may
 * be taken before the timer mutex (mod_timer/del_timer), never after.
 * C header: include/linux/workqueue.h; kernel/workqueue.c
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/kthread.h>
#include <linux/workqueue.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <pthread.h>
#include <stdarg.h>

#define PFL_WQ_MAX_WORKERS 4

void pfl_lockdep_unregister_key(struct lock_class_key *key);	/* runtime/lockdep.c */
#define WQ_NAME_LEN 32

struct pfl_worker;

/* One queued instance of a work: what the kernel's pwq plus flush colour
 * record, per instance (so flushes wait for exactly what was queued). */
struct pfl_wq_ticket {
	struct list_head node;		/* on wq_tickets, in queueing order */
	struct workqueue_struct *wq;
	struct work_struct *work;
	u64 seq;
} __attribute__((aligned(1 << WORK_STRUCT_PWQ_SHIFT)));

struct workqueue_struct {
	struct list_head list;		/* on all_wqs */
	char name[WQ_NAME_LEN];
	unsigned int flags;
	int max_active;
	struct list_head worklist;	/* pending works, in order */
	struct list_head workers;
	int nr_workers;
	int nr_idle;
	int stopping;			/* workers exit when idle */
	pthread_cond_t more_work;
	struct pfl_dwork_slot *delayed;	/* delayed works waiting on a timer */
	int nr_delayed, cap_delayed;
	struct lock_class_key key;	/* the queue's lockdep class */
	struct lockdep_map lockdep_map;
	struct lockdep_map *user_map;	/* alloc_workqueue_lockdep_map() */
};

struct pfl_dwork_slot {
	struct delayed_work *dwork;
};

struct pfl_worker {
	struct list_head node;		/* on wq->workers */
	struct workqueue_struct *wq;
	struct task_struct *task;
	struct list_head scheduled;	/* works that must run on this worker */
	struct work_struct *current_work;
	work_func_t current_func;
	struct pfl_wq_ticket *ticket;	/* of the running instance */
};

static pthread_mutex_t wq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_done = PTHREAD_COND_INITIALIZER;	/* a work finished */
static LIST_HEAD(all_wqs);
/* Aligned as a ticket: list_for_each_entry() forms container_of(head), a
 * ticket-typed pointer to the head, and UBSan checks its alignment. */
static struct list_head wq_tickets __attribute__((aligned(__alignof__(struct pfl_wq_ticket)))) =
	LIST_HEAD_INIT(wq_tickets);
static u64 wq_seq;
static __thread struct pfl_worker *this_worker;

struct workqueue_struct *system_wq;
struct workqueue_struct *system_percpu_wq;
struct workqueue_struct *system_highpri_wq;
struct workqueue_struct *system_long_wq;
struct workqueue_struct *system_unbound_wq;
struct workqueue_struct *system_dfl_wq;
struct workqueue_struct *system_freezable_wq;
struct workqueue_struct *system_power_efficient_wq;
struct workqueue_struct *system_freezable_power_efficient_wq;
struct workqueue_struct *system_bh_wq;
struct workqueue_struct *system_bh_highpri_wq;

static unsigned long *data_of(struct work_struct *work)
{
	return work_data_bits(work);
}

static struct pfl_wq_ticket *ticket_of(struct work_struct *work)
{
	unsigned long d = __atomic_load_n(data_of(work), __ATOMIC_ACQUIRE);

	if (!(d & WORK_STRUCT_PWQ))
		return NULL;
	return (struct pfl_wq_ticket *)(d & WORK_STRUCT_PWQ_MASK);
}

/* ---- lockdep annotations on copies of the maps (several tasks may "hold"
 * one work's or queue's class at once, and the work may be freed by its
 * function, as in the kernel's process_one_work()). ---- */
static void map_acquire(struct lockdep_map *m)
{
	if (!m->key)
		return;
	m->owner = NULL;
	m->acquire_ip = _THIS_IP_;
	pfl_lock_acquire(m, 0, 0, m->acquire_ip);
	pfl_lock_acquired(m);
}

static void map_release(struct lockdep_map *m)
{
	if (m->key)
		pfl_lock_release(m, _THIS_IP_);
}

/* A statically initialised work (DECLARE_WORK) has no key yet: give it one,
 * its own class, once. Called with wq_mu held. */
static void work_key_locked(struct work_struct *work)
{
	struct lock_class_key *key;

	if (likely(work->lockdep_map.key))
		return;
	key = calloc(1, sizeof(*key));
	if (!key)
		return;		/* not annotated: touch_map() skips keyless maps */
	key->name = work->lockdep_map.name ? work->lockdep_map.name : "(work_completion)";
	work->lockdep_map.key = key;
}

static void work_key(struct work_struct *work)
{
	pthread_mutex_lock(&wq_mu);
	work_key_locked(work);
	pthread_mutex_unlock(&wq_mu);
}

static void touch_map(const struct lockdep_map *m)
{
	struct lockdep_map copy = *m;

	map_acquire(&copy);
	map_release(&copy);
}

static struct lockdep_map *wq_map(struct workqueue_struct *wq)
{
	return wq->user_map ? wq->user_map : &wq->lockdep_map;
}

/* ---- workers ---- */
static struct pfl_worker *find_worker_executing(struct work_struct *work)
{
	struct workqueue_struct *wq;
	struct pfl_worker *w;

	list_for_each_entry(wq, &all_wqs, list)
		list_for_each_entry(w, &wq->workers, node)
			if (w->current_work == work && w->current_func == work->func)
				return w;
	return NULL;
}

static void process_one_work(struct pfl_worker *w, struct work_struct *work)
{
	struct workqueue_struct *wq = w->wq;
	struct pfl_wq_ticket *t = ticket_of(work);
	struct lockdep_map wmap, qmap;
	int depth, preempt;

	list_del_init(&work->entry);
	w->current_work = work;
	w->current_func = work->func;
	w->ticket = t;
	/* Off the queue, not pending: it may be queued again from now on. */
	__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL, __ATOMIC_RELEASE);
	wmap = work->lockdep_map;
	qmap = *wq_map(wq);
	pthread_mutex_unlock(&wq_mu);

	depth = pfl_current()->lockdep_depth;
	preempt = pfl_current()->preempt_depth;
	map_acquire(&qmap);
	map_acquire(&wmap);
	w->current_func(work);
	map_release(&wmap);
	map_release(&qmap);
	if (pfl_current()->lockdep_depth != depth || pfl_current()->preempt_depth != preempt ||
	    pfl_current()->rcu_read_depth) {
		pfl_printk("BUG: workqueue leaked lock or atomic: %s\n"
			   "     last function: %p, lock depth %d, preempt %d, rcu %d\n",
			   pfl_current()->comm, (void *)w->current_func,
			   pfl_current()->lockdep_depth - depth,
			   pfl_current()->preempt_depth - preempt, pfl_current()->rcu_read_depth);
		pfl_warn(__FILE__, __LINE__, "workqueue leaked lock or atomic");
	}

	pthread_mutex_lock(&wq_mu);
	w->current_work = NULL;
	w->current_func = NULL;
	w->ticket = NULL;
	if (t) {
		list_del(&t->node);
		free(t);
	}
	pthread_cond_broadcast(&wq_done);
}

static int worker_thread(void *arg)
{
	struct pfl_worker *w = arg;
	struct workqueue_struct *wq = w->wq;

	this_worker = w;
	pthread_mutex_lock(&wq_mu);
	for (;;) {
		struct work_struct *work;
		struct pfl_worker *other;

		if (!list_empty(&w->scheduled)) {
			work = list_first_entry(&w->scheduled, struct work_struct, entry);
			process_one_work(w, work);
			continue;
		}
		if (!list_empty(&wq->worklist)) {
			work = list_first_entry(&wq->worklist, struct work_struct, entry);
			other = find_worker_executing(work);
			if (other && other != w) {
				/* Not re-entered: the worker running it runs it next. */
				list_move_tail(&work->entry, &other->scheduled);
				continue;
			}
			process_one_work(w, work);
			continue;
		}
		if (wq->stopping)
			break;
		wq->nr_idle++;
		pthread_cond_wait(&wq->more_work, &wq_mu);
		wq->nr_idle--;
	}
	pthread_mutex_unlock(&wq_mu);
	this_worker = NULL;
	return 0;
}

/* Called with wq_mu held: make sure a worker will pick the new work. */
static void kick_worker(struct workqueue_struct *wq)
{
	struct pfl_worker *w;
	char comm[TASK_COMM_LEN];
	int limit = wq->max_active < PFL_WQ_MAX_WORKERS ? wq->max_active : PFL_WQ_MAX_WORKERS;

	if (wq->nr_idle || wq->nr_workers >= limit) {
		pthread_cond_signal(&wq->more_work);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto fail;
	INIT_LIST_HEAD(&w->scheduled);
	w->wq = wq;
	snprintf(comm, sizeof(comm), "kworker/%.7s", wq->name);
	w->task = pfl_kthread_create(worker_thread, w, comm);
	if (IS_ERR(w->task)) {
		free(w);
		goto fail;
	}
	list_add_tail(&w->node, &wq->workers);
	wq->nr_workers++;
	wake_up_process(w->task);
	return;
fail:
	/* An existing worker will get to it; with none, nothing can run it. */
	if (WARN_ON(!wq->nr_workers))
		pfl_printk("workqueue %s: cannot create a worker\n", wq->name);
	pthread_cond_signal(&wq->more_work);
}

/* ---- queueing ---- */
static bool is_chained_work(struct workqueue_struct *wq)
{
	return this_worker && this_worker->wq == wq;
}

/* Called with wq_mu held and PENDING owned by the caller. */
static bool insert_work_locked(struct workqueue_struct *wq, struct work_struct *work)
{
	struct pfl_wq_ticket *t;

	if (unlikely(wq->stopping || (wq->flags & (__WQ_DESTROYING | __WQ_DRAINING)))) {
		if (!(wq->flags & (__WQ_DESTROYING | __WQ_DRAINING)) || !is_chained_work(wq)) {
			pfl_printk("workqueue: cannot queue %p on wq %s\n", (void *)work->func, wq->name);
			pfl_warn(__FILE__, __LINE__, "queueing on a workqueue being destroyed");
			__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL, __ATOMIC_RELEASE);
			return false;
		}
	}
	work_key_locked(work);
	if (posix_memalign((void **)&t, __alignof__(*t), sizeof(*t)))
		pfl_bug(__FILE__, __LINE__, "out of memory for a workqueue ticket");
	t->wq = wq;
	t->work = work;
	t->seq = ++wq_seq;
	list_add_tail(&t->node, &wq_tickets);
	__atomic_store_n(data_of(work), (unsigned long)t | WORK_STRUCT_PWQ | WORK_STRUCT_PENDING,
			 __ATOMIC_RELEASE);
	list_add_tail(&work->entry, &wq->worklist);
	kick_worker(wq);
	return true;
}

static bool __queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	bool ret;

	pthread_mutex_lock(&wq_mu);
	ret = insert_work_locked(wq, work);
	pthread_mutex_unlock(&wq_mu);
	return ret;
}

static bool test_and_set_pending(struct work_struct *work)
{
	return __atomic_fetch_or(data_of(work), WORK_STRUCT_PENDING, __ATOMIC_ACQ_REL) &
	       WORK_STRUCT_PENDING;
}

/* disable_work() depth, kept in the off-queue data as the kernel does. */
static unsigned long offq_disable(unsigned long data)
{
	if (data & WORK_STRUCT_PWQ)
		return 0;
	return (data & WORK_OFFQ_DISABLE_MASK) >> WORK_OFFQ_DISABLE_SHIFT;
}

/* PENDING was just taken by a queueing call: give it back if disabled. */
static bool clear_pending_if_disabled(struct work_struct *work)
{
	unsigned long data = __atomic_load_n(data_of(work), __ATOMIC_ACQUIRE);

	if (likely(!offq_disable(data)))
		return false;
	__atomic_and_fetch(data_of(work), ~(unsigned long)WORK_STRUCT_PENDING, __ATOMIC_RELEASE);
	return true;
}

bool queue_work_on(int cpu, struct workqueue_struct *wq, struct work_struct *work)
{
	if (test_and_set_pending(work) || clear_pending_if_disabled(work))
		return false;
	return __queue_work(wq, work);
}

bool queue_work_node(int node, struct workqueue_struct *wq, struct work_struct *work)
{
	return queue_work_on(WORK_CPU_UNBOUND, wq, work);
}

static void delayed_add_locked(struct workqueue_struct *wq, struct delayed_work *dwork)
{
	if (wq->nr_delayed == wq->cap_delayed) {
		int cap = wq->cap_delayed ? wq->cap_delayed * 2 : 8;
		struct pfl_dwork_slot *n = realloc(wq->delayed, sizeof(*n) * (size_t)cap);

		if (!n)
			pfl_bug(__FILE__, __LINE__, "out of memory for a delayed work slot");
		wq->delayed = n;
		wq->cap_delayed = cap;
	}
	wq->delayed[wq->nr_delayed++].dwork = dwork;
}

static void delayed_del_locked(struct workqueue_struct *wq, struct delayed_work *dwork)
{
	int i;

	for (i = 0; i < wq->nr_delayed; i++) {
		if (wq->delayed[i].dwork == dwork) {
			wq->delayed[i] = wq->delayed[--wq->nr_delayed];
			return;
		}
	}
}

void delayed_work_timer_fn(struct timer_list *t)
{
	struct delayed_work *dwork = from_timer(dwork, t, timer);

	pthread_mutex_lock(&wq_mu);
	delayed_del_locked(dwork->wq, dwork);
	insert_work_locked(dwork->wq, &dwork->work);
	pthread_mutex_unlock(&wq_mu);
}

/* Called with wq_mu held and PENDING owned by the caller. */
static bool queue_delayed_locked(struct workqueue_struct *wq, struct delayed_work *dwork,
				 unsigned long delay)
{
	if (!delay)
		return insert_work_locked(wq, &dwork->work);
	if (wq->flags & (__WQ_DESTROYING | __WQ_DRAINING) || wq->stopping)
		return insert_work_locked(wq, &dwork->work);	/* refused, WARNs */
	if (dwork->timer.function != delayed_work_timer_fn)
		timer_setup(&dwork->timer, delayed_work_timer_fn, TIMER_IRQSAFE);
	dwork->wq = wq;
	dwork->cpu = WORK_CPU_UNBOUND;
	delayed_add_locked(wq, dwork);
	mod_timer(&dwork->timer, jiffies + delay);
	return true;
}

bool queue_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			   unsigned long delay)
{
	bool ret;

	if (test_and_set_pending(&dwork->work) || clear_pending_if_disabled(&dwork->work))
		return false;
	pthread_mutex_lock(&wq_mu);
	ret = queue_delayed_locked(wq, dwork, delay);
	pthread_mutex_unlock(&wq_mu);
	return ret;
}

/*
 * Take PENDING away from wherever the work is (its timer, a worklist or a
 * worker's scheduled list). Returns 1 if it was pending there (the caller
 * now owns PENDING), 0 if it was idle (the caller now owns PENDING too),
 * -EAGAIN if a timer callback is between its timer and the queue (retry).
 * Called with wq_mu held.
 */
static int try_to_grab_pending_locked(struct work_struct *work, bool is_dwork)
{
	struct pfl_wq_ticket *t;

	if (!test_and_set_pending(work))
		return 0;
	if (is_dwork) {
		struct delayed_work *dwork = to_delayed_work(work);

		if (dwork->wq && del_timer(&dwork->timer)) {
			delayed_del_locked(dwork->wq, dwork);
			return 1;
		}
	}
	t = ticket_of(work);
	if (t) {
		list_del_init(&work->entry);
		list_del(&t->node);
		free(t);
		__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL | WORK_STRUCT_PENDING,
				 __ATOMIC_RELEASE);
		pthread_cond_broadcast(&wq_done);
		return 1;
	}
	return -EAGAIN;
}

static int grab_pending(struct work_struct *work, bool is_dwork)
{
	int ret;

	for (;;) {
		pthread_mutex_lock(&wq_mu);
		ret = try_to_grab_pending_locked(work, is_dwork);
		pthread_mutex_unlock(&wq_mu);
		if (ret != -EAGAIN)
			return ret;
		sched_yield();
	}
}

/* Give back the PENDING the caller owns (the work is off any queue),
 * keeping a disable depth. */
static void clear_pending(struct work_struct *work)
{
	unsigned long d = __atomic_load_n(data_of(work), __ATOMIC_ACQUIRE);

	__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL | (d & WORK_OFFQ_DISABLE_MASK),
			 __ATOMIC_RELEASE);
}

bool mod_delayed_work_on(int cpu, struct workqueue_struct *wq, struct delayed_work *dwork,
			 unsigned long delay)
{
	int ret;
	bool queued;

	for (;;) {
		pthread_mutex_lock(&wq_mu);
		ret = try_to_grab_pending_locked(&dwork->work, true);
		if (ret != -EAGAIN)
			break;
		pthread_mutex_unlock(&wq_mu);
		sched_yield();
	}
	if (offq_disable(*data_of(&dwork->work))) {
		/* Disabled: grabbing took nothing to requeue. */
		__atomic_and_fetch(data_of(&dwork->work), ~(unsigned long)WORK_STRUCT_PENDING,
				   __ATOMIC_RELEASE);
		pthread_mutex_unlock(&wq_mu);
		return false;
	}
	queued = queue_delayed_locked(wq, dwork, delay);
	pthread_mutex_unlock(&wq_mu);
	return ret == 1 && queued;
}

/* ---- flushing and cancelling ---- */
static bool ticket_live_locked(u64 seq)
{
	struct pfl_wq_ticket *t;

	list_for_each_entry(t, &wq_tickets, node)
		if (t->seq == seq)
			return true;
	return false;
}

struct work_struct *current_work(void)
{
	return this_worker ? this_worker->current_work : NULL;
}

/* The queue whose work the calling worker runs (NULL off a worker). */
struct workqueue_struct *pfl_current_work_queue(void)
{
	return this_worker ? this_worker->wq : NULL;
}

bool current_is_workqueue_rescuer(void)
{
	return false;
}

static bool flush_self(struct work_struct *work, const char *what)
{
	if (!this_worker || this_worker->current_work != work)
		return false;
	pfl_printk("BUG: %s() of work %p from inside itself: it would wait for itself forever\n",
		   what, (void *)work->func);
	pfl_warn(__FILE__, __LINE__, "workqueue: a work waiting for itself");
	return true;
}

static bool __flush_work(struct work_struct *work, bool from_cancel)
{
	struct pfl_wq_ticket *t;
	struct pfl_worker *w;
	u64 queued = 0, running = 0;
	struct workqueue_struct *wq = NULL;

	if (WARN_ON(!work->func))
		return false;
	work_key(work);
	touch_map(&work->lockdep_map);
	if (flush_self(work, from_cancel ? "cancel_work_sync" : "flush_work"))
		return false;

	pthread_mutex_lock(&wq_mu);
	t = ticket_of(work);
	if (t) {
		queued = t->seq;
		wq = t->wq;
	}
	w = find_worker_executing(work);
	if (w && w->ticket) {
		running = w->ticket->seq;
		wq = w->wq;
	}
	pthread_mutex_unlock(&wq_mu);
	if (!queued && !running)
		return false;
	/* As the kernel forces a lock recursion report for ordered queues. */
	if (!from_cancel && wq && wq->max_active == 1)
		touch_map(wq_map(wq));
	might_sleep();
	pthread_mutex_lock(&wq_mu);
	while ((queued && ticket_live_locked(queued)) || (running && ticket_live_locked(running)))
		pthread_cond_wait(&wq_done, &wq_mu);
	pthread_mutex_unlock(&wq_mu);
	return true;
}

bool flush_work(struct work_struct *work)
{
	return __flush_work(work, false);
}

bool flush_delayed_work(struct delayed_work *dwork)
{
	pthread_mutex_lock(&wq_mu);
	if (dwork->wq && del_timer(&dwork->timer)) {
		delayed_del_locked(dwork->wq, dwork);
		insert_work_locked(dwork->wq, &dwork->work);
	}
	pthread_mutex_unlock(&wq_mu);
	return flush_work(&dwork->work);
}

bool cancel_work(struct work_struct *work)
{
	int ret = grab_pending(work, false);

	clear_pending(work);
	return ret == 1;
}

bool cancel_delayed_work(struct delayed_work *dwork)
{
	int ret = grab_pending(&dwork->work, true);

	clear_pending(&dwork->work);
	return ret == 1;
}

static bool __cancel_work_sync(struct work_struct *work, bool is_dwork)
{
	int ret;

	if (flush_self(work, "cancel_work_sync")) {
		/* Still cancel the pending instance; do not wait for ourselves. */
		ret = grab_pending(work, is_dwork);
		clear_pending(work);
		return ret == 1;
	}
	ret = grab_pending(work, is_dwork);
	/* PENDING is ours: a running instance cannot queue the work again. */
	__flush_work(work, true);
	clear_pending(work);
	return ret == 1;
}

bool cancel_work_sync(struct work_struct *work)
{
	return __cancel_work_sync(work, false);
}

bool cancel_delayed_work_sync(struct delayed_work *dwork)
{
	return __cancel_work_sync(&dwork->work, true);
}

/* disable_work() and friends: while the depth is non-zero, queueing fails. */
static bool __disable_work(struct work_struct *work, bool is_dwork)
{
	int ret = grab_pending(work, is_dwork);	/* PENDING is ours */
	unsigned long d, depth;

	pthread_mutex_lock(&wq_mu);
	d = __atomic_load_n(data_of(work), __ATOMIC_ACQUIRE);
	depth = offq_disable(d);
	if (WARN_ON_ONCE(depth >= (1UL << WORK_OFFQ_DISABLE_BITS) - 1))
		depth--;
	__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL | ((depth + 1) << WORK_OFFQ_DISABLE_SHIFT),
			 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&wq_mu);
	return ret == 1;
}

bool disable_work(struct work_struct *work)
{
	return __disable_work(work, false);
}

bool disable_work_sync(struct work_struct *work)
{
	bool ret = __disable_work(work, false);

	if (!flush_self(work, "disable_work_sync"))
		__flush_work(work, true);
	return ret;
}

bool disable_delayed_work(struct delayed_work *dwork)
{
	return __disable_work(&dwork->work, true);
}

bool disable_delayed_work_sync(struct delayed_work *dwork)
{
	bool ret = __disable_work(&dwork->work, true);

	if (!flush_self(&dwork->work, "disable_delayed_work_sync"))
		__flush_work(&dwork->work, true);
	return ret;
}

bool enable_work(struct work_struct *work)
{
	unsigned long d, depth;

	pthread_mutex_lock(&wq_mu);
	d = __atomic_load_n(data_of(work), __ATOMIC_ACQUIRE);
	depth = offq_disable(d);
	if (!WARN_ON_ONCE(!depth))
		depth--;
	__atomic_store_n(data_of(work), WORK_STRUCT_NO_POOL | (depth << WORK_OFFQ_DISABLE_SHIFT),
			 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&wq_mu);
	return !depth;
}

bool enable_delayed_work(struct delayed_work *dwork)
{
	return enable_work(&dwork->work);
}

/* rcu_work: queued once a grace period has passed. */
static void rcu_work_rcufn(struct rcu_head *rcu)
{
	struct rcu_work *rwork = container_of(rcu, struct rcu_work, rcu);

	/* PENDING is held since queue_rcu_work(). */
	__queue_work(rwork->wq, &rwork->work);
}

bool queue_rcu_work(struct workqueue_struct *wq, struct rcu_work *rwork)
{
	struct work_struct *work = &rwork->work;

	if (test_and_set_pending(work) || clear_pending_if_disabled(work))
		return false;
	rwork->wq = wq;
	call_rcu(&rwork->rcu, rcu_work_rcufn);
	return true;
}

bool flush_rcu_work(struct rcu_work *rwork)
{
	if (*data_of(&rwork->work) & WORK_STRUCT_PENDING) {
		rcu_barrier();
		flush_work(&rwork->work);
		return true;
	}
	return flush_work(&rwork->work);
}

/* Always in process context here: run it now (kernel/workqueue.c). */
int execute_in_process_context(work_func_t fn, struct execute_work *ew)
{
	fn(&ew->work);
	return 0;
}

void set_worker_desc(const char *fmt, ...)
{
}

unsigned int work_busy(struct work_struct *work)
{
	unsigned int ret = 0;

	pthread_mutex_lock(&wq_mu);
	if (*data_of(work) & WORK_STRUCT_PENDING)
		ret |= WORK_BUSY_PENDING;
	if (find_worker_executing(work))
		ret |= WORK_BUSY_RUNNING;
	pthread_mutex_unlock(&wq_mu);
	return ret;
}

static bool wq_self(struct workqueue_struct *wq, const char *what)
{
	if (!is_chained_work(wq))
		return false;
	pfl_printk("BUG: %s() of workqueue %s from one of its own works: it would wait for itself forever\n",
		   what, wq->name);
	pfl_warn(__FILE__, __LINE__, "workqueue: a work waiting for its own queue");
	return true;
}

void __flush_workqueue(struct workqueue_struct *wq)
{
	struct pfl_wq_ticket *t;
	u64 target;
	bool busy;

	touch_map(wq_map(wq));
	if (wq_self(wq, "flush_workqueue"))
		return;
	might_sleep();
	pthread_mutex_lock(&wq_mu);
	target = wq_seq;
	for (;;) {
		busy = false;
		list_for_each_entry(t, &wq_tickets, node) {
			if (t->seq > target)
				break;
			if (t->wq == wq) {
				busy = true;
				break;
			}
		}
		if (!busy)
			break;
		pthread_cond_wait(&wq_done, &wq_mu);
	}
	pthread_mutex_unlock(&wq_mu);
}

void __warn_flushing_systemwide_wq(void)
{
}

static bool wq_busy_locked(struct workqueue_struct *wq)
{
	struct pfl_wq_ticket *t;

	list_for_each_entry(t, &wq_tickets, node)
		if (t->wq == wq)
			return true;
	return false;
}

void drain_workqueue(struct workqueue_struct *wq)
{
	touch_map(wq_map(wq));
	if (wq_self(wq, "drain_workqueue"))
		return;
	might_sleep();
	pthread_mutex_lock(&wq_mu);
	wq->flags |= __WQ_DRAINING;
	while (wq_busy_locked(wq))
		pthread_cond_wait(&wq_done, &wq_mu);
	wq->flags &= ~__WQ_DRAINING;
	pthread_mutex_unlock(&wq_mu);
}

/* ---- creating and destroying ---- */
static struct workqueue_struct *__alloc_workqueue(const char *fmt, unsigned int flags,
						  int max_active, struct lockdep_map *map,
						  va_list args)
{
	struct workqueue_struct *wq = calloc(1, sizeof(*wq));

	if (!wq || pfl_should_fail_alloc(GFP_KERNEL)) {
		free(wq);
		return NULL;
	}
	vsnprintf(wq->name, sizeof(wq->name), fmt, args);
	if (max_active <= 0)
		max_active = WQ_DFL_ACTIVE;
	if (max_active > WQ_MAX_ACTIVE)
		max_active = WQ_MAX_ACTIVE;
	wq->flags = flags;
	wq->max_active = (flags & __WQ_ORDERED) ? 1 : max_active;
	INIT_LIST_HEAD(&wq->worklist);
	INIT_LIST_HEAD(&wq->workers);
	pthread_cond_init(&wq->more_work, NULL);
	wq->user_map = map;
	/* A dynamic class per queue, named after it (kernel: wq_init_lockdep). */
	pfl_lockdep_init_map(&wq->lockdep_map, wq->name, &wq->key, PFL_LOCK_OTHER);
	pthread_mutex_lock(&wq_mu);
	list_add_tail(&wq->list, &all_wqs);
	pthread_mutex_unlock(&wq_mu);
	return wq;
}

struct workqueue_struct *alloc_workqueue(const char *fmt, unsigned int flags, int max_active, ...)
{
	struct workqueue_struct *wq;
	va_list args;

	va_start(args, max_active);
	wq = __alloc_workqueue(fmt, flags, max_active, NULL, args);
	va_end(args);
	return wq;
}

struct workqueue_struct *alloc_workqueue_lockdep_map(const char *fmt, unsigned int flags,
						     int max_active, struct lockdep_map *lockdep_map,
						     ...)
{
	struct workqueue_struct *wq;
	va_list args;

	va_start(args, lockdep_map);
	wq = __alloc_workqueue(fmt, flags, max_active, lockdep_map, args);
	va_end(args);
	return wq;
}

void destroy_workqueue(struct workqueue_struct *wq)
{
	struct pfl_worker *w, *n;

	if (!wq)
		return;
	if (wq_self(wq, "destroy_workqueue"))
		return;
	/* Delayed works still on their timer: cancelled, with a WARN. */
	pthread_mutex_lock(&wq_mu);
	wq->flags |= __WQ_DESTROYING;
	while (wq->nr_delayed) {
		struct delayed_work *dwork = wq->delayed[0].dwork;

		if (del_timer(&dwork->timer)) {
			delayed_del_locked(wq, dwork);
			clear_pending(&dwork->work);
			pfl_printk("destroy_workqueue: %s: delayed work %p still pending, cancelled\n",
				   wq->name, (void *)dwork->work.func);
			pfl_warn(__FILE__, __LINE__, "destroy_workqueue() with a delayed work pending");
		} else {
			/* Its timer is firing: let it queue (it may, draining). */
			wq->flags &= ~__WQ_DESTROYING;
			pthread_mutex_unlock(&wq_mu);
			sched_yield();
			pthread_mutex_lock(&wq_mu);
			wq->flags |= __WQ_DESTROYING;
		}
	}
	pthread_mutex_unlock(&wq_mu);
	touch_map(wq_map(wq));
	might_sleep();
	pthread_mutex_lock(&wq_mu);
	while (wq_busy_locked(wq))
		pthread_cond_wait(&wq_done, &wq_mu);
	wq->stopping = 1;
	pthread_cond_broadcast(&wq->more_work);
	list_del(&wq->list);
	pthread_mutex_unlock(&wq_mu);

	list_for_each_entry_safe(w, n, &wq->workers, node) {
		kthread_stop(w->task);
		list_del(&w->node);
		free(w);
	}
	pthread_cond_destroy(&wq->more_work);
	pfl_lockdep_unregister_key(&wq->key);
	free(wq->delayed);
	free(wq);
}

void workqueue_set_max_active(struct workqueue_struct *wq, int max_active)
{
	pthread_mutex_lock(&wq_mu);
	if (!(wq->flags & __WQ_ORDERED) && max_active > 0)
		wq->max_active = max_active > WQ_MAX_ACTIVE ? WQ_MAX_ACTIVE : max_active;
	pthread_mutex_unlock(&wq_mu);
}

bool workqueue_congested(int cpu, struct workqueue_struct *wq)
{
	bool ret;

	pthread_mutex_lock(&wq_mu);
	ret = !list_empty(&wq->worklist);
	pthread_mutex_unlock(&wq_mu);
	return ret;
}

/* The system workqueues, created at boot (kernel: workqueue_init_early). */
void pfl_workqueue_init(void)
{
	system_wq = alloc_workqueue("events", 0, 0);
	system_percpu_wq = system_wq;
	system_highpri_wq = alloc_workqueue("events_highpri", WQ_HIGHPRI, 0);
	system_long_wq = alloc_workqueue("events_long", 0, 0);
	system_unbound_wq = alloc_workqueue("events_unbound", WQ_UNBOUND, WQ_MAX_ACTIVE);
	system_dfl_wq = system_unbound_wq;
	system_freezable_wq = alloc_workqueue("events_freezable", WQ_FREEZABLE, 0);
	system_power_efficient_wq = alloc_workqueue("events_power_efficient",
						    WQ_POWER_EFFICIENT, 0);
	system_freezable_power_efficient_wq = alloc_workqueue("events_freezable_pwr_efficient",
							      WQ_FREEZABLE | WQ_POWER_EFFICIENT, 0);
	system_bh_wq = alloc_workqueue("events_bh", 0, 0);
	system_bh_highpri_wq = alloc_workqueue("events_bh_highpri", WQ_HIGHPRI, 0);
	if (!system_wq || !system_highpri_wq || !system_long_wq || !system_unbound_wq ||
	    !system_freezable_wq || !system_power_efficient_wq ||
	    !system_freezable_power_efficient_wq || !system_bh_wq || !system_bh_highpri_wq)
		pfl_bug(__FILE__, __LINE__, "cannot create the system workqueues");
}
