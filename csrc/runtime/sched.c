// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: tasks, sleeping and waking, kthreads, timers,
 * wait queues and time.
 *
 * A task_struct is created for each thread the first time it enters C
 * (pfl_current()), and put when the thread exits. schedule_timeout()
 * sleeps on the task's condition variable until wake_up_state() makes it
 * TASK_RUNNING, a signal arrives for an interruptible sleep, or the
 * timeout passes; the state is re-checked under the task's lock, so the
 * kernel's set_current_state()-then-test protocol loses no wake-up.
 * jiffies are milliseconds of CLOCK_MONOTONIC (HZ = 1000).
 * C header: include/linux/sched.h, include/linux/wait.h, include/linux/timer.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/random.h>
#include <linux/ktime.h>
#include <linux/hrtimer.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>

void pfl_rcu_unregister_thread(struct task_struct *t);
void pfl_lockdep_task_exit(struct task_struct *t);

static __thread struct task_struct *cur;
static pthread_key_t task_key;
static pthread_once_t task_key_once = PTHREAD_ONCE_INIT;
static atomic_t nr_tasks = ATOMIC_INIT(0);

static void task_free(struct task_struct *t)
{
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->pi_mu);
	atomic_dec(&nr_tasks);
	free(t);
}

void get_task_struct_fn(struct task_struct *t)
{
	refcount_inc(&t->usage);
}

void put_task_struct(struct task_struct *t)
{
	if (refcount_dec_and_test(&t->usage))
		task_free(t);
}

/* cpuhp teardown callbacks: per-CPU (here per-thread) caches to free. */
#define MAX_CPUHP 8
static int (*cpuhp_teardown[MAX_CPUHP])(unsigned int cpu);
static int nr_cpuhp;

int pfl_cpuhp_setup(int (*teardown)(unsigned int cpu))
{
	if (teardown && nr_cpuhp < MAX_CPUHP)
		cpuhp_teardown[nr_cpuhp++] = teardown;
	return 0;
}

/* "This CPU goes offline": free the calling thread's per-CPU caches. */
void pfl_percpu_drain_current(void)
{
	int i;

	for (i = 0; i < nr_cpuhp; i++)
		cpuhp_teardown[i](0);
}

/* Thread exit: free per-CPU caches, leave RCU, drop the thread's reference. */
static void task_exit(void *arg)
{
	struct task_struct *t = arg;

	/* pfl_current() may be called by the unregister paths: keep cur. */
	cur = t;
	pfl_percpu_drain_current();
	pfl_lockdep_task_exit(t);
	pfl_rcu_unregister_thread(t);
	cur = NULL;
	put_task_struct(t);
}

static void task_key_init(void)
{
	pthread_key_create(&task_key, task_exit);
}

static struct task_struct *task_alloc(void)
{
	struct task_struct *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	if (!t) {
		pfl_printk("pyforlinux: out of memory for a task_struct\n");
		abort();
	}
	refcount_set(&t->usage, 1);
	pthread_mutex_init(&t->pi_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	t->tgid = getpid();
	atomic_inc(&nr_tasks);
	return t;
}

static void task_attach(struct task_struct *t)
{
	pthread_once(&task_key_once, task_key_init);
	t->thread = pthread_self();
	t->pid = (int)syscall(SYS_gettid);
	if (!t->comm[0])
		pthread_getname_np(pthread_self(), t->comm, sizeof(t->comm));
	cur = t;
	pthread_setspecific(task_key, t);
}

struct task_struct *pfl_current(void)
{
	if (likely(cur))
		return cur;
	task_attach(task_alloc());
	return cur;
}

int pfl_nr_tasks(void)
{
	return atomic_read(&nr_tasks);
}

/* ---- time ---- */
long long pfl_ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long pfl_ktime_get_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

unsigned long pfl_jiffies(void)
{
	return (unsigned long)(pfl_ktime_get_ns() / 1000000LL);
}

static void deadline_ts(long long ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

/* ---- sleeping and waking ---- */
long pfl_schedule_timeout(long timeout)
{
	struct task_struct *t = pfl_current();
	long long deadline = 0;
	struct timespec ts;
	long ret;

	if (timeout < 0) {
		pfl_printk("schedule_timeout: wrong timeout value %lx\n", timeout);
		__set_current_state(TASK_RUNNING);
		return 0;
	}
	if (t->__state != TASK_RUNNING)
		pfl_might_sleep(__FILE__, __LINE__);
	if (timeout != MAX_SCHEDULE_TIMEOUT)
		deadline = pfl_ktime_get_ns() + (long long)timeout * 1000000LL;
	deadline_ts(deadline, &ts);

	pthread_mutex_lock(&t->pi_mu);
	while (t->__state != TASK_RUNNING) {
		if (signal_pending_state(t->__state, t))
			break;
		if (timeout == MAX_SCHEDULE_TIMEOUT) {
			pthread_cond_wait(&t->wake, &t->pi_mu);
		} else if (pthread_cond_timedwait(&t->wake, &t->pi_mu, &ts) == ETIMEDOUT) {
			break;
		}
	}
	t->__state = TASK_RUNNING;
	pthread_mutex_unlock(&t->pi_mu);

	if (timeout == MAX_SCHEDULE_TIMEOUT)
		return MAX_SCHEDULE_TIMEOUT;
	ret = (long)((deadline - pfl_ktime_get_ns() + 999999LL) / 1000000LL);
	return ret > 0 ? ret : 0;
}

int pfl_wake_up_state(struct task_struct *p, unsigned int state)
{
	int woken = 0;

	pthread_mutex_lock(&p->pi_mu);
	if (p->__state & state) {
		p->__state = TASK_RUNNING;
		pthread_cond_broadcast(&p->wake);
		woken = 1;
	}
	pthread_mutex_unlock(&p->pi_mu);
	return woken;
}

/* Deliver a "signal": signal_pending() becomes true and an interruptible
 * sleep ends, as when a real signal is sent to the thread. */
int pfl_task_signal(struct task_struct *p)
{
	atomic_set(&p->sigpending, 1);
	return pfl_wake_up_state(p, TASK_INTERRUPTIBLE | TASK_WAKEKILL);
}

/* set_current_state() for callers that cannot use the macro (Python). */
void pfl_set_current_state(unsigned int state)
{
	set_current_state(state);
}

void pfl_task_clear_signal(struct task_struct *p)
{
	atomic_set(&p->sigpending, 0);
}

void pfl_yield(void)
{
	sched_yield();
}

void msleep(unsigned int msecs)
{
	unsigned long timeout = msecs_to_jiffies(msecs) + 1;

	while (timeout)
		timeout = schedule_timeout_uninterruptible(timeout);
}

unsigned long msleep_interruptible(unsigned int msecs)
{
	unsigned long timeout = msecs_to_jiffies(msecs) + 1;

	while (timeout && !signal_pending(current))
		timeout = schedule_timeout_interruptible(timeout);
	return jiffies_to_msecs(timeout);
}

void pfl_udelay(unsigned long usecs)
{
	struct timespec ts = { (time_t)(usecs / 1000000), (long)(usecs % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

void pfl_preempt_disable(void)
{
	pfl_current()->preempt_depth++;
}

void pfl_preempt_enable(void)
{
	struct task_struct *t = pfl_current();

	if (WARN_ON(t->preempt_depth <= 0))
		return;
	t->preempt_depth--;
}

/* ---- kthreads ---- */
static void *kthread_main(void *arg)
{
	struct task_struct *t = arg;

	task_attach(t);
	/* Created stopped, as in the kernel: run once woken. */
	schedule();
	if (!atomic_read(&t->should_stop))
		t->kthread_ret = t->kthread_fn(t->kthread_data);
	else
		t->kthread_ret = -EINTR;
	WRITE_ONCE(t->kthread_exited, 1);
	return NULL;	/* task_exit() drops the thread's reference */
}

struct task_struct *pfl_kthread_create(int (*fn)(void *), void *data, const char *name)
{
	struct task_struct *t = task_alloc();
	pthread_attr_t attr;

	t->kthread_fn = fn;
	t->kthread_data = data;
	t->__state = TASK_UNINTERRUPTIBLE;
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	get_task_struct_fn(t);	/* the creator's reference, put by kthread_stop() */
	pthread_attr_init(&attr);
	if (pthread_create(&t->thread, &attr, kthread_main, t)) {
		pthread_attr_destroy(&attr);
		task_free(t);
		return ERR_PTR(-ENOMEM);
	}
	pthread_attr_destroy(&attr);
	return t;
}

int kthread_stop(struct task_struct *k)
{
	int ret;

	atomic_set(&k->should_stop, 1);
	wake_up_process(k);
	pthread_join(k->thread, NULL);
	ret = k->kthread_ret;
	put_task_struct(k);
	return ret;
}

int kthread_stop_put(struct task_struct *k)
{
	int ret = kthread_stop(k);

	put_task_struct(k);
	return ret;
}

bool kthread_should_stop(void)
{
	return atomic_read(&current->should_stop) != 0;
}

/* ---- timers: one runtime thread fires them ---- */
static pthread_mutex_t timer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static pthread_cond_t timer_done;
static LIST_HEAD(timer_list_head);
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;

static LIST_HEAD(irq_work_list);
static int irq_work_running;
static LIST_HEAD(hrtimer_list_head);

/* Called with timer_mu held: run an expired hrtimer's callback unlocked. */
static void run_hrtimer(struct hrtimer *h)
{
	enum hrtimer_restart r;

	list_del_init(&h->node);
	h->state = HRTIMER_STATE_INACTIVE;
	h->running = 1;
	h->running_task = pfl_current();
	pthread_mutex_unlock(&timer_mu);
	r = h->function(h);
	pthread_mutex_lock(&timer_mu);
	/* A callback may re-arm with hrtimer_start() or by returning RESTART. */
	if (r != HRTIMER_NORESTART && !(h->state & HRTIMER_STATE_ENQUEUED)) {
		h->mono_expires = h->_softexpires - pfl_hrtimer_clock_now(h->clockid) +
				  pfl_ktime_get_ns();
		h->state = HRTIMER_STATE_ENQUEUED;
		list_add_tail(&h->node, &hrtimer_list_head);
	}
	h->running = 0;
	h->running_task = NULL;
	pthread_cond_broadcast(&timer_done);
}

static void *timer_thread(void *unused)
{
	pthread_setname_np(pthread_self(), "pfl-timers");
	pthread_mutex_lock(&timer_mu);
	for (;;) {
		struct timer_list *t, *first = NULL;
		struct hrtimer *h, *hr;
		unsigned long now = jiffies;

		if (!list_empty(&irq_work_list)) {
			struct irq_work *w = list_first_entry(&irq_work_list, struct irq_work, node);

			list_del_init(&w->node);
			w->pending = 0;
			irq_work_running++;
			pthread_mutex_unlock(&timer_mu);
			w->func(w);
			pthread_mutex_lock(&timer_mu);
			irq_work_running--;
			pthread_cond_broadcast(&timer_done);
			continue;
		}

		list_for_each_entry(t, &timer_list_head, entry)
			if (!first || time_before(t->expires, first->expires))
				first = t;
		hr = NULL;
		list_for_each_entry(h, &hrtimer_list_head, node)
			if (!hr || h->mono_expires < hr->mono_expires)
				hr = h;
		if (hr && hr->mono_expires <= pfl_ktime_get_ns()) {
			run_hrtimer(hr);
			continue;
		}
		if (!first && !hr) {
			pthread_cond_wait(&timer_cond, &timer_mu);
			continue;
		}
		if (!first || time_after(first->expires, now)) {
			struct timespec ts;
			long long deadline = LLONG_MAX;

			if (first)
				deadline = pfl_ktime_get_ns() + (long long)(first->expires - now) * 1000000LL;
			if (hr && hr->mono_expires < deadline)
				deadline = hr->mono_expires;
			deadline_ts(deadline, &ts);
			pthread_cond_timedwait(&timer_cond, &timer_mu, &ts);
			continue;
		}
		list_del_init(&first->entry);
		first->pending = 0;
		first->running = 1;
		pthread_mutex_unlock(&timer_mu);
		first->function(first);
		pthread_mutex_lock(&timer_mu);
		first->running = 0;
		pthread_cond_broadcast(&timer_done);
	}
	return NULL;
}

static void timer_start(void);

/* fork(): timer_mu held across it; in the child the timer thread is gone:
 * start a new one if timers or irq_work are pending, else on next use. */
void pfl_sched_atfork(int phase)
{
	static const pthread_once_t once_init = PTHREAD_ONCE_INIT;
	struct task_struct *t = pfl_current();

	if (phase == 0) {
		pthread_mutex_lock(&timer_mu);
	} else if (phase == 1) {
		pthread_mutex_unlock(&timer_mu);
	} else {
		int pending = !list_empty(&timer_list_head) || !list_empty(&irq_work_list);

		pthread_mutex_init(&timer_mu, NULL);
		/* The child's only task: its own ids (tasks of the parent's other
		 * threads keep the parent's tgid: their locks are orphans). */
		t->pid = (int)syscall(SYS_gettid);
		t->tgid = getpid();
		t->thread = pthread_self();
		pthread_mutex_init(&t->pi_mu, NULL);
		memcpy(&timer_once, &once_init, sizeof(timer_once));
		if (pending)
			pthread_once(&timer_once, timer_start);
	}
}

static void timer_start(void)
{
	pthread_condattr_t ca;
	pthread_t th;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&timer_cond, &ca);
	pthread_cond_init(&timer_done, NULL);
	pthread_condattr_destroy(&ca);
	pthread_create(&th, NULL, timer_thread, NULL);
	pthread_detach(th);
}

void timer_setup(struct timer_list *timer, void (*func)(struct timer_list *), unsigned int flags)
{
	pthread_once(&timer_once, timer_start);
	INIT_LIST_HEAD(&timer->entry);
	timer->function = func;
	timer->flags = flags;
	timer->pending = 0;
	timer->running = 0;
}

int mod_timer(struct timer_list *timer, unsigned long expires)
{
	int was;

	pthread_once(&timer_once, timer_start);
	pthread_mutex_lock(&timer_mu);
	was = timer->pending;
	if (was)
		list_del(&timer->entry);
	timer->expires = expires;
	timer->pending = 1;
	list_add_tail(&timer->entry, &timer_list_head);
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_mu);
	return was;
}

int del_timer(struct timer_list *timer)
{
	int was;

	pthread_mutex_lock(&timer_mu);
	was = timer->pending;
	if (was) {
		list_del_init(&timer->entry);
		timer->pending = 0;
	}
	pthread_mutex_unlock(&timer_mu);
	return was;
}

int del_timer_sync(struct timer_list *timer)
{
	int was;

	pthread_mutex_lock(&timer_mu);
	was = timer->pending;
	if (was) {
		list_del_init(&timer->entry);
		timer->pending = 0;
	}
	while (timer->running)
		pthread_cond_wait(&timer_done, &timer_mu);
	pthread_mutex_unlock(&timer_mu);
	return was;
}

/* irq_work: run by the timer thread, as soon as it can. */
bool irq_work_queue(struct irq_work *work)
{
	bool queued = false;

	pthread_once(&timer_once, timer_start);
	pthread_mutex_lock(&timer_mu);
	if (!work->pending) {
		work->pending = 1;
		list_add_tail(&work->node, &irq_work_list);
		pthread_cond_signal(&timer_cond);
		queued = true;
	}
	pthread_mutex_unlock(&timer_mu);
	return queued;
}

void irq_work_sync(struct irq_work *work)
{
	pthread_mutex_lock(&timer_mu);
	while (work->pending || irq_work_running)
		pthread_cond_wait(&timer_done, &timer_mu);
	pthread_mutex_unlock(&timer_mu);
}

int timer_pending(const struct timer_list *timer)
{
	return READ_ONCE(timer->pending);
}

/* ---- hrtimers (include/linux/hrtimer.h): fired by the timer thread ---- */
ktime_t pfl_hrtimer_clock_now(clockid_t clock)
{
	struct timespec ts;

	if (clock == CLOCK_BOOTTIME)
		clock = CLOCK_MONOTONIC;
	if (clock_gettime(clock, &ts))
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ktime_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

void hrtimer_init(struct hrtimer *timer, clockid_t clock_id, enum hrtimer_mode mode)
{
	pthread_once(&timer_once, timer_start);
	memset(timer, 0, sizeof(*timer));
	INIT_LIST_HEAD(&timer->node);
	if (clock_id != CLOCK_REALTIME && clock_id != CLOCK_TAI && clock_id != CLOCK_BOOTTIME)
		clock_id = CLOCK_MONOTONIC;
	timer->clockid = clock_id;
	timer->is_rel = !!(mode & HRTIMER_MODE_REL);
	timer->is_soft = !!(mode & HRTIMER_MODE_SOFT);
	timer->is_hard = !!(mode & HRTIMER_MODE_HARD);
}

void hrtimer_setup(struct hrtimer *timer, enum hrtimer_restart (*function)(struct hrtimer *),
		   clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}

void hrtimer_start_range_ns(struct hrtimer *timer, ktime_t tim, u64 range_ns,
			    const enum hrtimer_mode mode)
{
	ktime_t now = pfl_hrtimer_clock_now(timer->clockid);

	if (mode & HRTIMER_MODE_REL)
		tim = tim > KTIME_MAX - now ? KTIME_MAX : now + tim;
	pthread_mutex_lock(&timer_mu);
	if (timer->state & HRTIMER_STATE_ENQUEUED)
		list_del(&timer->node);
	timer->_softexpires = tim;
	timer->mono_expires = tim - now + pfl_ktime_get_ns();
	timer->state = HRTIMER_STATE_ENQUEUED;
	list_add_tail(&timer->node, &hrtimer_list_head);
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_mu);
}

void hrtimer_restart(struct hrtimer *timer)
{
	hrtimer_start(timer, timer->_softexpires, HRTIMER_MODE_ABS);
}

int hrtimer_try_to_cancel(struct hrtimer *timer)
{
	int ret = 0;

	pthread_mutex_lock(&timer_mu);
	if (timer->running) {
		ret = -1;
	} else if (timer->state & HRTIMER_STATE_ENQUEUED) {
		list_del_init(&timer->node);
		timer->state = HRTIMER_STATE_INACTIVE;
		ret = 1;
	}
	pthread_mutex_unlock(&timer_mu);
	return ret;
}

int hrtimer_cancel(struct hrtimer *timer)
{
	int ret = 0;

	pthread_mutex_lock(&timer_mu);
	if (timer->running && timer->running_task == pfl_current()) {
		pthread_mutex_unlock(&timer_mu);
		pfl_printk("BUG: hrtimer_cancel() from the timer's own callback would wait for itself forever\n");
		pfl_warn(__FILE__, __LINE__, "hrtimer_cancel() from its own callback");
		return -1;
	}
	if (timer->state & HRTIMER_STATE_ENQUEUED) {
		list_del_init(&timer->node);
		timer->state = HRTIMER_STATE_INACTIVE;
		ret = 1;
	}
	while (timer->running) {
		pthread_cond_wait(&timer_done, &timer_mu);
		/* The callback may have re-armed it: cancel that too. */
		if (timer->state & HRTIMER_STATE_ENQUEUED) {
			list_del_init(&timer->node);
			timer->state = HRTIMER_STATE_INACTIVE;
			ret = 1;
		}
	}
	pthread_mutex_unlock(&timer_mu);
	return ret;
}

ktime_t hrtimer_get_remaining(const struct hrtimer *timer)
{
	return timer->_softexpires - pfl_hrtimer_clock_now(timer->clockid);
}

bool hrtimer_active(const struct hrtimer *timer)
{
	return READ_ONCE(timer->state) != HRTIMER_STATE_INACTIVE || READ_ONCE(timer->running);
}

/* kernel/time/hrtimer.c: move the expiry past now by whole intervals. */
u64 hrtimer_forward(struct hrtimer *timer, ktime_t now, ktime_t interval)
{
	u64 orun = 1;
	ktime_t delta;

	delta = now - timer->_softexpires;
	if (delta < 0)
		return 0;
	if (WARN_ON(timer->state & HRTIMER_STATE_ENQUEUED))
		return 0;
	if (interval < 1000)	/* hrtimer_resolution floor, as the kernel's */
		interval = 1000;
	if (delta >= interval) {
		s64 incr = interval;

		orun = (u64)(delta / incr);
		timer->_softexpires += incr * (s64)orun;
		if (timer->_softexpires > now)
			return orun;
		orun++;
	}
	timer->_softexpires += interval;
	return orun;
}

/* ---- wait queues ---- */
void __init_waitqueue_head(struct wait_queue_head *wq, const char *name, struct lock_class_key *key)
{
	pfl_spin_lock_init(&wq->lock, name, key);
	INIT_LIST_HEAD(&wq->head);
}

int default_wake_function(struct wait_queue_entry *e, unsigned mode, int flags, void *key)
{
	return wake_up_state(e->private, mode);
}

int autoremove_wake_function(struct wait_queue_entry *e, unsigned mode, int sync, void *key)
{
	int ret = default_wake_function(e, mode, sync, key);

	if (ret)
		list_del_init(&e->entry);
	return ret;
}

void __wake_up(struct wait_queue_head *wq, unsigned int mode, int nr, void *key)
{
	struct wait_queue_entry *e, *n;
	unsigned long flags;

	spin_lock_irqsave(&wq->lock, flags);
	list_for_each_entry_safe(e, n, &wq->head, entry) {
		if (e->func(e, mode, 0, key) && nr && !--nr)
			break;
	}
	spin_unlock_irqrestore(&wq->lock, flags);
}

void __wake_up_locked_key(struct wait_queue_head *wq, unsigned int mode, void *key)
{
	struct wait_queue_entry *e, *n;

	lockdep_assert_held(&wq->lock);
	list_for_each_entry_safe(e, n, &wq->head, entry)
		e->func(e, mode, 0, key);
}

void add_wait_queue(struct wait_queue_head *wq, struct wait_queue_entry *e)
{
	spin_lock(&wq->lock);
	list_add(&e->entry, &wq->head);
	spin_unlock(&wq->lock);
}

void remove_wait_queue(struct wait_queue_head *wq, struct wait_queue_entry *e)
{
	spin_lock(&wq->lock);
	list_del(&e->entry);
	spin_unlock(&wq->lock);
}

void prepare_to_wait(struct wait_queue_head *wq, struct wait_queue_entry *e, int state)
{
	spin_lock(&wq->lock);
	if (list_empty(&e->entry))
		list_add_tail(&e->entry, &wq->head);
	set_current_state(state);
	spin_unlock(&wq->lock);
}

void finish_wait(struct wait_queue_head *wq, struct wait_queue_entry *e)
{
	__set_current_state(TASK_RUNNING);
	if (!list_empty_careful(&e->entry)) {
		spin_lock(&wq->lock);
		list_del_init(&e->entry);
		spin_unlock(&wq->lock);
	}
}

/* The hashed wait queues of wait_var_event()/wake_up_var(). */
#define VAR_WAITQUEUE_BITS 6
static struct wait_queue_head var_waitqueues[1 << VAR_WAITQUEUE_BITS];
static pthread_once_t var_waitqueue_once = PTHREAD_ONCE_INIT;

static void var_waitqueue_init(void)
{
	static struct lock_class_key key;
	int i;

	for (i = 0; i < (1 << VAR_WAITQUEUE_BITS); i++)
		__init_waitqueue_head(&var_waitqueues[i], "var_waitqueue", &key);
}

struct wait_queue_head *__var_waitqueue(void *p)
{
	unsigned long h = (unsigned long)p;

	pthread_once(&var_waitqueue_once, var_waitqueue_init);
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15UL;
	return &var_waitqueues[h >> (64 - VAR_WAITQUEUE_BITS)];
}

/* ---- randomness ---- */
void get_random_bytes(void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			continue;
		p += n;
		len -= (size_t)n;
	}
}

u32 get_random_u32(void)
{
	u32 v;

	get_random_bytes(&v, sizeof(v));
	return v;
}

u64 get_random_u64(void)
{
	u64 v;

	get_random_bytes(&v, sizeof(v));
	return v;
}

u32 __get_random_u32_below(u32 ceil)
{
	u64 mult;

	if (!ceil)
		return 0;
	mult = (u64)ceil * get_random_u32();
	return (u32)(mult >> 32);
}
