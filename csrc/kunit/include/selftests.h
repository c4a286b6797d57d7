/* SPDX-License-Identifier: MIT */
/* pyforlinux: the dma-buf selftests built here (drivers/dma-buf/selftests.h
 * lists more; only dma_fence's dependencies are compiled). */
selftest(dma_fence, dma_fence) /* drivers/dma-buf/st-dma-fence.c */
selftest(dma_fence_chain, dma_fence_chain) /* drivers/dma-buf/st-dma-fence-chain.c */
