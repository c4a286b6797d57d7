/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: there is no PCI bus; a device is never a PCI device, so the
 * DRM core's PCI branches (bus ids, fdinfo) are not taken. Types only.
 * C header: include/linux/pci.h */
#ifndef LINUX_PCI_H
#define LINUX_PCI_H
#include <linux/types.h>
#include <linux/device.h>
#include <linux/fs.h>
struct pci_bus { unsigned char number; };
struct pci_dev {
	struct device dev;
	struct pci_bus *bus;
	unsigned int devfn;
	unsigned short vendor, device, subsystem_vendor, subsystem_device;
	u8 revision;
};
#define dev_is_pci(d) ((void)(d), false)
#define to_pci_dev(n) container_of(n, struct pci_dev, dev)
#define pci_domain_nr(bus) ((void)(bus), 0)
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn) & 0x07)
#endif
