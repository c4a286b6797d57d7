/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: jiffies count milliseconds of CLOCK_MONOTONIC (HZ = 1000).
 * C header: include/linux/jiffies.h */
#ifndef _LINUX_JIFFIES_H
#define _LINUX_JIFFIES_H
#include <limits.h>
#include <linux/types.h>
#include <pfl/runtime.h>
#define HZ 1000
#define USER_HZ 100
#define jiffies pfl_jiffies()
#define jiffies_64 ((u64)pfl_jiffies())
#define MAX_JIFFY_OFFSET ((LONG_MAX >> 1) - 1)
#define time_after(a, b) ((long)((b) - (a)) < 0)
#define time_before(a, b) time_after(b, a)
#define time_after_eq(a, b) ((long)((a) - (b)) >= 0)
#define time_before_eq(a, b) time_after_eq(b, a)
#define time_is_before_jiffies(a) time_after(jiffies, a)
#define time_is_after_jiffies(a) time_before(jiffies, a)
static inline unsigned long msecs_to_jiffies(const unsigned int m) { return m; }
static inline unsigned long usecs_to_jiffies(const unsigned int u) { return (u + 999) / 1000; }
static inline unsigned long nsecs_to_jiffies(u64 n) { return (unsigned long)((n + 999999) / 1000000); }
/* As the kernel for HZ = 1000: truncating (div_u64(n, NSEC_PER_SEC / HZ)). */
static inline u64 nsecs_to_jiffies64(u64 n) { return n / 1000000; }
static inline unsigned int jiffies_to_msecs(const unsigned long j) { return (unsigned int)j; }
static inline unsigned int jiffies_to_usecs(const unsigned long j) { return (unsigned int)(j * 1000); }
static inline u64 jiffies_to_nsecs(const unsigned long j) { return (u64)j * 1000000; }
#define secs_to_jiffies(_secs) (unsigned long)((_secs) * HZ)

#endif
