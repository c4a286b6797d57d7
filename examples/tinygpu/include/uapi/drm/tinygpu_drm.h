/* SPDX-License-Identifier: MIT */
/* tinygpu's UAPI: what its clients compile against. */
#ifndef __TINYGPU_DRM_H__
#define __TINYGPU_DRM_H__

#include <drm/drm.h>

#define TINYGPU_GETPARAM_MEM_SIZE	0x0	/* bytes of device memory */
#define TINYGPU_GETPARAM_MEM_FREE	0x1	/* bytes not allocated */
#define TINYGPU_GETPARAM_FILE_OBJECTS	0x2	/* objects this file created */

struct drm_tinygpu_getparam {
	__u64 param;	/* in: TINYGPU_GETPARAM_* */
	__u64 value;	/* out */
};

struct drm_tinygpu_gem_create {
	__u64 size;	/* in: bytes, rounded up to 4096 */
	__u32 handle;	/* out */
	__u32 pad;
};

struct drm_tinygpu_gem_info {
	__u32 handle;	/* in */
	__u32 pad;
	__u64 size;	/* out: bytes */
	__u64 mmap_offset;	/* out: where mmap() on the node maps it */
};

#define DRM_TINYGPU_GETPARAM	0x00
#define DRM_TINYGPU_GEM_CREATE	0x01
#define DRM_TINYGPU_GEM_INFO	0x02

#define DRM_IOCTL_TINYGPU_GETPARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYGPU_GETPARAM, struct drm_tinygpu_getparam)
#define DRM_IOCTL_TINYGPU_GEM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYGPU_GEM_CREATE, struct drm_tinygpu_gem_create)
#define DRM_IOCTL_TINYGPU_GEM_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYGPU_GEM_INFO, struct drm_tinygpu_gem_info)

#endif
