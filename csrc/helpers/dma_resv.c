// SPDX-License-Identifier: GPL-2.0
/* pyforlinux helpers: a free-standing reservation object for the safe
 * layer (pyforlinux/dma_buf/dma_resv.py; GEM objects embed theirs) and the
 * sync_file export of a fence (pyforlinux/dma_buf/sync_file.py). */
#include <linux/slab.h>
#include <linux/file.h>
#include <linux/fcntl.h>
#include <linux/sync_file.h>
#include <linux/dma-resv.h>
#include <drm/drm_drv.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <pfl/dma_resv.h>

struct dma_resv *pfl_dma_resv_new(void)
{
	struct dma_resv *obj = kzalloc(sizeof(*obj), GFP_KERNEL);

	if (obj)
		dma_resv_init(obj);
	return obj;
}

void pfl_dma_resv_free(struct dma_resv *obj)
{
	dma_resv_fini(obj);
	kfree(obj);
}

/* A sync_file for fence, installed as a new fd of the current client:
 * what a driver's ioctl does to hand an out-fence to userspace
 * (get_unused_fd_flags, sync_file_create, fd_install). */
int pfl_sync_file_export(struct dma_fence *fence, unsigned int flags)
{
	struct sync_file *sf;
	int fd = get_unused_fd_flags(flags);

	if (fd < 0)
		return fd;
	sf = sync_file_create(fence);
	if (!sf) {
		put_unused_fd(fd);
		return -ENOMEM;
	}
	fd_install(fd, sf->file);
	return fd;
}

/* sync_file_get_fence(fd) is fence (the reference it took is dropped):
 * 1, 0 if another fence, -EINVAL if fd is not a sync_file. */
int pfl_sync_file_is(int fd, struct dma_fence *fence)
{
	struct dma_fence *got = sync_file_get_fence(fd);

	if (!got)
		return -EINVAL;
	dma_fence_put(got);
	return got == fence;
}

/* Whether file's device has DRIVER_SYNCOBJ (drm_syncobj_open() ran for it:
 * its syncobj_idr exists). */
bool pfl_drm_file_has_syncobjs(struct drm_file *file)
{
	return drm_core_check_feature(file->minor->dev, DRIVER_SYNCOBJ);
}

/* A ww_acquire_ctx of the reservation class (WwAcquireCtx in
 * pyforlinux/dma_buf/dma_resv.py): ww_acquire_init() as the current task. */
struct ww_acquire_ctx *pfl_ww_acquire_ctx_new(void)
{
	struct ww_acquire_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (ctx)
		ww_acquire_init(ctx, &reservation_ww_class);
	return ctx;
}

void pfl_ww_acquire_done(struct ww_acquire_ctx *ctx)
{
	ww_acquire_done(ctx);
}

void pfl_ww_acquire_ctx_free(struct ww_acquire_ctx *ctx)
{
	ww_acquire_fini(ctx);
	kfree(ctx);
}

unsigned int pfl_ww_acquire_acquired(struct ww_acquire_ctx *ctx)
{
	return READ_ONCE(ctx->acquired);
}

/* dma_resv_lock_slow()/_interruptible(): after backing off from -EDEADLK,
 * sleep for the contended lock with no others held. */
int pfl_dma_resv_lock_slow(struct dma_resv *obj, struct ww_acquire_ctx *ctx, bool intr)
{
	if (intr)
		return dma_resv_lock_slow_interruptible(obj, ctx);
	dma_resv_lock_slow(obj, ctx);
	return 0;
}
