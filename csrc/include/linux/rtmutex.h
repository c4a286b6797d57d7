/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no PREEMPT_RT: ww_mutex is built on struct mutex. What the
 * real include/linux/ww_mutex.h needs from its includes: current and
 * __mutex_init(). C header: include/linux/rtmutex.h */
#ifndef __LINUX_RT_MUTEX_H
#define __LINUX_RT_MUTEX_H
#include <linux/sched.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#ifndef __mutex_init
#define __mutex_init(l, n, k) pfl_mutex_init((l), (n), (k))
#endif
#endif
