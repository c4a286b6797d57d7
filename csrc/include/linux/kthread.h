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
#endif
