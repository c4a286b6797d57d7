/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: preempt_disable() makes the task atomic (no sleeping).
 * C header: include/linux/preempt.h */
#ifndef __LINUX_PREEMPT_H
#define __LINUX_PREEMPT_H
#include <pfl/runtime.h>
void pfl_preempt_disable(void);
void pfl_preempt_enable(void);
#define preempt_disable() pfl_preempt_disable()
#define preempt_enable() pfl_preempt_enable()
#define preempt_enable_no_resched() pfl_preempt_enable()
#define migrate_disable() do { } while (0)
#define migrate_enable() do { } while (0)
#define in_interrupt() 0
#define in_irq() 0
#define in_softirq() 0
#define in_nmi() 0
#define in_hardirq() 0
#define in_serving_softirq() 0
#define preemptible() 1
#endif
