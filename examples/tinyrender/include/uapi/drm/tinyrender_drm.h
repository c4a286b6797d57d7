/* SPDX-License-Identifier: MIT */
/*
 * tinyrender's UAPI: what its clients compile against.
 *
 * Kernel UAPI rules: fixed-size types only, every struct a multiple of 8
 * bytes with its padding explicit (and zero), user pointers as __u64.
 * Waiting is the DRM core's: DRM_IOCTL_SYNCOBJ_WAIT on the out-syncobj;
 * sharing is the core's PRIME (DRM_IOCTL_PRIME_HANDLE_TO_FD/FD_TO_HANDLE).
 */
#ifndef __TINYRENDER_DRM_H__
#define __TINYRENDER_DRM_H__

#include <drm/drm.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* A buffer object of @size bytes (rounded up to 4096), zero-filled. */
struct drm_tinyrender_bo_create {
	__u64 size;	/* in: bytes */
	__u32 handle;	/* out */
	__u32 pad;	/* must be 0 */
};

struct drm_tinyrender_bo_info {
	__u32 handle;	/* in */
	__u32 pad;	/* must be 0 */
	__u64 size;	/* out: bytes */
	__u64 mmap_offset;	/* out: what mmap() on the node maps it at */
};

#define TINYRENDER_OP_FILL	1	/* dst[dst_offset, +size) = value */
#define TINYRENDER_OP_COPY	2	/* dst[dst_offset, +size) = src[src_offset, +size) */

#define TINYRENDER_MAX_IN_SYNCOBJS	64

/*
 * Run one operation on the engine once every in-syncobj's fence has
 * signalled; the job's fence goes into @out_syncobj. A failed input fence
 * fails the job (its fence carries the error) without running it.
 */
struct drm_tinyrender_submit {
	__u32 op;		/* in: TINYRENDER_OP_* */
	__u32 dst_handle;	/* in: the object written */
	__u64 dst_offset;	/* in: bytes */
	__u32 src_handle;	/* in: COPY: the object read (may be dst) */
	__u32 value;		/* in: FILL: the byte, 0..255 */
	__u64 src_offset;	/* in: COPY: bytes */
	__u64 size;		/* in: bytes, > 0 */
	__u64 in_syncobjs;	/* in: user pointer to __u32 syncobj handles */
	__u32 in_syncobj_count;	/* in: at most TINYRENDER_MAX_IN_SYNCOBJS */
	__u32 out_syncobj;	/* in: syncobj handle for the job's fence, 0: none */
};

#define DRM_TINYRENDER_BO_CREATE	0x00
#define DRM_TINYRENDER_BO_INFO		0x01
#define DRM_TINYRENDER_SUBMIT		0x02

#define DRM_IOCTL_TINYRENDER_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYRENDER_BO_CREATE, struct drm_tinyrender_bo_create)
#define DRM_IOCTL_TINYRENDER_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYRENDER_BO_INFO, struct drm_tinyrender_bo_info)
#define DRM_IOCTL_TINYRENDER_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYRENDER_SUBMIT, struct drm_tinyrender_submit)

#if defined(__cplusplus)
}
#endif

#endif
