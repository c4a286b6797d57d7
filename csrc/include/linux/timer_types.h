/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: struct timer_list of the runtime's timer thread (runtime/sched.c).
 * The kernel's fields that callers use (expires, function, flags) keep their
 * names; entry links the timer on the runtime's pending list.
 * C header: include/linux/timer_types.h */
#ifndef _LINUX_TIMER_TYPES_H
#define _LINUX_TIMER_TYPES_H
#include <linux/types.h>
struct timer_list {
	struct list_head entry;		/* on the runtime's pending list */
	unsigned long expires;
	void (*function)(struct timer_list *);
	unsigned int flags;
	int pending;
	int running;
};
#endif
