/* SPDX-License-Identifier: MIT */
/* pyforlinux: the dma-buf selftests built here (drivers/dma-buf/selftests.h
 * lists more; only what the build compiles). */
selftest(dma_fence, dma_fence) /* drivers/dma-buf/st-dma-fence.c */
selftest(dma_fence_chain, dma_fence_chain) /* drivers/dma-buf/st-dma-fence-chain.c */
selftest(dma_resv, dma_resv) /* drivers/dma-buf/st-dma-resv.c */
selftest(dma_fence_unwrap, dma_fence_unwrap) /* drivers/dma-buf/st-dma-fence-unwrap.c */
