/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: kthreads are pthreads with their own task_struct.
 * C header: include/linux/kthread.h */
#ifndef _LINUX_KTHREAD_H
#define _LINUX_KTHREAD_H
#include <linux/err.h>
#include <linux/sched.h>
struct task_struct *pfl_kthread_create(int (*fn)(void *), void *data, const char *name);
#define kthread_create(fn, data, fmt, ...) pfl_kthread_create((fn), (data), (fmt))
#define kthread_run(fn, data, fmt, ...) ({				\
	struct task_struct *__k = kthread_create(fn, data, fmt, ##__VA_ARGS__); \
	if (!IS_ERR(__k))						\
		wake_up_process(__k);					\
	__k;								\
})
int kthread_stop(struct task_struct *k);
int kthread_stop_put(struct task_struct *k);
bool kthread_should_stop(void);
/* kthread workers: declared for the DRM vblank headers (KMS, never run here). */
struct kthread_worker;
struct kthread_work;
typedef void (*kthread_work_func_t)(struct kthread_work *work);
struct kthread_work {
	struct list_head node;
	kthread_work_func_t func;
	struct kthread_worker *worker;
	int canceling;
};
void kthread_flush_worker(struct kthread_worker *worker);
void kthread_destroy_worker(struct kthread_worker *worker);
#endif
