// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/drm: the drm_driver vtable, the
 * file_operations, the ioctl trampolines and the GEM object funcs of a
 * driver whose callbacks are Python. See csrc/include/pfl/drm_driver.h.
 *
 * Rust: rust/kernel/drm/device.rs (VTABLE), drm/gem/mod.rs (create_fops,
 * OBJECT_FUNCS), drm/ioctl.rs (declare_drm_ioctls!), drm/file.rs
 * (open_callback, postclose_callback).
 * C headers: include/drm/drm_drv.h, drm_ioctl.h, drm_gem.h, drm_file.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/cred.h>
#include <drm/drm_auth.h>
#include <drm/drm_managed.h>
#include <pfl/drm_driver.h>

struct pfl_drm_driver {
	struct drm_driver base;
	unsigned int pfl_flags;		/* PFL_DRM_DRIVER_* */
	struct file_operations fops;
	struct drm_ioctl_desc ioctls[PFL_DRM_MAX_IOCTLS];
};

static struct pfl_drm_driver *to_pfl(const struct drm_driver *drv)
{
	return container_of(drv, struct pfl_drm_driver, base);
}

/*
 * The Python handler of driver ioctl @index inside drm_dev_enter()/
 * drm_dev_exit(): -ENODEV once the device is unplugged, and
 * drm_dev_unplug() waits for the handlers in flight (its SRCU grace
 * period). Here rather than in Python: two fewer FFI crossings per ioctl.
 */
static int pfl_drm_ioctl_entered(unsigned int index, struct drm_device *dev, void *data,
				 struct drm_file *file)
{
	int idx, ret;

	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;
	ret = pfl_drm_py_ioctl(index, dev, data, file);
	drm_dev_exit(idx);
	return ret;
}

/*
 * One trampoline per driver ioctl index, as declare_drm_ioctls! makes one
 * extern "C" fn per entry: drm_ioctl() gives a handler only (dev, data,
 * file), so the index is in which function it calls.
 */
#define PFL_DRM_IOCTL(n)							\
static int pfl_drm_ioctl_##n(struct drm_device *dev, void *data,		\
			     struct drm_file *file)				\
{										\
	return pfl_drm_ioctl_entered(n, dev, data, file);			\
}
#define PFL_DRM_IOCTL10(d)							\
	PFL_DRM_IOCTL(d##0) PFL_DRM_IOCTL(d##1) PFL_DRM_IOCTL(d##2)		\
	PFL_DRM_IOCTL(d##3) PFL_DRM_IOCTL(d##4) PFL_DRM_IOCTL(d##5)		\
	PFL_DRM_IOCTL(d##6) PFL_DRM_IOCTL(d##7) PFL_DRM_IOCTL(d##8)		\
	PFL_DRM_IOCTL(d##9)
PFL_DRM_IOCTL(0) PFL_DRM_IOCTL(1) PFL_DRM_IOCTL(2) PFL_DRM_IOCTL(3)
PFL_DRM_IOCTL(4) PFL_DRM_IOCTL(5) PFL_DRM_IOCTL(6) PFL_DRM_IOCTL(7)
PFL_DRM_IOCTL(8) PFL_DRM_IOCTL(9)
PFL_DRM_IOCTL10(1) PFL_DRM_IOCTL10(2) PFL_DRM_IOCTL10(3) PFL_DRM_IOCTL10(4)
PFL_DRM_IOCTL10(5) PFL_DRM_IOCTL10(6) PFL_DRM_IOCTL10(7) PFL_DRM_IOCTL10(8)
PFL_DRM_IOCTL(90) PFL_DRM_IOCTL(91) PFL_DRM_IOCTL(92) PFL_DRM_IOCTL(93)
PFL_DRM_IOCTL(94) PFL_DRM_IOCTL(95)

#define PFL_DRM_IOCTL_REF10(d)							\
	pfl_drm_ioctl_##d##0, pfl_drm_ioctl_##d##1, pfl_drm_ioctl_##d##2,	\
	pfl_drm_ioctl_##d##3, pfl_drm_ioctl_##d##4, pfl_drm_ioctl_##d##5,	\
	pfl_drm_ioctl_##d##6, pfl_drm_ioctl_##d##7, pfl_drm_ioctl_##d##8,	\
	pfl_drm_ioctl_##d##9
static drm_ioctl_t *const pfl_drm_ioctl_trampolines[] = {
	pfl_drm_ioctl_0, pfl_drm_ioctl_1, pfl_drm_ioctl_2, pfl_drm_ioctl_3,
	pfl_drm_ioctl_4, pfl_drm_ioctl_5, pfl_drm_ioctl_6, pfl_drm_ioctl_7,
	pfl_drm_ioctl_8, pfl_drm_ioctl_9,
	PFL_DRM_IOCTL_REF10(1), PFL_DRM_IOCTL_REF10(2), PFL_DRM_IOCTL_REF10(3),
	PFL_DRM_IOCTL_REF10(4), PFL_DRM_IOCTL_REF10(5), PFL_DRM_IOCTL_REF10(6),
	PFL_DRM_IOCTL_REF10(7), PFL_DRM_IOCTL_REF10(8),
	pfl_drm_ioctl_90, pfl_drm_ioctl_91, pfl_drm_ioctl_92, pfl_drm_ioctl_93,
	pfl_drm_ioctl_94, pfl_drm_ioctl_95,
};
static_assert(ARRAY_SIZE(pfl_drm_ioctl_trampolines) == PFL_DRM_MAX_IOCTLS,
	      "one trampoline per driver ioctl number");

/* drm_driver callbacks: File::open_callback/postclose_callback, Device::release. */
static int pfl_drm_open(struct drm_device *dev, struct drm_file *file)
{
	return pfl_drm_py_open(dev, file);
}

static void pfl_drm_postclose(struct drm_device *dev, struct drm_file *file)
{
	pfl_drm_py_postclose(dev, file);
}

static void pfl_drm_release(struct drm_device *dev)
{
	pfl_drm_py_release(dev);
}

static int pfl_drm_dumb_create(struct drm_file *file, struct drm_device *dev,
			       struct drm_mode_create_dumb *args)
{
	return pfl_drm_py_dumb_create(file, dev, args);
}

struct drm_driver *pfl_drm_driver_new(const char *name, const char *desc, const char *date,
				      int major, int minor, int patchlevel, u32 features,
				      unsigned int pfl_flags)
{
	struct pfl_drm_driver *p = kzalloc(sizeof(*p), GFP_KERNEL);
	struct drm_driver *drv;

	if (!p)
		return NULL;
	drv = &p->base;
	p->pfl_flags = pfl_flags;
	drv->name = kstrdup(name, GFP_KERNEL);
	drv->desc = kstrdup(desc, GFP_KERNEL);
	drv->date = kstrdup(date, GFP_KERNEL);
	if (!drv->name || !drv->desc || !drv->date) {
		pfl_drm_driver_free(drv);
		return NULL;
	}
	drv->major = major;
	drv->minor = minor;
	drv->patchlevel = patchlevel;
	drv->driver_features = features;
	drv->open = pfl_drm_open;
	drv->postclose = pfl_drm_postclose;
	drv->release = pfl_drm_release;
	if (pfl_flags & PFL_DRM_DRIVER_DUMB)
		drv->dumb_create = pfl_drm_dumb_create;
	drv->ioctls = p->ioctls;
	drv->num_ioctls = 0;

	/* create_fops() of rust/kernel/drm/gem/mod.rs (DEFINE_DRM_GEM_FOPS). */
	p->fops.owner = NULL;
	p->fops.open = drm_open;
	p->fops.release = drm_release;
	p->fops.unlocked_ioctl = drm_ioctl;
	p->fops.poll = drm_poll;
	p->fops.read = drm_read;
	p->fops.llseek = noop_llseek;
	p->fops.mmap = drm_gem_mmap;
	p->fops.fop_flags = FOP_UNSIGNED_OFFSET;
	drv->fops = &p->fops;
	return drv;
}

int pfl_drm_driver_set_ioctl(struct drm_driver *drv, unsigned int index, unsigned int cmd,
			     u32 flags, const char *name)
{
	struct pfl_drm_driver *p = to_pfl(drv);
	struct drm_ioctl_desc *d;
	const char *copy;

	if (index >= PFL_DRM_MAX_IOCTLS || !name)
		return -EINVAL;
	copy = kstrdup(name, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	d = &p->ioctls[index];
	kfree(d->name);
	d->cmd = cmd;
	d->flags = flags;
	d->func = pfl_drm_ioctl_trampolines[index];
	d->name = copy;
	if ((int)index >= drv->num_ioctls)
		drv->num_ioctls = index + 1;
	return 0;
}

void pfl_drm_driver_free(struct drm_driver *drv)
{
	struct pfl_drm_driver *p;
	int i;

	if (!drv)
		return;
	p = to_pfl(drv);
	for (i = 0; i < PFL_DRM_MAX_IOCTLS; i++)
		kfree(p->ioctls[i].name);
	kfree(drv->name);
	kfree(drv->desc);
	kfree(drv->date);
	kfree(p);
}

static void pfl_drm_driver_release_action(struct drm_device *dev, void *drv)
{
	pfl_drm_driver_free(drv);
}

struct drm_device *pfl_drm_dev_alloc(struct drm_driver *drv, struct device *parent)
{
	struct drm_device *dev = drm_dev_alloc(drv, parent);
	int ret;

	if (IS_ERR(dev)) {
		pfl_drm_driver_free(drv);
		return dev;
	}
	ret = drmm_add_action(dev, pfl_drm_driver_release_action, drv);
	if (ret) {
		drm_dev_put(dev);	/* drm_driver.release of a device Python never saw */
		pfl_drm_driver_free(drv);
		return ERR_PTR(ret);
	}
	return dev;
}

int pfl_drm_dev_is_unplugged(struct drm_device *dev)
{
	return drm_dev_is_unplugged(dev);
}

unsigned int pfl_drm_dev_refcount(struct drm_device *dev)
{
	return kref_read(&dev->ref);
}

int pfl_drm_dev_open_count(struct drm_device *dev)
{
	return atomic_read(&dev->open_count);
}

int pfl_drm_minor_index(struct drm_device *dev, int type)
{
	struct drm_minor *minor;

	switch (type) {
	case DRM_MINOR_PRIMARY:
		minor = dev->primary;
		break;
	case DRM_MINOR_RENDER:
		minor = dev->render;
		break;
	default:
		minor = NULL;
	}
	return minor ? minor->index : -1;
}

int pfl_drm_file_is_render_client(struct drm_file *file)
{
	return drm_is_render_client(file);
}

int pfl_drm_file_is_master(struct drm_file *file)
{
	return drm_is_current_master(file);
}

int pfl_drm_file_authenticated(struct drm_file *file)
{
	return file->authenticated;
}

struct drm_device *pfl_drm_file_device(struct drm_file *file)
{
	return file->minor->dev;
}

struct drm_file *pfl_drm_file_of(struct file *filp)
{
	return filp->private_data;
}

size_t pfl_cred_size(void)
{
	return sizeof(struct cred);
}

void pfl_cred_init(struct cred *cred, unsigned int uid, unsigned int euid, unsigned int gid,
		   unsigned int egid)
{
	memset(cred, 0, sizeof(*cred));
	refcount_set(&cred->usage, 1);
	cred->uid = KUIDT_INIT(uid);
	cred->euid = KUIDT_INIT(euid);
	cred->gid = KGIDT_INIT(gid);
	cred->egid = KGIDT_INIT(egid);
	cred->cap_effective.val = euid == 0 ? ~0ULL : 0;
}

long pfl_vfs_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (!filp->f_op->unlocked_ioctl)
		return -ENOTTY;
	return filp->f_op->unlocked_ioctl(filp, cmd, arg);
}

long pfl_drm_ioctl_as(struct file *filp, unsigned int cmd, unsigned long arg, struct pfl_mm *mm,
		      const struct cred *cred, void *buf, size_t len)
{
	struct pfl_mm *old_mm = NULL;
	const struct cred *old_cred = NULL;
	unsigned long uaddr = 0;
	void *host = NULL;
	long ret = -ENOMEM;

	if (mm && buf) {
		/* The argument in a fresh mapping of the client's memory (at
		 * least one byte, so the address is a mapped one). */
		uaddr = pfl_mm_map(mm, len ? len : 1);
		host = uaddr ? pfl_mm_host(mm, uaddr, len) : NULL;
		if (host) {
			memcpy(host, buf, len);
			arg = uaddr;
		}
	}
	if (mm)
		old_mm = pfl_use_mm(mm);
	if (cred)
		old_cred = pfl_set_current_cred(cred);
	if (host || !buf || !mm)
		ret = pfl_vfs_ioctl(filp, cmd, arg);
	fput(filp);	/* fdput(), still as the task: a last put runs drm_release() */
	if (cred)
		pfl_set_current_cred(old_cred);
	if (mm)
		pfl_use_mm(old_mm);
	if (uaddr) {
		/* Only a handler freeing the client's mapping by its address
		 * could have unmapped it: -EFAULT then, as a read of it would. */
		host = pfl_mm_host(mm, uaddr, len);
		if (host) {
			memcpy(buf, host, len);
			pfl_mm_unmap(mm, uaddr);
		} else {
			ret = -EFAULT;
		}
	}
	return ret;
}

/* gem::Object<T>'s OBJECT_FUNCS: open/close/free reach the driver's data. */
static int pfl_drm_gem_open(struct drm_gem_object *obj, struct drm_file *file)
{
	if (!(to_pfl(obj->dev->driver)->pfl_flags & PFL_DRM_DRIVER_GEM_OPEN))
		return 0;	/* the default open(): nothing to do */
	return pfl_drm_py_gem_open(obj, file);
}

static void pfl_drm_gem_close(struct drm_gem_object *obj, struct drm_file *file)
{
	if (to_pfl(obj->dev->driver)->pfl_flags & PFL_DRM_DRIVER_GEM_CLOSE)
		pfl_drm_py_gem_close(obj, file);
}

/* Object::free_callback: release the C object, then the driver's data. */
static void pfl_drm_gem_free(struct drm_gem_object *obj)
{
	struct drm_device *dev = obj->dev;

	drm_gem_object_release(obj);
	pfl_drm_py_gem_free(obj);
	kfree(obj);
	drm_dev_put(dev);
}

/* Mappings: drm_gem_mmap_obj() takes an object reference, vm_close drops it. */
static const struct vm_operations_struct pfl_drm_gem_vm_ops = {
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static const struct drm_gem_object_funcs pfl_drm_gem_object_funcs = {
	.free = pfl_drm_gem_free,
	.open = pfl_drm_gem_open,
	.close = pfl_drm_gem_close,
	.vm_ops = &pfl_drm_gem_vm_ops,
};

struct drm_gem_object *pfl_drm_gem_object_new(struct drm_device *dev, size_t size)
{
	struct drm_gem_object *obj;

	if (!size || size & ~PAGE_MASK)
		return ERR_PTR(-EINVAL);
	obj = kzalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->funcs = &pfl_drm_gem_object_funcs;
	drm_gem_private_object_init(dev, obj, size);
	drm_dev_get(dev);
	return obj;
}

unsigned int pfl_drm_gem_object_refcount(struct drm_gem_object *obj)
{
	return kref_read(&obj->refcount);
}

unsigned int pfl_drm_gem_handle_count(struct drm_gem_object *obj)
{
	return READ_ONCE(obj->handle_count);
}

u64 pfl_drm_gem_mmap_offset(struct drm_gem_object *obj)
{
	return drm_vma_node_offset_addr(&obj->vma_node);
}

/* Where mmap(2) puts mappings: any page-aligned user range; only its size matters. */
static atomic_long_t pfl_drm_mmap_next = ATOMIC_LONG_INIT(0x7e0000000000UL);

struct vm_area_struct *pfl_drm_mmap(struct file *filp, u64 offset, u64 len, int writable)
{
	struct vm_area_struct *vma;
	unsigned long size;
	vm_flags_t flags = VM_READ | VM_MAYREAD | VM_SHARED | VM_MAYSHARE;
	int ret;

	/* do_mmap(): a zero length or an unaligned offset is -EINVAL. */
	if (!len || offset & ~PAGE_MASK || len > (1UL << 40))
		return ERR_PTR(-EINVAL);
	if (!filp->f_op->mmap)
		return ERR_PTR(-ENODEV);
	if (writable)
		flags |= VM_WRITE | VM_MAYWRITE;
	size = PAGE_ALIGN(len);
	vma = kzalloc(sizeof(*vma), GFP_KERNEL);
	if (!vma)
		return ERR_PTR(-ENOMEM);
	vma->vm_start = atomic_long_add_return(size + PAGE_SIZE, &pfl_drm_mmap_next) - size;
	vma->vm_end = vma->vm_start + size;
	vma->vm_pgoff = offset >> PAGE_SHIFT;
	vm_flags_set(vma, flags);	/* on a zeroed vma: vm_flags_init() */
	vma->vm_file = get_file(filp);
	ret = filp->f_op->mmap(filp, vma);
	if (ret) {
		fput(filp);
		kfree(vma);
		return ERR_PTR(ret);
	}
	return vma;
}

void pfl_drm_munmap(struct vm_area_struct *vma)
{
	if (vma->vm_ops && vma->vm_ops->close)
		vma->vm_ops->close(vma);
	fput(vma->vm_file);
	kfree(vma);
}

/* The mmap offset (bytes) at which the object covering fake offset `offset`
 * of the file's device starts, and its size in *size; 0 if no object covers
 * it. For a page-cache fill at an arbitrary page of a node (the device-node
 * bridge), whose mapping must then start at the object (drm_gem_mmap() looks
 * the offset up exactly). drm_vma_offset_lookup_locked() under the lookup lock,
 * as drm_gem_mmap() does; no reference is taken (the answer is a number). */
u64 pfl_drm_mmap_lookup(struct file *filp, u64 offset, u64 *size)
{
	struct drm_file *priv = filp->private_data;
	struct drm_vma_offset_manager *mgr = priv->minor->dev->vma_offset_manager;
	struct drm_vma_offset_node *node;
	u64 start = 0;

	if (!mgr)
		return 0;
	drm_vma_offset_lock_lookup(mgr);
	node = drm_vma_offset_lookup_locked(mgr, offset >> PAGE_SHIFT, 1);
	if (node) {
		start = drm_vma_node_offset_addr(node);
		*size = drm_vma_node_size(node) << PAGE_SHIFT;
	}
	drm_vma_offset_unlock_lookup(mgr);
	return start;
}

struct drm_gem_object *pfl_drm_vma_gem_object(struct vm_area_struct *vma)
{
	return vma->vm_private_data;
}
