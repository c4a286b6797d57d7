/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the kernel's own include/linux/workqueue.h, unmodified, read
 * with CONFIG_LOCKDEP set so that INIT_WORK() gives each work a lockdep_map
 * of its own class (one static key per INIT_WORK site), as in a lockdep
 * kernel. The implementation is csrc/runtime/workqueue.c: worker kthreads of
 * the runtime, with the kernel's semantics for queueing (a pending work is
 * not queued again), flushing, cancelling and destroying.
 * C header: include/linux/workqueue.h
 */
#ifndef _PFL_LINUX_WORKQUEUE_H
#define _PFL_LINUX_WORKQUEUE_H
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/timer.h>
#include <linux/lockdep.h>
#include <linux/atomic.h>
#include <linux/rcupdate.h>
#include <linux/init.h>
#include <linux/workqueue_types.h>
#ifndef CONFIG_LOCKDEP
#define CONFIG_LOCKDEP 1
#include_next <linux/workqueue.h>
#undef CONFIG_LOCKDEP
#else
#include_next <linux/workqueue.h>
#endif
#endif
