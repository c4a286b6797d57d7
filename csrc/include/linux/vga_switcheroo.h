/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_VGA_SWITCHEROO=n, the real header's config-off stubs
 * (the real one pulls in linux/fb.h, which the system's uapi would shadow).
 * C header: include/linux/vga_switcheroo.h */
#ifndef _LINUX_VGA_SWITCHEROO_H_
#define _LINUX_VGA_SWITCHEROO_H_
#include <linux/errno.h>
struct pci_dev;
static inline int vga_switcheroo_process_delayed_switch(void) { return -ENODEV; }
static inline void vga_switcheroo_unregister_client(struct pci_dev *dev) {}
#endif
