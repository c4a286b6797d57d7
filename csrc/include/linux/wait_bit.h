/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: waiting on a variable, on hashed wait queues as in the kernel
 * (wakers wake the whole hash bucket; waiters re-check their condition).
 * C header: include/linux/wait_bit.h */
#ifndef _LINUX_WAIT_BIT_H
#define _LINUX_WAIT_BIT_H
#include <linux/wait.h>
struct wait_queue_head *__var_waitqueue(void *p);
#define wake_up_var(var) wake_up_all(__var_waitqueue(var))
#define wait_var_event(var, cond) wait_event(*__var_waitqueue(var), cond)
#define wait_var_event_timeout(var, cond, t) wait_event_timeout(*__var_waitqueue(var), cond, t)
#define wait_var_event_interruptible(var, cond) \
	wait_event_interruptible(*__var_waitqueue(var), cond)
#endif
