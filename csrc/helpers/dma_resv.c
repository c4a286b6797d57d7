// SPDX-License-Identifier: GPL-2.0
/* pyforlinux helpers: a free-standing reservation object for the safe
 * layer (pyforlinux/dma_buf/dma_resv.py). GEM objects embed theirs. */
#include <linux/slab.h>
#include <linux/dma-resv.h>
#include <pfl/dma_resv.h>

struct dma_resv *pfl_dma_resv_new(void)
{
	struct dma_resv *obj = kzalloc(sizeof(*obj), GFP_KERNEL);

	if (obj)
		dma_resv_init(obj);
	return obj;
}

void pfl_dma_resv_free(struct dma_resv *obj)
{
	dma_resv_fini(obj);
	kfree(obj);
}
