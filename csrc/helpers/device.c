// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for the driver core (drivers/base/ files, lib/kobject.c):
 * its boot (drivers/base/init.c) and what cffi cannot call directly
 * (static inlines and macros of linux/device.h, linux/kobject.h,
 * linux/auxiliary_bus.h), like rust/helpers/device.c and auxiliary.c.
 */
#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/auxiliary_bus.h>
#include "base.h"		/* drivers/base/base.h */

/* drivers/base/init.c's driver_init(), for the parts compiled here. */
void pfl_driver_init(void)
{
	devices_init();
	buses_init();
	classes_init();
	auxiliary_bus_init();
}
