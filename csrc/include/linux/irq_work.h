/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: irq_work runs on the runtime's timer thread (there are no
 * interrupts), soon after irq_work_queue(), never in the caller's context,
 * as in the kernel. C header: include/linux/irq_work.h
 */
#ifndef _LINUX_IRQ_WORK_H
#define _LINUX_IRQ_WORK_H
#include <linux/list.h>
struct irq_work {
	struct list_head node;
	void (*func)(struct irq_work *);
	int pending;
};
#define IRQ_WORK_INIT(f) { .node = { NULL, NULL }, .func = (f) }
static inline void init_irq_work(struct irq_work *work, void (*func)(struct irq_work *))
{
	INIT_LIST_HEAD(&work->node);
	work->func = func;
	work->pending = 0;
}
bool irq_work_queue(struct irq_work *work);
void irq_work_sync(struct irq_work *work);
#endif
