/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no networking (CONFIG_NET=n here). drivers/base/core.c names
 * struct net_device only to print a "net" class device's ifindex
 * (dev_vprintk_emit's device info); no "net" class exists in this runtime, so
 * that branch is unreachable and the type has only the fields it reads. The
 * real header also brings linux/rculist.h, which core.c relies on.
 * C header: include/linux/netdevice.h */
#ifndef _LINUX_NETDEVICE_H
#define _LINUX_NETDEVICE_H
#include <linux/rculist.h>
#include <linux/delay.h>
#include <linux/device.h>
struct net_device {
	int ifindex;
	struct device dev;
};
#define to_net_dev(d) container_of(d, struct net_device, dev)
#endif
