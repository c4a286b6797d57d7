/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the driver core seen from Python (csrc/helpers/device.c).
 * Devices and drivers made by the safe layer embed the kernel's structs and
 * carry a cookie that names their Python side; the C calls back into Python
 * (extern "Python+C" in csrc/bindings/device.cdef) for probe, remove, a
 * device's release and a devres action's release.
 */
#ifndef _PFL_DEVICE_H
#define _PFL_DEVICE_H
#include <linux/device.h>
#include <linux/auxiliary_bus.h>

/* Python side (pyforlinux/device.py, auxiliary.py). */
void pfl_device_py_release(unsigned long cookie);
void pfl_devres_py_release(unsigned long cookie);
int pfl_aux_py_probe(unsigned long drv_cookie, struct auxiliary_device *adev,
		     unsigned long driver_data);
void pfl_aux_py_remove(unsigned long drv_cookie, struct auxiliary_device *adev);

/* An auxiliary device made by Python. */
struct pfl_aux_device {
	struct auxiliary_device adev;
	unsigned long cookie;
};

/* An auxiliary driver made by Python: the id table follows, zero-terminated. */
struct pfl_aux_driver {
	struct auxiliary_driver drv;
	unsigned long cookie;
	unsigned int nr_ids;
	struct auxiliary_device_id ids[];
};

/* A faux device (upstream drivers/base/faux.c, 6.15+, reduced to what 6.12
 * can host: a bus whose one driver binds every device at device_add()). */
struct pfl_faux_device {
	struct device dev;
	unsigned long cookie;
};

struct pfl_aux_device *pfl_aux_device_new(struct device *parent, const char *name, u32 id,
					  unsigned long cookie, int *err);
int pfl_aux_device_add(struct pfl_aux_device *padev, const char *modname);
void pfl_aux_device_destroy(struct pfl_aux_device *padev);
struct pfl_aux_driver *pfl_aux_driver_new(unsigned int nr_ids, unsigned long cookie);
int pfl_aux_driver_set_id(struct pfl_aux_driver *pdrv, unsigned int i, const char *match_name);
int pfl_aux_driver_register(struct pfl_aux_driver *pdrv, const char *modname);
void pfl_aux_driver_unregister(struct pfl_aux_driver *pdrv);
void pfl_aux_driver_free(struct pfl_aux_driver *pdrv);

struct pfl_faux_device *pfl_faux_device_new(struct device *parent, const char *name,
					    unsigned long cookie, int *err);
void pfl_faux_device_destroy(struct pfl_faux_device *fdev);

int pfl_devm_add_action(struct device *dev, unsigned long cookie);
int pfl_devm_remove_action(struct device *dev, unsigned long cookie);

/* Walking the device model (a sysfs view without sysfs). */
struct device *pfl_device_next(struct device *prev);
const char *pfl_dev_bus_name(const struct device *dev);
const char *pfl_dev_class_name(const struct device *dev);
const char *pfl_dev_driver_name(const struct device *dev);
unsigned int pfl_dev_refcount(const struct device *dev);
bool pfl_dev_is_bound(const struct device *dev);
unsigned long pfl_dev_cookie(struct device *dev);
struct device *pfl_aux_dev_to_dev(struct auxiliary_device *adev);
#endif
