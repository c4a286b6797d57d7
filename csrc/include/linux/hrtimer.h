/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: high-resolution timers, the kernel's API over the runtime's
 * timer thread (runtime/sched.c), which fires hrtimers in expiry order with
 * nanosecond deadlines on CLOCK_MONOTONIC (absolute CLOCK_REALTIME/TAI times
 * are converted when started; CLOCK_BOOTTIME is CLOCK_MONOTONIC here: the
 * machine never suspends). The real header needs the per-CPU clock bases
 * and seqlocks of kernel/time/hrtimer.c; this keeps its names, enums and
 * semantics: a callback returning HRTIMER_RESTART is re-armed at its
 * (forwarded) expiry; hrtimer_cancel() waits for a running callback.
 * Where the kernel would deadlock, hrtimer_cancel() from the timer's own
 * callback WARNs and returns -1 instead of waiting for itself.
 * C header: include/linux/hrtimer.h, include/linux/hrtimer_types.h
 */
#ifndef _LINUX_HRTIMER_H
#define _LINUX_HRTIMER_H
#include <linux/types.h>
#include <linux/list.h>
#include <linux/ktime.h>
#include <linux/timer.h>
#include <linux/init.h>
#include <time.h>

enum hrtimer_mode {
	HRTIMER_MODE_ABS	= 0x00,
	HRTIMER_MODE_REL	= 0x01,
	HRTIMER_MODE_PINNED	= 0x02,
	HRTIMER_MODE_SOFT	= 0x04,
	HRTIMER_MODE_HARD	= 0x08,
	HRTIMER_MODE_ABS_PINNED = HRTIMER_MODE_ABS | HRTIMER_MODE_PINNED,
	HRTIMER_MODE_REL_PINNED = HRTIMER_MODE_REL | HRTIMER_MODE_PINNED,
	HRTIMER_MODE_ABS_SOFT	= HRTIMER_MODE_ABS | HRTIMER_MODE_SOFT,
	HRTIMER_MODE_REL_SOFT	= HRTIMER_MODE_REL | HRTIMER_MODE_SOFT,
	HRTIMER_MODE_ABS_PINNED_SOFT = HRTIMER_MODE_ABS_PINNED | HRTIMER_MODE_SOFT,
	HRTIMER_MODE_REL_PINNED_SOFT = HRTIMER_MODE_REL_PINNED | HRTIMER_MODE_SOFT,
	HRTIMER_MODE_ABS_HARD	= HRTIMER_MODE_ABS | HRTIMER_MODE_HARD,
	HRTIMER_MODE_REL_HARD	= HRTIMER_MODE_REL | HRTIMER_MODE_HARD,
	HRTIMER_MODE_ABS_PINNED_HARD = HRTIMER_MODE_ABS_PINNED | HRTIMER_MODE_HARD,
	HRTIMER_MODE_REL_PINNED_HARD = HRTIMER_MODE_REL_PINNED | HRTIMER_MODE_HARD,
};

enum hrtimer_restart {
	HRTIMER_NORESTART,	/* Timer is not restarted */
	HRTIMER_RESTART,	/* Timer must be restarted */
};

#define HRTIMER_STATE_INACTIVE	0x00
#define HRTIMER_STATE_ENQUEUED	0x01

struct hrtimer {
	struct list_head node;		/* on the runtime's hrtimer list */
	ktime_t _softexpires;		/* expiry, in the timer's clock */
	ktime_t mono_expires;		/* the same, on CLOCK_MONOTONIC */
	enum hrtimer_restart (*function)(struct hrtimer *);
	clockid_t clockid;
	u8 state;
	u8 is_rel;
	u8 is_soft;
	u8 is_hard;
	int running;			/* callback in progress */
	struct task_struct *running_task;
};

struct hrtimer_sleeper {
	struct hrtimer timer;
	struct task_struct *task;
};

void hrtimer_init(struct hrtimer *timer, clockid_t which_clock, enum hrtimer_mode mode);
void hrtimer_setup(struct hrtimer *timer, enum hrtimer_restart (*function)(struct hrtimer *),
		   clockid_t clock_id, enum hrtimer_mode mode);
#define hrtimer_init_on_stack(t, c, m) hrtimer_init(t, c, m)
#define hrtimer_setup_on_stack(t, f, c, m) hrtimer_setup(t, f, c, m)
#define destroy_hrtimer_on_stack(t) do { } while (0)
void hrtimer_start_range_ns(struct hrtimer *timer, ktime_t tim, u64 range_ns,
			    const enum hrtimer_mode mode);
static inline void hrtimer_start(struct hrtimer *timer, ktime_t tim, const enum hrtimer_mode mode)
{
	hrtimer_start_range_ns(timer, tim, 0, mode);
}
int hrtimer_cancel(struct hrtimer *timer);
int hrtimer_try_to_cancel(struct hrtimer *timer);
void hrtimer_restart(struct hrtimer *timer);
ktime_t pfl_hrtimer_clock_now(clockid_t clock);
static inline ktime_t hrtimer_cb_get_time(const struct hrtimer *timer)
{
	return pfl_hrtimer_clock_now(timer->clockid);
}
static inline void hrtimer_set_expires(struct hrtimer *timer, ktime_t time)
{
	timer->_softexpires = time;
}
static inline void hrtimer_set_expires_range_ns(struct hrtimer *timer, ktime_t time, u64 delta)
{
	timer->_softexpires = time;
}
static inline void hrtimer_add_expires_ns(struct hrtimer *timer, u64 ns)
{
	timer->_softexpires += (ktime_t)ns;
}
static inline void hrtimer_add_expires(struct hrtimer *timer, ktime_t time)
{
	timer->_softexpires += time;
}
static inline ktime_t hrtimer_get_expires(const struct hrtimer *timer)
{
	return timer->_softexpires;
}
static inline ktime_t hrtimer_get_softexpires(const struct hrtimer *timer)
{
	return timer->_softexpires;
}
static inline s64 hrtimer_get_expires_ns(const struct hrtimer *timer)
{
	return timer->_softexpires;
}
static inline ktime_t hrtimer_expires_remaining(const struct hrtimer *timer)
{
	return timer->_softexpires - hrtimer_cb_get_time(timer);
}
ktime_t hrtimer_get_remaining(const struct hrtimer *timer);
bool hrtimer_active(const struct hrtimer *timer);
static inline bool hrtimer_is_queued(struct hrtimer *timer)
{
	return !!(READ_ONCE(timer->state) & HRTIMER_STATE_ENQUEUED);
}
static inline int hrtimer_callback_running(struct hrtimer *timer)
{
	return READ_ONCE(timer->running);
}
u64 hrtimer_forward(struct hrtimer *timer, ktime_t now, ktime_t interval);
static inline u64 hrtimer_forward_now(struct hrtimer *timer, ktime_t interval)
{
	return hrtimer_forward(timer, hrtimer_cb_get_time(timer), interval);
}
#endif
