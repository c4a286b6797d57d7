/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the Kconfig of the userspace "machine" the kernel C runs on,
 * read by the real include/linux/kconfig.h (IS_ENABLED()).
 */
#define CONFIG_64BIT 1
#define CONFIG_X86_64 1
#define CONFIG_SMP 1
#define CONFIG_NR_CPUS 64
#define CONFIG_PHYS_ADDR_T_64BIT 1
#define CONFIG_ARCH_DMA_ADDR_T_64BIT 1
#define CONFIG_XARRAY_MULTI 1
#define CONFIG_HZ 1000
#define CONFIG_PAGE_SHIFT 12
#define CONFIG_KUNIT 1
#define CONFIG_GPU_BUDDY 1
#define CONFIG_DMA_SHARED_BUFFER 1
#define CONFIG_HAS_DMA 1
#define CONFIG_SYNC_FILE 1	/* drivers/dma-buf/sync_file.c is compiled */
#define CONFIG_LOCKDEP_SUPPORT 1
#define CONFIG_AUXILIARY_BUS 1
#define CONFIG_SYMBOLIC_ERRNAME 1
