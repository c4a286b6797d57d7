/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: timers fire from one runtime timer thread, in jiffies order.
 * C header: include/linux/timer.h */
#ifndef _LINUX_TIMER_H
#define _LINUX_TIMER_H
#include <linux/types.h>
#include <linux/list.h>
#include <linux/kernel.h>
#include <linux/timer_types.h>
#define TIMER_DEFERRABLE	0x00080000
#define TIMER_PINNED		0x00100000
#define TIMER_IRQSAFE		0x00200000
#define TIMER_INIT_FLAGS	(TIMER_DEFERRABLE | TIMER_PINNED | TIMER_IRQSAFE)
#define __TIMER_INITIALIZER(_function, _flags) {			\
		.entry = { NULL, NULL },				\
		.function = (_function),				\
		.flags = (_flags),					\
	}
#define DEFINE_TIMER(_name, _function) \
	struct timer_list _name = __TIMER_INITIALIZER(_function, 0)
void timer_setup(struct timer_list *timer, void (*func)(struct timer_list *), unsigned int flags);
#define timer_setup_on_stack(t, f, fl) timer_setup(t, f, fl)
#define __init_timer(t, f, fl) timer_setup(t, f, fl)
#define __init_timer_on_stack(t, f, fl) timer_setup(t, f, fl)
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
