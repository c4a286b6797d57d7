// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/drm/exec.py: a struct drm_exec that
 * Python holds (drm_exec_init/fini around a kzalloc), the inline accessors
 * of include/drm/drm_exec.h, and fences added to the reservation of a GEM
 * object the exec has locked. The locking itself is the unmodified
 * drivers/gpu/drm/drm_exec.c over the runtime's ww_mutex.
 * C header: include/drm/drm_exec.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/dma-resv.h>
#include <linux/dma-fence.h>
#include <drm/drm_gem.h>
#include <drm/drm_exec.h>
#include <pfl/drm_exec.h>

struct drm_exec *pfl_drm_exec_new(u32 flags, unsigned int nr)
{
	struct drm_exec *exec = kzalloc(sizeof(*exec), GFP_KERNEL);

	if (!exec)
		return NULL;
	drm_exec_init(exec, flags, nr);
	if (!exec->objects) {	/* drm_exec_init's kvmalloc_array failed */
		drm_exec_fini(exec);
		kfree(exec);
		return NULL;
	}
	return exec;
}

void pfl_drm_exec_free(struct drm_exec *exec)
{
	drm_exec_fini(exec);
	kfree(exec);
}

bool pfl_drm_exec_is_contended(struct drm_exec *exec)
{
	return drm_exec_is_contended(exec);
}

unsigned int pfl_drm_exec_num_objects(struct drm_exec *exec)
{
	return exec->num_objects;
}

struct drm_gem_object *pfl_drm_exec_obj(struct drm_exec *exec, unsigned long index)
{
	return drm_exec_obj(exec, index);
}

/* obj is locked by this exec: its reservation lock's context is the ticket. */
bool pfl_drm_exec_holds(struct drm_exec *exec, struct drm_gem_object *obj)
{
	return dma_resv_locking_ctx(obj->resv) == &exec->ticket;
}

/* dma_resv_reserve_fences(1) + dma_resv_add_fence() on an object the exec
 * holds (what a submit does with its job's fence); -EINVAL otherwise. */
int pfl_drm_exec_add_fence(struct drm_exec *exec, struct drm_gem_object *obj,
			   struct dma_fence *fence, int usage)
{
	int ret;

	if (!pfl_drm_exec_holds(exec, obj))
		return -EINVAL;
	ret = dma_resv_reserve_fences(obj->resv, 1);
	if (ret)
		return ret;
	dma_resv_add_fence(obj->resv, fence, usage);
	return 0;
}

/* The fences of a GEM object's reservation, without its lock (RCU). */
bool pfl_drm_gem_resv_test_signaled(struct drm_gem_object *obj, int usage)
{
	return dma_resv_test_signaled(obj->resv, usage);
}

long pfl_drm_gem_resv_wait(struct drm_gem_object *obj, int usage, bool intr, unsigned long timeout)
{
	return dma_resv_wait_timeout(obj->resv, usage, intr, timeout);
}
