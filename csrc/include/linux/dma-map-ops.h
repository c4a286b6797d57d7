/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: x86 without CONFIG_ARCH_HAS_SYNC_DMA_*: nothing of this header
 * is used by the driver core (core.c includes it for dma_default_coherent,
 * which only those configs read). The real one pulls in page tables.
 * C header: include/linux/dma-map-ops.h */
#ifndef _LINUX_DMA_MAP_OPS_H
#define _LINUX_DMA_MAP_OPS_H
#include <linux/dma-mapping.h>
/* !CONFIG_ARCH_HAS_TEARDOWN_DMA_OPS */
static inline void arch_teardown_dma_ops(struct device *dev) { }

#endif
