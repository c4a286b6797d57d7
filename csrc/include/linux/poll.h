/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: poll tables and the EPOLL bits (the kernel's values).
 * C header: include/linux/poll.h, include/uapi/linux/eventpoll.h */
#ifndef _LINUX_POLL_H
#define _LINUX_POLL_H
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/fs.h>
#define EPOLLIN		((__force __poll_t)0x00000001)
#define EPOLLPRI	((__force __poll_t)0x00000002)
#define EPOLLOUT	((__force __poll_t)0x00000004)
#define EPOLLERR	((__force __poll_t)0x00000008)
#define EPOLLHUP	((__force __poll_t)0x00000010)
#define EPOLLNVAL	((__force __poll_t)0x00000020)
#define EPOLLRDNORM	((__force __poll_t)0x00000040)
#define EPOLLRDBAND	((__force __poll_t)0x00000080)
#define EPOLLWRNORM	((__force __poll_t)0x00000100)
#define EPOLLWRBAND	((__force __poll_t)0x00000200)
typedef struct poll_table_struct {
	void (*_qproc)(struct file *, wait_queue_head_t *, struct poll_table_struct *);
	__poll_t _key;
} poll_table;
static inline void poll_wait(struct file *filp, wait_queue_head_t *wait_address, poll_table *p)
{
	if (p && p->_qproc && wait_address)
		p->_qproc(filp, wait_address, p);
}
/* The events the poller asks for (all of them without a table). */
static inline __poll_t poll_requested_events(const poll_table *p)
{
	return p ? p->_key : ~(__poll_t)0;
}
#define poll_to_key(m) ((void *)(__force uintptr_t)(__poll_t)(m))
#define wake_up_locked_poll(x, m) __wake_up_locked_key((x), TASK_NORMAL, poll_to_key(m))
#define wake_up_interruptible_poll(x, m) wake_up_interruptible(x)
#define wake_up_poll(x, m) wake_up(x)
#endif
