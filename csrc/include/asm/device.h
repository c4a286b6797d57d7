/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: x86's asm/device.h without IOMMU: empty arch data.
 * C header: arch/x86/include/asm/device.h */
#ifndef _ASM_X86_DEVICE_H
#define _ASM_X86_DEVICE_H
struct dev_archdata {
};
struct pdev_archdata {
};
#endif
