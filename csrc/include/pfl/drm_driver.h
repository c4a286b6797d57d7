/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the C side of a DRM driver written in Python (pyforlinux/drm),
 * what rust/kernel/drm builds in Rust: the `struct drm_driver` vtable
 * (rust/kernel/drm/device.rs VTABLE), the file_operations
 * (rust/kernel/drm/gem/mod.rs create_fops()), the ioctl table of
 * `declare_drm_ioctls!` (rust/kernel/drm/ioctl.rs) and the
 * `drm_gem_object_funcs` of gem::Object<T> (OBJECT_FUNCS).
 *
 * Everything the DRM core does -- allocating the device, minors, opening
 * and releasing files, decoding and dispatching ioctls, permission checks,
 * copying arguments, handle tables, mmap offsets -- is the unmodified C of
 * drivers/gpu/drm. Only the driver's own callbacks reach Python, through the
 * extern "Python+C" functions pfl_drm_py_* (defined by the cffi extension,
 * declared in csrc/bindings/drm_driver.cdef):
 *
 *   ioctl     pfl_drm_py_ioctl(index, dev, data, file): driver ioctl number
 *             DRM_COMMAND_BASE + index; a C trampoline per index sits in
 *             the table's .func (drm_ioctl() passes no number);
 *   open      pfl_drm_py_open(dev, file)       (drm_driver.open)
 *   postclose pfl_drm_py_postclose(dev, file)  (drm_driver.postclose)
 *   release   pfl_drm_py_release(dev)          (drm_driver.release)
 *   gem       pfl_drm_py_gem_{open,close,free} (drm_gem_object_funcs)
 *   dumb      pfl_drm_py_dumb_create(file, dev, args) (drm_driver.dumb_create,
 *             only for drivers that declare dumb buffers)
 *
 * C headers: include/drm/drm_drv.h, drm_ioctl.h, drm_gem.h, drm_file.h
 */
#ifndef _PFL_DRM_DRIVER_H
#define _PFL_DRM_DRIVER_H
#include <linux/types.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_vma_manager.h>
#include <uapi/drm/drm_mode.h>
#include <pfl/vfs.h>

/* Driver ioctl numbers are DRM_COMMAND_BASE .. DRM_COMMAND_END - 1. */
#define PFL_DRM_MAX_IOCTLS (DRM_COMMAND_END - DRM_COMMAND_BASE)

/* Feature bits a Python driver may ask for (the rest are KMS or legacy). */
#define PFL_DRM_DRIVER_DUMB	0x1	/* has dumb_create: MODE_CREATE/MAP_DUMB work */
/*
 * The driver's GEM object data has its own open()/close() (gem::DriverObject):
 * without, the plain objects' funcs do not call into Python for them (the
 * default hooks do nothing, as a C driver's NULL gem funcs).
 */
#define PFL_DRM_DRIVER_GEM_OPEN	0x2
#define PFL_DRM_DRIVER_GEM_CLOSE	0x4

/*
 * A driver's vtable. @name, @desc, @date are copied. @features are DRIVER_*
 * (drm_driver_feature); the core's DRIVER_GEM | DRIVER_RENDER is what
 * rust/kernel/drm sets. Returns NULL without memory.
 */
struct drm_driver *pfl_drm_driver_new(const char *name, const char *desc, const char *date,
				      int major, int minor, int patchlevel, u32 features,
				      unsigned int pfl_flags);
/*
 * Fill entry @index of the driver's ioctl table (the entry for ioctl number
 * DRM_COMMAND_BASE + @index): @cmd, @flags (enum drm_ioctl_flags), @name
 * (copied). num_ioctls becomes max(index + 1, num_ioctls); entries left
 * unset have no .func, which drm_ioctl() answers with -EINVAL.
 * -EINVAL for an index out of range, -ENOMEM.
 */
int pfl_drm_driver_set_ioctl(struct drm_driver *drv, unsigned int index, unsigned int cmd,
			     u32 flags, const char *name);
/* Free a vtable no device uses (one that pfl_drm_dev_alloc() did not take). */
void pfl_drm_driver_free(struct drm_driver *drv);
/*
 * drm_dev_alloc() with a vtable of its own, which the device owns from here
 * on, whatever the outcome: a drmm action frees it when the device is
 * released (after drm_driver.release, when the core no longer reads it).
 * ERR_PTR() on failure (the vtable is freed).
 */
struct drm_device *pfl_drm_dev_alloc(struct drm_driver *drv, struct device *parent);

/* Fields for Python (static inlines and bitfields cffi cannot reach). */
int pfl_drm_dev_is_unplugged(struct drm_device *dev);
unsigned int pfl_drm_dev_refcount(struct drm_device *dev);
int pfl_drm_dev_open_count(struct drm_device *dev);
int pfl_drm_minor_index(struct drm_device *dev, int type);	/* -1: none */
int pfl_drm_file_is_render_client(struct drm_file *file);
int pfl_drm_file_is_master(struct drm_file *file);		/* drm_is_current_master() */
int pfl_drm_file_authenticated(struct drm_file *file);
struct drm_device *pfl_drm_file_device(struct drm_file *file);
struct drm_file *pfl_drm_file_of(struct file *filp);		/* filp->private_data */
/* ioctl(2) on an open file: f_op->unlocked_ioctl, -ENOTTY without (vfs_ioctl()). */
long pfl_vfs_ioctl(struct file *filp, unsigned int cmd, unsigned long arg);
/*
 * ioctl(2) as a task (pyforlinux.drm.file.OpenFile._ioctl): pfl_vfs_ioctl()
 * with the file reference @filp (taken by the caller with get_file())
 * dropped after the call, inside the task's context. With @mm, the call
 * runs with @mm as current->mm; with @mm and @buf, the argument is @len
 * bytes of @buf staged in a fresh mapping of @mm (the client's user
 * memory, at least one byte) whose address replaces @arg, and the @len
 * bytes there are copied back into @buf and the mapping unmapped
 * afterwards; -ENOMEM
 * (no call made) if no mapping could be made, -EFAULT if the mapping was
 * gone after the call (a handler unmapped it). With @cred, the call runs
 * with @cred as current_cred(). Both are restored after the call. The
 * ioctl's result.
 */
long pfl_drm_ioctl_as(struct file *filp, unsigned int cmd, unsigned long arg, struct pfl_mm *mm,
		      const struct cred *cred, void *buf, size_t len);

/*
 * GEM objects: a kzalloc'd struct drm_gem_object with the funcs above,
 * initialised with drm_gem_private_object_init() (@size a positive multiple
 * of PAGE_SIZE: -EINVAL otherwise, where the C would BUG), holding a device
 * reference (drm_dev_get) until freed. The object's own kref is its
 * reference count; the last drm_gem_object_put() runs .free:
 * drm_gem_object_release(), pfl_drm_py_gem_free() (the driver's data),
 * kfree(), drm_dev_put().
 */
struct drm_gem_object *pfl_drm_gem_object_new(struct drm_device *dev, size_t size);
unsigned int pfl_drm_gem_object_refcount(struct drm_gem_object *obj);
unsigned int pfl_drm_gem_handle_count(struct drm_gem_object *obj);
u64 pfl_drm_gem_mmap_offset(struct drm_gem_object *obj);	/* drm_vma_node_offset_addr */

/*
 * mmap(2) of @len bytes at byte @offset of an open DRM file (drm_gem_mmap()
 * maps from an object's start only: its exact offset, @len within its size): a vma (no page
 * tables: the mapping's bytes are read through the object's driver) on which
 * filp->f_op->mmap (drm_gem_mmap) ran; it holds a file reference (get_file)
 * and whatever the driver's mmap took (drm_gem_mmap: an object reference).
 * ERR_PTR(-EINVAL) for an unaligned offset or a zero length (do_mmap()),
 * or what f_op->mmap returned.
 */
struct vm_area_struct *pfl_drm_mmap(struct file *filp, u64 offset, u64 len, int writable);
/* munmap(2): vm_ops->close (drm_gem_vm_close: the object reference), fput. */
void pfl_drm_munmap(struct vm_area_struct *vma);
struct drm_gem_object *pfl_drm_vma_gem_object(struct vm_area_struct *vma);
u64 pfl_drm_mmap_lookup(struct file *filp, u64 offset, u64 *size);

/*
 * Credentials of a client (for capable(), drm_ioctl_permit()'s ROOT_ONLY):
 * a struct cred of pfl_cred_size() bytes in caller memory, initialised with
 * the ids and, for an effective uid of 0, every capability (what the
 * runtime's process credentials do). Made current with pfl_set_current_cred().
 */
size_t pfl_cred_size(void);
void pfl_cred_init(struct cred *cred, unsigned int uid, unsigned int euid, unsigned int gid,
		   unsigned int egid);

/* Defined by the cffi extension (extern "Python+C" in drm_driver.cdef). */
int pfl_drm_py_ioctl(unsigned int index, struct drm_device *dev, void *data,
		     struct drm_file *file);
int pfl_drm_py_open(struct drm_device *dev, struct drm_file *file);
void pfl_drm_py_postclose(struct drm_device *dev, struct drm_file *file);
void pfl_drm_py_release(struct drm_device *dev);
int pfl_drm_py_gem_open(struct drm_gem_object *obj, struct drm_file *file);
void pfl_drm_py_gem_close(struct drm_gem_object *obj, struct drm_file *file);
void pfl_drm_py_gem_free(struct drm_gem_object *obj);
int pfl_drm_py_dumb_create(struct drm_file *file, struct drm_device *dev,
			   struct drm_mode_create_dumb *args);

#endif /* _PFL_DRM_DRIVER_H */
