/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: dma-fence tracepoints are no-ops (no tracing here). */
#ifndef _TRACE_DMA_FENCE_H
#define _TRACE_DMA_FENCE_H
struct dma_fence;
#define __PFL_NOTRACE(n) static inline void trace_##n(struct dma_fence *f) { (void)f; }
__PFL_NOTRACE(dma_fence_emit)
__PFL_NOTRACE(dma_fence_init)
__PFL_NOTRACE(dma_fence_destroy)
__PFL_NOTRACE(dma_fence_enable_signal)
__PFL_NOTRACE(dma_fence_signaled)
__PFL_NOTRACE(dma_fence_wait_start)
__PFL_NOTRACE(dma_fence_wait_end)
#endif
