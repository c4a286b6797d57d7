/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the real include/linux/workqueue_types.h, always with the
 * CONFIG_LOCKDEP layout (a lockdep_map in each work_struct), because the
 * runtime's lock validator sees works as the kernel's lockdep does. The
 * runtime's locks are validated whatever the Kconfig says, so this is the
 * layout every user of work_struct here gets. See linux/workqueue.h.
 * C header: include/linux/workqueue_types.h
 */
#ifndef _PFL_LINUX_WORKQUEUE_TYPES_H
#define _PFL_LINUX_WORKQUEUE_TYPES_H
#include <linux/timer_types.h>
#include <linux/lockdep_types.h>
#ifndef CONFIG_LOCKDEP
#define CONFIG_LOCKDEP 1
#include_next <linux/workqueue_types.h>
#undef CONFIG_LOCKDEP
#else
#include_next <linux/workqueue_types.h>
#endif
#endif
