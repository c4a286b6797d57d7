/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: helpers/drm_exec.c, the C side of pyforlinux/drm/exec.py. */
#ifndef _PFL_DRM_EXEC_H
#define _PFL_DRM_EXEC_H
#include <linux/types.h>
struct drm_exec;
struct drm_gem_object;
struct dma_fence;
struct drm_exec *pfl_drm_exec_new(u32 flags, unsigned int nr);
void pfl_drm_exec_free(struct drm_exec *exec);
bool pfl_drm_exec_is_contended(struct drm_exec *exec);
unsigned int pfl_drm_exec_num_objects(struct drm_exec *exec);
struct drm_gem_object *pfl_drm_exec_obj(struct drm_exec *exec, unsigned long index);
bool pfl_drm_exec_holds(struct drm_exec *exec, struct drm_gem_object *obj);
int pfl_drm_exec_add_fence(struct drm_exec *exec, struct drm_gem_object *obj,
			   struct dma_fence *fence, int usage);
bool pfl_drm_gem_resv_test_signaled(struct drm_gem_object *obj, int usage);
long pfl_drm_gem_resv_wait(struct drm_gem_object *obj, int usage, bool intr, unsigned long timeout);
#endif
