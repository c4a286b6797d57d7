/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no networking (CONFIG_NET=n). lib/kobject_uevent.c includes
 * this header but uses it only inside #ifdef CONFIG_NET (the uevent netlink
 * socket); the real one needs the network stack's types.
 * C header: include/linux/netlink.h */
#ifndef _PFL_LINUX_NETLINK_H
#define _PFL_LINUX_NETLINK_H
#endif
