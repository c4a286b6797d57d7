/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_ACPI=n: the real header's config-off definitions that
 * the driver core uses (the real one pulls in the ACPI tables' headers for
 * its CONFIG_ACPI=y half before testing the option).
 * C header: include/linux/acpi.h */
#ifndef _LINUX_ACPI_H
#define _LINUX_ACPI_H
#include <linux/device.h>
struct acpi_device;
#define ACPI_COMPANION(dev)		(NULL)
#define ACPI_COMPANION_SET(dev, adev)	do { } while (0)
#define ACPI_HANDLE(dev)		(NULL)
#define has_acpi_companion(dev)		(false)
static inline void acpi_device_notify(struct device *dev) { }
static inline void acpi_device_notify_remove(struct device *dev) { }
#endif
