/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: there are no interrupts in userspace. */
#ifndef _LINUX_TRACE_IRQFLAGS_H
#define _LINUX_TRACE_IRQFLAGS_H
#define local_irq_disable() do { } while (0)
#define local_irq_enable() do { } while (0)
#define local_irq_save(f) do { (f) = 0; } while (0)
#define local_irq_restore(f) do { (void)(f); } while (0)
#define irqs_disabled() 0
#define raw_local_irq_save(f) local_irq_save(f)
#define raw_local_irq_restore(f) local_irq_restore(f)
#endif
