/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: msleep() sleeps the task (might_sleep), udelay() spins.
 * C header: include/linux/delay.h */
#ifndef _LINUX_DELAY_H
#define _LINUX_DELAY_H
#include <linux/sched.h>
void msleep(unsigned int msecs);
unsigned long msleep_interruptible(unsigned int msecs);
void pfl_udelay(unsigned long usecs);
#define udelay(u) pfl_udelay(u)
#define ndelay(n) pfl_udelay(((n) + 999) / 1000)
#define mdelay(m) pfl_udelay((unsigned long)(m) * 1000)
#define usleep_range(a, b) pfl_udelay(a)
#define fsleep(u) pfl_udelay(u)
#endif
