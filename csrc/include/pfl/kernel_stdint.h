/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: force-included after the prelude for the DRM core. In the
 * kernel, uint64_t is linux/types.h's u64 (unsigned long long); glibc's
 * <stdint.h>, which the runtime needs first, makes it unsigned long. Same
 * size and ABI, but the DRM headers mix the two spellings in one prototype
 * (drm_driver.dumb_map_offset's uint64_t * against a uapi __u64), which the
 * compiler rightly refuses. From here on the kernel's spelling holds.
 */
#ifndef _PFL_KERNEL_STDINT_H
#define _PFL_KERNEL_STDINT_H
#include <stdint.h>
#include <inttypes.h>
#include <pthread.h>
#include <linux/types.h>
#define uint64_t u64
#define int64_t s64
#endif
