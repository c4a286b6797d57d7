// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: the DMA mapping API of a machine without an IOMMU or
 * swiotlb (CONFIG_HAS_DMA, dma-direct), for the kernel C that maps pages
 * for a device (drm_gem_shmem_helper.c, drm_prime.c, their KUnit tests).
 *
 * The page model (linux/mm_types.h) makes a page's physical address its
 * address, and dma-direct maps 1:1: an entry's DMA address is sg_phys().
 * As kernel/dma/mapping.c and direct.c: no dma_mask is a WARN and no
 * mapping; an address beyond min(*dma_mask, bus_dma_limit) cannot be mapped
 * (-EIO for the table, nothing left mapped; there is no bounce buffer);
 * dma_set_mask() needs dev->dma_mask. No CONFIG_NEED_SG_DMA_LENGTH:
 * sg_dma_len() is sg->length. Unmapping has nothing to release.
 * The Python DMA model (pyforlinux/dma.py) is separate: it keeps its masks
 * and mappings on the Python side.
 * Kernel: kernel/dma/mapping.c, kernel/dma/direct.c
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>

static bool dma_direct_capable(struct device *dev, dma_addr_t addr, size_t size)
{
	u64 limit = min_not_zero(*dev->dma_mask, dev->bus_dma_limit);
	dma_addr_t end = addr + size - 1;

	return size ? end >= addr && end <= limit : addr <= limit;
}

static int dma_direct_map_sg(struct device *dev, struct scatterlist *sgl, int nents)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		if (!dma_direct_capable(dev, sg_phys(sg), sg->length))
			return -EIO;	/* no swiotlb to bounce through */
	}
	for_each_sg(sgl, sg, nents, i)
		sg->dma_address = sg_phys(sg);
	return nents;
}

static int __dma_map_sg_attrs(struct device *dev, struct scatterlist *sg, int nents,
			      enum dma_data_direction dir)
{
	BUG_ON(!valid_dma_direction(dir));
	if (WARN_ON_ONCE(!dev->dma_mask))
		return 0;
	return dma_direct_map_sg(dev, sg, nents);
}

unsigned int dma_map_sg_attrs(struct device *dev, struct scatterlist *sg, int nents,
			      enum dma_data_direction dir, unsigned long attrs)
{
	int ents = __dma_map_sg_attrs(dev, sg, nents, dir);

	return ents > 0 ? ents : 0;
}

int dma_map_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
		    unsigned long attrs)
{
	int nents = __dma_map_sg_attrs(dev, sgt->sgl, sgt->orig_nents, dir);

	if (nents < 0)
		return nents;
	sgt->nents = nents;
	return 0;
}

void dma_unmap_sg_attrs(struct device *dev, struct scatterlist *sg, int nents,
			enum dma_data_direction dir, unsigned long attrs)
{
	BUG_ON(!valid_dma_direction(dir));
}

int dma_set_mask(struct device *dev, u64 mask)
{
	if (!dev->dma_mask)
		return -EIO;
	*dev->dma_mask = mask;
	return 0;
}

int dma_set_coherent_mask(struct device *dev, u64 mask)
{
	dev->coherent_dma_mask = mask;
	return 0;
}

size_t dma_max_mapping_size(struct device *dev)
{
	return SIZE_MAX;
}
