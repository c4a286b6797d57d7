/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: ktime_t in ns from CLOCK_MONOTONIC (runtime/sched.c).
 * C header: include/linux/ktime.h */
#ifndef _LINUX_KTIME_H
#define _LINUX_KTIME_H
#include <linux/types.h>
#include <linux/jiffies.h>
#include <pfl/runtime.h>
#ifndef _PFL_KTIME_T
#define _PFL_KTIME_T
typedef s64 ktime_t;
#endif
#define NSEC_PER_USEC 1000L
#define NSEC_PER_MSEC 1000000L
#define NSEC_PER_SEC 1000000000L
#define USEC_PER_MSEC 1000L
#define MSEC_PER_SEC 1000L
#define USEC_PER_SEC 1000000L
#define KTIME_MAX ((s64)~((u64)1 << 63))
#define ktime_get() ((ktime_t)pfl_ktime_get_ns())
#define ktime_get_raw() ktime_get()
#define ktime_get_real() ((ktime_t)pfl_ktime_get_real_ns())
#define ktime_get_ns() ((u64)pfl_ktime_get_ns())
#define ktime_get_mono_fast_ns() ktime_get_ns()
#define ktime_get_raw_ns() ktime_get_ns()
#define ktime_set(s, ns) ((ktime_t)(s) * NSEC_PER_SEC + (ns))
#define ktime_add(a, b) ((a) + (b))
#define ktime_sub(a, b) ((a) - (b))
#define ktime_add_ns(k, ns) ((k) + (ns))
#define ktime_add_us(k, us) ((k) + (us) * NSEC_PER_USEC)
#define ktime_add_ms(k, ms) ((k) + (ms) * NSEC_PER_MSEC)
#define ktime_sub_ns(k, ns) ((k) - (ns))
#define ktime_to_ns(k) ((s64)(k))
#define ktime_to_us(k) ((s64)(k) / NSEC_PER_USEC)
#define ktime_to_ms(k) ((s64)(k) / NSEC_PER_MSEC)
#define ns_to_ktime(ns) ((ktime_t)(ns))
#define ms_to_ktime(ms) ((ktime_t)(ms) * NSEC_PER_MSEC)
#define us_to_ktime(us) ((ktime_t)(us) * NSEC_PER_USEC)
#define ktime_compare(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)
#define ktime_after(a, b) ((a) > (b))
#define ktime_before(a, b) ((a) < (b))
#define ktime_us_delta(l, e) ktime_to_us((l) - (e))
#define ktime_ms_delta(l, e) ktime_to_ms((l) - (e))
#define ktime_divns(k, d) ((k) / (d))
struct timespec64 { s64 tv_sec; long tv_nsec; };
static inline struct timespec64 ktime_to_timespec64(ktime_t k)
{
	struct timespec64 ts = { k / NSEC_PER_SEC, k % NSEC_PER_SEC };
	return ts;
}
#endif
