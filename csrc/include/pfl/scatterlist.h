/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: dma-direct mapping of a whole sg_table in one call, for
 * pyforlinux/dma.py and pyforlinux/scatterlist.py (csrc/helpers/scatterlist.c).
 * The kernel's kernel/dma/direct.c is not built here (it needs the whole
 * DMA/swiotlb/IOMMU core); these helpers do what dma_direct_map_sg() does
 * for a coherent, swiotlb-less device in the pyforlinux page model
 * (linux/mm_types.h): the DMA address of an entry is its physical address.
 * C header: include/linux/dma-mapping.h, kernel/dma/direct.c semantics.
 */
#ifndef _PFL_SCATTERLIST_H
#define _PFL_SCATTERLIST_H
#include <linux/types.h>
#include <linux/dma-direction.h>

struct sg_table;

int pfl_dma_direct_map_sgtable(struct sg_table *sgt, u64 dma_mask);
void pfl_sgtable_clear_dma(struct sg_table *sgt);
unsigned long long pfl_sgtable_dma_bytes(struct sg_table *sgt);
#endif
