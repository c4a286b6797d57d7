// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for the driver core (drivers/base/ files, lib/kobject.c):
 * its boot (drivers/base/init.c) and what cffi cannot call directly
 * (static inlines and macros of linux/device.h, linux/kobject.h,
 * linux/auxiliary_bus.h), like rust/helpers/device.c and auxiliary.c.
 */
#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/auxiliary_bus.h>
#include <pfl/device.h>
#include "base.h"		/* drivers/base/base.h */

static int pfl_faux_init(void);

/* drivers/base/init.c's driver_init(), for the parts compiled here. */
void pfl_driver_init(void)
{
	devices_init();
	buses_init();
	classes_init();
	auxiliary_bus_init();
	if (pfl_faux_init())
		pfl_bug(__FILE__, __LINE__, "faux bus init failed");
}

/* ---- faux bus (upstream drivers/base/faux.c, reduced) ---- */
static int faux_match(struct device *dev, const struct device_driver *drv)
{
	return 1;	/* the faux driver binds every faux device */
}

static const struct bus_type pfl_faux_bus_type = {
	.name = "faux",
	.match = faux_match,
};

static int faux_probe(struct device *dev)
{
	return 0;
}

static struct device_driver pfl_faux_driver = {
	.name = "faux_driver",
	.bus = &pfl_faux_bus_type,
	.probe = faux_probe,
	.suppress_bind_attrs = true,
};

static struct device *pfl_faux_root;

static void pfl_faux_dev_release(struct device *dev)
{
	struct pfl_faux_device *fdev = container_of(dev, struct pfl_faux_device, dev);

	if (fdev->cookie)
		pfl_device_py_release(fdev->cookie);
	kfree(fdev);
}

struct pfl_faux_device *pfl_faux_device_new(struct device *parent, const char *name,
					    unsigned long cookie, int *err)
{
	struct pfl_faux_device *fdev = kzalloc(sizeof(*fdev), GFP_KERNEL);
	int ret;

	if (!fdev) {
		*err = -ENOMEM;
		return NULL;
	}
	fdev->cookie = cookie;
	device_initialize(&fdev->dev);
	fdev->dev.release = pfl_faux_dev_release;
	fdev->dev.parent = parent ? parent : pfl_faux_root;
	fdev->dev.bus = &pfl_faux_bus_type;
	ret = dev_set_name(&fdev->dev, "%s", name);
	if (!ret)
		ret = device_add(&fdev->dev);
	if (!ret && !fdev->dev.driver) {
		/* faux.c: a device the faux driver did not bind is an error. */
		device_del(&fdev->dev);
		ret = -ENODEV;
	}
	if (ret) {
		fdev->cookie = 0;	/* no Python side to tell */
		put_device(&fdev->dev);
		*err = ret;
		return NULL;
	}
	*err = 0;
	return fdev;
}

void pfl_faux_device_destroy(struct pfl_faux_device *fdev)
{
	device_unregister(&fdev->dev);
}

/* ---- auxiliary devices and drivers made by Python ---- */
static void pfl_aux_dev_release(struct device *dev)
{
	struct auxiliary_device *adev = to_auxiliary_dev(dev);
	struct pfl_aux_device *padev = container_of(adev, struct pfl_aux_device, adev);

	if (padev->cookie)
		pfl_device_py_release(padev->cookie);
	kfree(adev->name);
	kfree(padev);
}

/* auxiliary_device_init() of a new device; the cookie names its Python side. */
struct pfl_aux_device *pfl_aux_device_new(struct device *parent, const char *name, u32 id,
					  unsigned long cookie, int *err)
{
	struct pfl_aux_device *padev = kzalloc(sizeof(*padev), GFP_KERNEL);
	int ret;

	if (!padev) {
		*err = -ENOMEM;
		return NULL;
	}
	padev->adev.name = kstrdup(name, GFP_KERNEL);
	if (!padev->adev.name) {
		kfree(padev);
		*err = -ENOMEM;
		return NULL;
	}
	padev->adev.id = id;
	padev->adev.dev.parent = parent;
	padev->adev.dev.release = pfl_aux_dev_release;
	ret = auxiliary_device_init(&padev->adev);
	if (ret) {
		kfree(padev->adev.name);
		kfree(padev);
		*err = ret;
		return NULL;
	}
	padev->cookie = cookie;
	*err = 0;
	return padev;
}

/* __auxiliary_device_add(); on failure the device is dropped
 * (auxiliary_device_uninit()) without calling back its Python side. */
int pfl_aux_device_add(struct pfl_aux_device *padev, const char *modname)
{
	int ret = __auxiliary_device_add(&padev->adev, modname);

	if (ret) {
		padev->cookie = 0;
		auxiliary_device_uninit(&padev->adev);
	}
	return ret;
}

void pfl_aux_device_destroy(struct pfl_aux_device *padev)
{
	auxiliary_device_delete(&padev->adev);
	auxiliary_device_uninit(&padev->adev);
}

static int pfl_aux_probe(struct auxiliary_device *adev, const struct auxiliary_device_id *id)
{
	struct pfl_aux_driver *pdrv = container_of(to_auxiliary_drv(adev->dev.driver),
						   struct pfl_aux_driver, drv);

	return pfl_aux_py_probe(pdrv->cookie, adev, id->driver_data);
}

static void pfl_aux_remove(struct auxiliary_device *adev)
{
	struct pfl_aux_driver *pdrv = container_of(to_auxiliary_drv(adev->dev.driver),
						   struct pfl_aux_driver, drv);

	pfl_aux_py_remove(pdrv->cookie, adev);
}

struct pfl_aux_driver *pfl_aux_driver_new(unsigned int nr_ids, unsigned long cookie)
{
	struct pfl_aux_driver *pdrv;

	pdrv = kzalloc(struct_size(pdrv, ids, nr_ids + 1), GFP_KERNEL);
	if (!pdrv)
		return NULL;
	pdrv->drv.probe = pfl_aux_probe;
	pdrv->drv.remove = pfl_aux_remove;
	pdrv->drv.id_table = pdrv->ids;
	pdrv->nr_ids = nr_ids;
	pdrv->cookie = cookie;
	return pdrv;
}

/* Entry @i matches devices named "<match_name>.<id>"; its driver_data is @i. */
int pfl_aux_driver_set_id(struct pfl_aux_driver *pdrv, unsigned int i, const char *match_name)
{
	if (i >= pdrv->nr_ids || !*match_name)
		return -EINVAL;
	if (strscpy(pdrv->ids[i].name, match_name) < 0)
		return -ENAMETOOLONG;
	pdrv->ids[i].driver_data = i;
	return 0;
}

/* The driver is named @modname (auxdrv->name is NULL). */
int pfl_aux_driver_register(struct pfl_aux_driver *pdrv, const char *modname)
{
	return __auxiliary_driver_register(&pdrv->drv, NULL, modname);
}

void pfl_aux_driver_unregister(struct pfl_aux_driver *pdrv)
{
	auxiliary_driver_unregister(&pdrv->drv);
}

void pfl_aux_driver_free(struct pfl_aux_driver *pdrv)
{
	kfree(pdrv);
}

struct device *pfl_aux_dev_to_dev(struct auxiliary_device *adev)
{
	return &adev->dev;
}

/* ---- devres actions of Python code ---- */
struct pfl_devres {
	unsigned long cookie;
};

static void pfl_devres_release(struct device *dev, void *res)
{
	pfl_devres_py_release(((struct pfl_devres *)res)->cookie);
}

static int pfl_devres_match(struct device *dev, void *res, void *data)
{
	return ((struct pfl_devres *)res)->cookie == *(unsigned long *)data;
}

/* devm_add_action() of a Python action: released in the kernel's order
 * (reverse of addition) by devres_release_all() at unbind. */
int pfl_devm_add_action(struct device *dev, unsigned long cookie)
{
	struct pfl_devres *res = devres_alloc(pfl_devres_release, sizeof(*res), GFP_KERNEL);

	if (!res)
		return -ENOMEM;
	res->cookie = cookie;
	devres_add(dev, res);
	return 0;
}

/* devm_remove_action_nowarn(): 1 if the action was still registered. */
int pfl_devm_remove_action(struct device *dev, unsigned long cookie)
{
	void *res = devres_remove(dev, pfl_devres_release, pfl_devres_match, &cookie);

	if (!res)
		return 0;
	devres_free(res);
	return 1;
}

/* ---- walking the device model ---- */

/*
 * The device after @prev on devices_kset (every registered device, parents
 * before children, as /sys/devices is populated), with a reference the next
 * call (or the caller) drops; NULL at the end or if @prev left the list.
 * Drops the reference on @prev.
 */
struct device *pfl_device_next(struct device *prev)
{
	struct list_head *pos;
	struct device *next = NULL;

	spin_lock(&devices_kset->list_lock);
	if (!prev)
		pos = devices_kset->list.next;
	else if (list_empty(&prev->kobj.entry))
		pos = &devices_kset->list;
	else
		pos = prev->kobj.entry.next;
	for (; pos != &devices_kset->list; pos = pos->next) {
		struct kobject *k = list_entry(pos, struct kobject, entry);

		if (kobject_get_unless_zero(k)) {
			next = kobj_to_dev(k);
			break;
		}
	}
	spin_unlock(&devices_kset->list_lock);
	if (prev)
		put_device(prev);
	return next;
}

const char *pfl_dev_bus_name(const struct device *dev)
{
	return dev->bus ? dev->bus->name : NULL;
}

const char *pfl_dev_class_name(const struct device *dev)
{
	return dev->class ? dev->class->name : NULL;
}

const char *pfl_dev_driver_name(const struct device *dev)
{
	const struct device_driver *drv = READ_ONCE(dev->driver);

	return drv ? drv->name : NULL;
}

unsigned int pfl_dev_refcount(const struct device *dev)
{
	return kref_read(&dev->kobj.kref);
}

bool pfl_dev_is_bound(const struct device *dev)
{
	return device_is_bound((struct device *)dev);
}

/* The cookie of a device made by Python (0 for any other device). */
unsigned long pfl_dev_cookie(struct device *dev)
{
	if (dev->release == pfl_aux_dev_release)
		return container_of(to_auxiliary_dev(dev), struct pfl_aux_device, adev)->cookie;
	if (dev->release == pfl_faux_dev_release)
		return container_of(dev, struct pfl_faux_device, dev)->cookie;
	return 0;
}

static void pfl_faux_root_release(struct device *dev)
{
	kfree(dev);
}

/* faux_bus_init(): the root device, the bus and its driver. */
static int pfl_faux_init(void)
{
	int ret;

	pfl_faux_root = kzalloc(sizeof(*pfl_faux_root), GFP_KERNEL);
	if (!pfl_faux_root)
		return -ENOMEM;
	dev_set_name(pfl_faux_root, "faux");
	pfl_faux_root->release = pfl_faux_root_release;
	ret = device_register(pfl_faux_root);
	if (ret)
		return ret;
	ret = bus_register(&pfl_faux_bus_type);
	if (ret)
		return ret;
	return driver_register(&pfl_faux_driver);
}
