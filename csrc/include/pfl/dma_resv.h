/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: helpers/dma_resv.c */
#ifndef _PFL_DMA_RESV_H
#define _PFL_DMA_RESV_H
#include <linux/types.h>
struct dma_resv;
struct dma_resv *pfl_dma_resv_new(void);
void pfl_dma_resv_free(struct dma_resv *obj);
struct dma_fence;
int pfl_sync_file_export(struct dma_fence *fence, unsigned int flags);
int pfl_sync_file_is(int fd, struct dma_fence *fence);
struct drm_file;
bool pfl_drm_file_has_syncobjs(struct drm_file *file);
struct ww_acquire_ctx;
struct ww_acquire_ctx *pfl_ww_acquire_ctx_new(void);
void pfl_ww_acquire_done(struct ww_acquire_ctx *ctx);
void pfl_ww_acquire_ctx_free(struct ww_acquire_ctx *ctx);
unsigned int pfl_ww_acquire_acquired(struct ww_acquire_ctx *ctx);
int pfl_dma_resv_lock_slow(struct dma_resv *obj, struct ww_acquire_ctx *ctx, bool intr);
#endif
