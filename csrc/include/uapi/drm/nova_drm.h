/* SPDX-License-Identifier: MIT */
/*
 * Nova's UAPI, as upstream include/uapi/drm/nova_drm.h (not in Linux 6.12):
 * the numbers and layouts are upstream's; only the include of drm.h is
 * spelled for this tree.
 */
#ifndef __NOVA_DRM_H__
#define __NOVA_DRM_H__

#include <uapi/drm/drm.h>

/* DRM_NOVA_GETPARAM parameters */

/* The size of the VRAM BAR (BAR1) of the device, in bytes. */
#define NOVA_GETPARAM_VRAM_BAR_SIZE	0x1

/**
 * struct drm_nova_getparam - query GPU and driver metadata
 * @param: The identifier of the parameter to query.
 * @value: The value of the requested parameter.
 */
struct drm_nova_getparam {
	__u64 param;
	__u64 value;
};

/**
 * struct drm_nova_gem_create - create a new DRM GEM object
 * @handle: The handle of the new DRM GEM object.
 * @pad: 32 bit padding, should be 0.
 * @size: The size of the new DRM GEM object.
 */
struct drm_nova_gem_create {
	__u32 handle;
	__u32 pad;
	__u64 size;
};

/**
 * struct drm_nova_gem_info - query DRM GEM object metadata
 * @handle: The handle of the DRM GEM object to query.
 * @pad: 32 bit padding, should be 0.
 * @size: The size of the DRM GEM obejct.
 */
struct drm_nova_gem_info {
	__u32 handle;
	__u32 pad;
	__u64 size;
};

#define DRM_NOVA_GETPARAM		0x00
#define DRM_NOVA_GEM_CREATE		0x01
#define DRM_NOVA_GEM_INFO		0x02

/* Note: this is an enum so that it can be resolved by Rust bindgen. */
enum {
	DRM_IOCTL_NOVA_GETPARAM		= DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_GETPARAM,
						   struct drm_nova_getparam),
	DRM_IOCTL_NOVA_GEM_CREATE	= DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_GEM_CREATE,
						   struct drm_nova_gem_create),
	DRM_IOCTL_NOVA_GEM_INFO		= DRM_IOWR(DRM_COMMAND_BASE + DRM_NOVA_GEM_INFO,
						   struct drm_nova_gem_info),
};

#endif /* __NOVA_DRM_H__ */
