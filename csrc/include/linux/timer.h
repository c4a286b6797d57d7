/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: timers fire from one runtime timer thread, in jiffies order.
 * C header: include/linux/timer.h */
#ifndef _LINUX_TIMER_H
#define _LINUX_TIMER_H
#include <linux/types.h>
#include <linux/list.h>
#include <linux/kernel.h>
struct timer_list {
	struct list_head entry;		/* on the runtime's pending list */
	unsigned long expires;
	void (*function)(struct timer_list *);
	unsigned int flags;
	int pending;
	int running;
};
void timer_setup(struct timer_list *timer, void (*func)(struct timer_list *), unsigned int flags);
#define timer_setup_on_stack(t, f, fl) timer_setup(t, f, fl)
#define destroy_timer_on_stack(t) do { } while (0)
int mod_timer(struct timer_list *timer, unsigned long expires);
#define add_timer(t) ((void)mod_timer((t), (t)->expires))
int del_timer(struct timer_list *timer);
int del_timer_sync(struct timer_list *timer);
#define timer_delete(t) del_timer(t)
#define timer_delete_sync(t) del_timer_sync(t)
#define timer_shutdown_sync(t) del_timer_sync(t)
int timer_pending(const struct timer_list *timer);
#define from_timer(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, typeof(*var), timer_fieldname)
#endif
