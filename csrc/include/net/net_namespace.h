/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no networking (CONFIG_NET=n). lib/kobject_uevent.c includes
 * this header but uses it only inside #ifdef CONFIG_NET.
 * C header: include/net/net_namespace.h */
#ifndef _PFL_NET_NET_NAMESPACE_H
#define _PFL_NET_NET_NAMESPACE_H
#endif
