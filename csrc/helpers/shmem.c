// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/drm/gem/shmem.py: gem::shmem::Object's
 * VTABLE and ALLOC_OPS, and the locked calls of the shmem helper (the
 * dma_resv_lock()/unlock() pairs upstream's shmem.rs makes around
 * drm_gem_shmem_vmap & co.). The helper itself is the unmodified
 * drivers/gpu/drm/drm_gem_shmem_helper.c.
 *
 * Rust: rust/kernel/drm/gem/shmem.rs. C header: include/drm/drm_gem_shmem_helper.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <drm/drm_drv.h>
#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <pfl/drm_driver.h>
#include <pfl/shmem.h>
#include <pfl/scatterlist.h>

/*
 * Object::free_callback. The Python side lets go first (its registry is
 * keyed by address: once drm_gem_shmem_free() kfree()s the object another
 * thread may get the same address for a new one), then the C object is
 * released and freed, then the device reference pfl_drm_gem_shmem_create()
 * took.
 */
static void pfl_shmem_free(struct drm_gem_object *obj)
{
	struct drm_device *dev = obj->dev;

	pfl_drm_py_gem_free(obj);
	drm_gem_shmem_free(to_drm_gem_shmem_obj(obj));
	drm_dev_put(dev);
}

/* Object::VTABLE: the shmem helper's funcs with free/open/close into Python. */
static const struct drm_gem_object_funcs pfl_shmem_funcs = {
	.free = pfl_shmem_free,
	.open = pfl_drm_py_gem_open,	/* open_callback/close_callback: the */
	.close = pfl_drm_py_gem_close,	/* base object's, straight into Python */
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/*
 * Object::new: drm_gem_shmem_create() (6.12 has no drm_gem_shmem_init();
 * with no gem_create_object it kzallocs the object), then the VTABLE before
 * anyone sees the object, as upstream sets funcs before init. The object
 * holds a device reference until its free (Python may keep an ARef longer
 * than the device's files).
 */
struct drm_gem_object *pfl_drm_gem_shmem_create(struct drm_device *dev, size_t size, bool map_wc)
{
	struct drm_gem_shmem_object *shmem;

	if (!size || size & ~PAGE_MASK)
		return ERR_PTR(-EINVAL);
	shmem = drm_gem_shmem_create(dev, size);
	if (IS_ERR(shmem))
		return ERR_CAST(shmem);
	shmem->base.funcs = &pfl_shmem_funcs;
	shmem->map_wc = map_wc;
	drm_dev_get(dev);
	return &shmem->base;
}

/* Object's AllocImpl::ALLOC_OPS: PRIME import of another device's buffer
 * makes a (C-only) shmem object. dumb_create stays the driver's: a dumb
 * buffer made by drm_gem_shmem_dumb_create() would have no driver data. */
void pfl_drm_gem_shmem_alloc_ops(struct drm_driver *drv)
{
	drv->gem_prime_import_sg_table = drm_gem_shmem_prime_import_sg_table;
}

bool pfl_drm_gem_is_pfl_shmem(struct drm_gem_object *obj)
{
	return obj->funcs == &pfl_shmem_funcs;
}

/* drm_gem_shmem_vmap() under the reservation lock: the kernel address of
 * the object's pages, mapped contiguously; NULL with *err on failure
 * (-EDEADLK, not a hang, if the caller already holds the lock, e.g. in a
 * drm_exec). */
void *pfl_drm_gem_shmem_vmap(struct drm_gem_object *obj, int *err)
{
	struct iosys_map map;
	int ret;

	if (dma_resv_held(obj->resv)) {
		*err = -EDEADLK;
		return NULL;
	}
	dma_resv_lock(obj->resv, NULL);
	ret = drm_gem_shmem_vmap(to_drm_gem_shmem_obj(obj), &map);
	dma_resv_unlock(obj->resv);
	*err = ret;
	return ret ? NULL : map.vaddr;
}

/* drm_gem_shmem_vunmap() under the reservation lock; -EDEADLK (nothing
 * done) if the caller holds it already. */
int pfl_drm_gem_shmem_vunmap(struct drm_gem_object *obj, void *vaddr)
{
	struct iosys_map map = IOSYS_MAP_INIT_VADDR(vaddr);

	if (dma_resv_held(obj->resv))
		return -EDEADLK;
	dma_resv_lock(obj->resv, NULL);
	drm_gem_shmem_vunmap(to_drm_gem_shmem_obj(obj), &map);
	dma_resv_unlock(obj->resv);
	return 0;
}

/*
 * drm_gem_shmem_get_pages_sgt(): pin the pages, make their table, DMA-map
 * it for the device once; the table lives with the object (the helper's
 * free unmaps and frees it). A device with a C dma_mask gets the real call.
 * The parents of Python drivers (auxiliary devices) have none -- their
 * masks live in pyforlinux/dma.py -- and dma_map_sgtable() would WARN and
 * map nothing: for them the steps of the helper's static
 * drm_gem_shmem_get_pages_sgt_locked() are made here with its exported
 * calls, mapped by the runtime's dma-direct (helpers/scatterlist.c) as for
 * a 64-bit capable device.
 */
struct sg_table *pfl_drm_gem_shmem_get_pages_sgt(struct drm_gem_object *obj)
{
	struct drm_gem_shmem_object *shmem = to_drm_gem_shmem_obj(obj);
	struct sg_table *sgt;
	int ret;

	if (dma_resv_held(obj->resv))
		return ERR_PTR(-EDEADLK);
	if (obj->dev->dev->dma_mask)
		return drm_gem_shmem_get_pages_sgt(shmem);
	ret = dma_resv_lock_interruptible(obj->resv, NULL);
	if (ret)
		return ERR_PTR(ret);
	sgt = shmem->sgt;
	if (sgt)
		goto out;
	ret = drm_gem_shmem_pin_locked(shmem);	/* drm_gem_shmem_get_pages() */
	if (ret) {
		sgt = ERR_PTR(ret);
		goto out;
	}
	sgt = drm_gem_shmem_get_sg_table(shmem);
	if (IS_ERR(sgt))
		goto err_put_pages;
	ret = pfl_dma_direct_map_sgtable(sgt, DMA_BIT_MASK(64));
	if (ret) {
		sg_free_table(sgt);
		kfree(sgt);
		sgt = ERR_PTR(ret);
		goto err_put_pages;
	}
	shmem->sgt = sgt;
	goto out;
err_put_pages:
	drm_gem_shmem_unpin_locked(shmem);
out:
	dma_resv_unlock(obj->resv);
	return sgt;
}

unsigned int pfl_drm_gem_shmem_vmap_use_count(struct drm_gem_object *obj)
{
	return READ_ONCE(to_drm_gem_shmem_obj(obj)->vmap_use_count);
}

unsigned int pfl_drm_gem_shmem_pages_use_count(struct drm_gem_object *obj)
{
	return READ_ONCE(to_drm_gem_shmem_obj(obj)->pages_use_count);
}

bool pfl_drm_gem_shmem_map_wc(struct drm_gem_object *obj)
{
	return to_drm_gem_shmem_obj(obj)->map_wc;
}
