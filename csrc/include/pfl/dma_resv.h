/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: helpers/dma_resv.c */
#ifndef _PFL_DMA_RESV_H
#define _PFL_DMA_RESV_H
struct dma_resv;
struct dma_resv *pfl_dma_resv_new(void);
void pfl_dma_resv_free(struct dma_resv *obj);
#endif
