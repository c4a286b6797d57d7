/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no I2C bus (a connector's DDC adapter is KMS). The type only,
 * so that the system's uapi linux/i2c.h is not picked instead.
 * C header: include/linux/i2c.h */
#ifndef _LINUX_I2C_H
#define _LINUX_I2C_H
#include <linux/device.h>
struct i2c_adapter {
	struct module *owner;
	struct device dev;
	char name[48];
};
#endif
