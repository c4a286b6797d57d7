/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no user-mode helpers (CONFIG_UEVENT_HELPER=n, no modules to
 * request). lib/kobject_uevent.c includes this header only for its
 * CONFIG_UEVENT_HELPER part; the real one pulls in sysctl and umh.
 * C header: include/linux/kmod.h */
#ifndef __LINUX_KMOD_H__
#define __LINUX_KMOD_H__
#endif
