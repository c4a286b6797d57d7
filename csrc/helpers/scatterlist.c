// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/scatterlist.py and pyforlinux/dma.py:
 * dma-direct mapping of a whole struct sg_table in one call, as
 * dma_map_sgtable() -> dma_direct_map_sg() does it for a device without an
 * IOMMU or swiotlb. In the pyforlinux page model (linux/mm_types.h) the
 * physical address of a page is its address, so the DMA address of an
 * entry is sg_phys(). This config has no CONFIG_NEED_SG_DMA_LENGTH:
 * sg_dma_len(sg) is sg->length, so the mapped count is orig_nents.
 * C header: include/linux/scatterlist.h, include/linux/dma-mapping.h
 * (kernel/dma/direct.c semantics)
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <pfl/scatterlist.h>

#define PFL_DMA_MAPPING_ERROR (~(dma_addr_t)0)

/* dma_capable(): the whole bus range [addr, addr + size) is under the mask. */
static bool pfl_dma_capable(dma_addr_t addr, size_t size, u64 mask)
{
	dma_addr_t end = addr + size - 1;

	if (!size)
		return addr <= mask;
	return end >= addr && end <= mask;
}

/*
 * Maps every CPU entry (orig_nents of them, walked with the real sg_next)
 * 1:1: sg_dma_address(sg) = sg_phys(sg); sg_dma_len(sg) is sg->length.
 * Returns 0 and sets sgt->nents = orig_nents; -EIO (what dma_map_sgtable()
 * returns for an unmappable entry) if an entry is beyond dma_mask, with no
 * entry left mapped; -EINVAL for an empty table.
 */
int pfl_dma_direct_map_sgtable(struct sg_table *sgt, u64 dma_mask)
{
	struct scatterlist *sg;
	unsigned int i;

	if (!sgt->sgl || !sgt->orig_nents)
		return -EINVAL;
	for_each_sgtable_sg(sgt, sg, i) {
		if (!pfl_dma_capable(sg_phys(sg), sg->length, dma_mask))
			return -EIO;
	}
	for_each_sgtable_sg(sgt, sg, i)
		sg_dma_address(sg) = sg_phys(sg);
	sgt->nents = sgt->orig_nents;
	return 0;
}

/*
 * After an unmap (dma-direct has nothing to release; an IOMMU mapper has
 * cleared its page table): poisons the DMA addresses with
 * DMA_MAPPING_ERROR, so a stale use is visible, and sets nents to 0.
 */
void pfl_sgtable_clear_dma(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i)
		sg_dma_address(sg) = PFL_DMA_MAPPING_ERROR;
	sgt->nents = 0;
}

/* The sum of sg_dma_len() over the mapped entries (nents), in bytes. */
unsigned long long pfl_sgtable_dma_bytes(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned long long sum = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i)
		sum += sg_dma_len(sg);
	return sum;
}
