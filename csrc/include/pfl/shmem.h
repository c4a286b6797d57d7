/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: helpers/shmem.c, gem::shmem::Object's C side. */
#ifndef _PFL_SHMEM_H
#define _PFL_SHMEM_H
#include <linux/types.h>
struct drm_device;
struct drm_driver;
struct drm_gem_object;
struct sg_table;
struct vm_area_struct;
struct drm_gem_object *pfl_drm_gem_shmem_create(struct drm_device *dev, size_t size, bool map_wc);
void pfl_drm_gem_shmem_alloc_ops(struct drm_driver *drv);
bool pfl_drm_gem_is_pfl_shmem(struct drm_gem_object *obj);
void *pfl_drm_gem_shmem_vmap(struct drm_gem_object *obj, int *err);
int pfl_drm_gem_shmem_vunmap(struct drm_gem_object *obj, void *vaddr);
struct sg_table *pfl_drm_gem_shmem_get_pages_sgt(struct drm_gem_object *obj);
unsigned int pfl_drm_gem_shmem_vmap_use_count(struct drm_gem_object *obj);
unsigned int pfl_drm_gem_shmem_pages_use_count(struct drm_gem_object *obj);
bool pfl_drm_gem_shmem_map_wc(struct drm_gem_object *obj);
#endif
