// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers: the render-driver parts end to end in C, over the
 * compiled drm_gem_shmem_helper.c, drm_syncobj.c, sync_file.c and the
 * runtime's shmem pool (runtime/shmem.c): a device with DRIVER_SYNCOBJ and
 * shmem GEM objects; each step's result goes into out[]
 * (enum pfl_render_selftest_step). tests/test_render_c.py checks them.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/uaccess.h>
#include <linux/shmem_fs.h>
#include <linux/sync_file.h>
#include <linux/dma-fence.h>
#include <linux/iosys-map.h>
#include <drm/drm.h>
#include <drm/drm_drv.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_ioctl.h>
#include <pfl/vfs.h>
#include <pfl/drm_driver.h>
#include <pfl/render_selftest.h>

DEFINE_DRM_GEM_FOPS(pfl_render_fops);

static const struct drm_driver pfl_render_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ,
	.fops = &pfl_render_fops,
	DRM_GEM_SHMEM_DRIVER_OPS,
	.name = "pflrender",
	.desc = "pyforlinux render parts self-test",
	.major = 1,
};

static const char *st_name(struct dma_fence *f) { return "pfl_render_selftest"; }
static const struct dma_fence_ops st_fence_ops = {
	.get_driver_name = st_name,
	.get_timeline_name = st_name,
};
static DEFINE_SPINLOCK(st_fence_lock);

static long uioctl(struct file *f, unsigned int cmd, void *arg, size_t size, struct pfl_mm *mm)
{
	unsigned long u = pfl_mm_map(mm, size);
	long ret;

	if (copy_to_user((void __user *)u, arg, size))
		return -EFAULT;
	ret = f->f_op->unlocked_ioctl(f, cmd, u);
	if (copy_from_user(arg, (void __user *)u, size))
		return -EFAULT;
	pfl_mm_unmap(mm, u);
	return ret;
}

static void shmem_steps(struct drm_device *drm, struct file *render, long *out)
{
	unsigned long before = pfl_shmem_nr_pages();
	struct drm_gem_shmem_object *shmem;
	struct drm_file *dfile = render->private_data;
	struct iosys_map map;
	struct vm_area_struct *vma;
	char buf[8] = {};
	u32 handle;
	int ret;

	shmem = drm_gem_shmem_create(drm, 3 * PAGE_SIZE);
	out[PFL_RST_SHMEM_CREATE] = IS_ERR(shmem) ? PTR_ERR(shmem) : 0;
	if (IS_ERR(shmem))
		return;
	dma_resv_lock(shmem->base.resv, NULL);
	ret = drm_gem_shmem_vmap(shmem, &map);
	dma_resv_unlock(shmem->base.resv);
	out[PFL_RST_VMAP] = ret;
	if (!ret) {
		memcpy((char *)map.vaddr + PAGE_SIZE + 10, "hello", 6);
		out[PFL_RST_PAGES_ALIAS_VMAP] =
			!strcmp((char *)page_address(shmem->pages[1]) + 10, "hello");
		out[PFL_RST_PAGES_LIVE] = (long)(pfl_shmem_nr_pages() - before);
	}
	ret = drm_gem_handle_create(dfile, &shmem->base, &handle);
	drm_gem_object_put(&shmem->base);	/* the handle keeps it */
	if (ret)
		return;
	vma = pfl_drm_mmap(render, drm_vma_node_offset_addr(&shmem->base.vma_node),
			   3 * PAGE_SIZE, 1);
	out[PFL_RST_MMAP] = IS_ERR(vma) ? PTR_ERR(vma) : 0;
	if (!IS_ERR(vma)) {
		out[PFL_RST_MMAP_PFNMAP] = (vma->vm_flags & (VM_PFNMAP | VM_DONTEXPAND)) ==
					   (VM_PFNMAP | VM_DONTEXPAND);
		out[PFL_RST_MMAP_READ_SEES_VMAP] = !pfl_vma_rw(vma, PAGE_SIZE + 10, buf, 6, 0) &&
						   !strcmp(buf, "hello");
		out[PFL_RST_MMAP_WRITE_SEEN] = !pfl_vma_rw(vma, 2 * PAGE_SIZE, "world", 6, 1) &&
			!ret && !strcmp((char *)map.vaddr + 2 * PAGE_SIZE, "world");
		out[PFL_RST_MMAP_PAST_END] = pfl_vma_rw(vma, 3 * PAGE_SIZE - 2, buf, 4, 0);
		pfl_drm_munmap(vma);
	}
	if (!out[PFL_RST_VMAP]) {
		dma_resv_lock(shmem->base.resv, NULL);
		drm_gem_shmem_vunmap(shmem, &map);
		dma_resv_unlock(shmem->base.resv);
	}
	drm_gem_handle_delete(dfile, handle);
	out[PFL_RST_PAGES_FREED] = pfl_shmem_nr_pages() == before;
}

static void syncobj_steps(struct file *render, struct pfl_mm *mm, long *out)
{
	struct drm_file *dfile = render->private_data;
	struct drm_syncobj_create create = {};
	struct drm_syncobj_destroy destroy = {};
	struct drm_syncobj_handle h2fd = {};
	struct drm_syncobj_wait wait = {};
	struct drm_syncobj *syncobj;
	struct dma_fence *fence, *got;
	unsigned long uhandles;
	u32 handle;

	out[PFL_RST_SYNCOBJ_CREATE] = uioctl(render, DRM_IOCTL_SYNCOBJ_CREATE, &create,
					     sizeof(create), mm);
	if (out[PFL_RST_SYNCOBJ_CREATE])
		return;
	handle = create.handle;
	uhandles = pfl_mm_map(mm, sizeof(u32));
	if (copy_to_user((void __user *)uhandles, &handle, sizeof(handle)))
		return;
	wait.handles = uhandles;
	wait.count_handles = 1;
	wait.timeout_nsec = ktime_get_ns() + 20 * NSEC_PER_MSEC;
	out[PFL_RST_SYNCOBJ_WAIT_NO_FENCE] = uioctl(render, DRM_IOCTL_SYNCOBJ_WAIT, &wait,
						    sizeof(wait), mm);
	fence = kzalloc(sizeof(*fence), GFP_KERNEL);
	if (!fence)
		return;
	dma_fence_init(fence, &st_fence_ops, &st_fence_lock, dma_fence_context_alloc(1), 1);
	syncobj = drm_syncobj_find(dfile, handle);
	if (!syncobj) {
		dma_fence_put(fence);
		return;
	}
	drm_syncobj_replace_fence(syncobj, fence);
	drm_syncobj_put(syncobj);
	wait.timeout_nsec = ktime_get_ns() + 20 * NSEC_PER_MSEC;
	out[PFL_RST_SYNCOBJ_WAIT_TIMEOUT] = uioctl(render, DRM_IOCTL_SYNCOBJ_WAIT, &wait,
						   sizeof(wait), mm);
	h2fd.handle = handle;
	h2fd.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
	if (!uioctl(render, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h2fd, sizeof(h2fd), mm) &&
	    h2fd.fd >= 0) {
		out[PFL_RST_SYNCOBJ_EXPORT_SYNC_FILE] = 1;
		got = sync_file_get_fence(h2fd.fd);
		out[PFL_RST_SYNC_FILE_FENCE] = got == fence;
		dma_fence_put(got);
		close_fd(h2fd.fd);
	}
	dma_fence_signal(fence);
	dma_fence_put(fence);
	wait.timeout_nsec = ktime_get_ns() + 20 * NSEC_PER_MSEC;
	out[PFL_RST_SYNCOBJ_WAIT_SIGNALED] = uioctl(render, DRM_IOCTL_SYNCOBJ_WAIT, &wait,
						    sizeof(wait), mm);
	destroy.handle = handle;
	out[PFL_RST_SYNCOBJ_DESTROY] = uioctl(render, DRM_IOCTL_SYNCOBJ_DESTROY, &destroy,
					      sizeof(destroy), mm);
	out[PFL_RST_SYNCOBJ_GONE] = uioctl(render, DRM_IOCTL_SYNCOBJ_WAIT, &wait, sizeof(wait), mm);
	pfl_mm_unmap(mm, uhandles);
}

int pfl_render_selftest(long *out, int n)
{
	struct device *parent;
	struct drm_device *drm;
	struct pfl_mm *mm, *old;
	struct file *render;
	int i, ret;

	for (i = 0; i < n; i++)
		out[i] = -9999;
	if (n < PFL_RST_NR)
		return -EINVAL;
	parent = root_device_register("pfl_render_selftest");
	if (IS_ERR(parent))
		return PTR_ERR(parent);
	drm = drm_dev_alloc(&pfl_render_driver, parent);
	if (IS_ERR(drm)) {
		root_device_unregister(parent);
		return PTR_ERR(drm);
	}
	ret = drm_dev_register(drm, 0);
	mm = pfl_mm_create();
	old = pfl_use_mm(mm);
	render = ret ? ERR_PTR(ret) : pfl_chrdev_open(DRM_MAJOR, drm->render->index, O_RDWR);
	if (!IS_ERR(render)) {
		shmem_steps(drm, render, out);
		syncobj_steps(render, mm, out);
		fput(render);
	} else {
		ret = PTR_ERR(render);
	}
	pfl_use_mm(old);
	pfl_mm_destroy(mm);
	drm_dev_unplug(drm);
	drm_dev_put(drm);
	root_device_unregister(parent);
	return ret;
}
