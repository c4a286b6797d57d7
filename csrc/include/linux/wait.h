/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: wait queues (runtime/sched.c). C header: include/linux/wait.h */
#ifndef _LINUX_WAIT_H
#define _LINUX_WAIT_H
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/sched.h>
struct wait_queue_entry;
typedef int (*wait_queue_func_t)(struct wait_queue_entry *wq_entry, unsigned mode, int flags, void *key);
struct wait_queue_entry {
	unsigned int flags;
	void *private;
	wait_queue_func_t func;
	struct list_head entry;
};
typedef struct wait_queue_entry wait_queue_entry_t;
struct wait_queue_head {
	spinlock_t lock;
	struct list_head head;
};
typedef struct wait_queue_head wait_queue_head_t;
void __init_waitqueue_head(struct wait_queue_head *wq, const char *name, struct lock_class_key *key);
#define init_waitqueue_head(wq) do { static struct lock_class_key __key; \
	__init_waitqueue_head((wq), #wq, &__key); } while (0)
void __wake_up(struct wait_queue_head *wq, unsigned int mode, int nr, void *key);
/* All waiters, wq->lock already held by the caller. */
void __wake_up_locked_key(struct wait_queue_head *wq, unsigned int mode, void *key);
#define wake_up(x) __wake_up(x, TASK_NORMAL, 1, NULL)
#define wake_up_all(x) __wake_up(x, TASK_NORMAL, 0, NULL)
#define wake_up_interruptible(x) __wake_up(x, TASK_INTERRUPTIBLE, 1, NULL)
#define wake_up_interruptible_all(x) __wake_up(x, TASK_INTERRUPTIBLE, 0, NULL)
int default_wake_function(struct wait_queue_entry *wq_entry, unsigned mode, int flags, void *key);
int autoremove_wake_function(struct wait_queue_entry *wq_entry, unsigned mode, int sync, void *key);
void add_wait_queue(struct wait_queue_head *wq, struct wait_queue_entry *e);
void remove_wait_queue(struct wait_queue_head *wq, struct wait_queue_entry *e);
void prepare_to_wait(struct wait_queue_head *wq, struct wait_queue_entry *e, int state);
void finish_wait(struct wait_queue_head *wq, struct wait_queue_entry *e);
#define DEFINE_WAIT_FUNC(name, function) \
	struct wait_queue_entry name = { .private = current, .func = function, \
		.entry = LIST_HEAD_INIT((name).entry) }
#define DEFINE_WAIT(name) DEFINE_WAIT_FUNC(name, autoremove_wake_function)
#define init_wait(wait) do { (wait)->private = current; (wait)->func = autoremove_wake_function; \
	INIT_LIST_HEAD(&(wait)->entry); (wait)->flags = 0; } while (0)
static inline int waitqueue_active(struct wait_queue_head *wq) { return !list_empty(&wq->head); }
#define ___wait_event_timeout(wq, cond, state, timeout) ({			\
	long __ret = (timeout);							\
	DEFINE_WAIT(__wait);							\
	for (;;) {								\
		prepare_to_wait(&(wq), &__wait, (state));			\
		if (cond) { if (!__ret) __ret = 1; break; }			\
		if (signal_pending_state((state), current)) { __ret = -ERESTARTSYS; break; } \
		if (!__ret) break;						\
		__ret = schedule_timeout(__ret);				\
	}									\
	finish_wait(&(wq), &__wait);						\
	__ret; })
#define wait_event(wq, cond) do { if (!(cond)) \
	(void)___wait_event_timeout(wq, cond, TASK_UNINTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT); } while (0)
#define wait_event_timeout(wq, cond, t) ({ long __r = (t); if (!(cond)) \
	__r = ___wait_event_timeout(wq, cond, TASK_UNINTERRUPTIBLE, __r); else if (!__r) __r = 1; __r; })
#define wait_event_interruptible(wq, cond) ({ int __r = 0; if (!(cond)) { \
	long __l = ___wait_event_timeout(wq, cond, TASK_INTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT); \
	__r = __l < 0 ? (int)__l : 0; } __r; })
#define wait_event_interruptible_timeout(wq, cond, t) ({ long __r = (t); if (!(cond)) \
	__r = ___wait_event_timeout(wq, cond, TASK_INTERRUPTIBLE, __r); else if (!__r) __r = 1; __r; })
#include <linux/wait_bit.h>
#define __WAIT_QUEUE_HEAD_INITIALIZER(name) {				\
	.lock = __SPIN_LOCK_UNLOCKED(name.lock),			\
	.head = LIST_HEAD_INIT(name.head) }
#define DECLARE_WAIT_QUEUE_HEAD(name) \
	struct wait_queue_head name = __WAIT_QUEUE_HEAD_INITIALIZER(name)

#endif
