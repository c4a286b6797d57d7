/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: one CPU as far as kernel C can tell (linux/percpu.h).
 * C header: include/linux/smp.h */
#ifndef __LINUX_SMP_H
#define __LINUX_SMP_H
#include <linux/percpu.h>
#include <linux/preempt.h>
#define on_each_cpu(func, info, wait) ({ (func)(info); 0; })
#define smp_call_function(func, info, wait) do { } while (0)
#endif
