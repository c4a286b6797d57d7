// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers: a DRM device end to end over the compiled core, with
 * no Python in between (tests/test_drm_core_c.py drives it): root device ->
 * drm_dev_alloc/register -> open of the render and primary nodes through the
 * chrdev registry (drm_stub_open's replace_fops) -> ioctls by the real
 * drm_ioctl() on the client's user memory -> close, unregister, put.
 * Each step's result goes into out[] (enum pfl_drm_selftest_step).
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/uaccess.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <drm/drm_drv.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <pfl/vfs.h>
#include <pfl/drm_core.h>

DEFINE_DRM_GEM_FOPS(pfl_selftest_fops);

static const struct drm_driver pfl_selftest_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER,
	.fops = &pfl_selftest_fops,
	.name = "pfltest",
	.desc = "pyforlinux DRM core self-test",
	.major = 1,
	.minor = 2,
};

static long user_ioctl(struct file *f, unsigned int cmd, unsigned long uarg)
{
	return f->f_op->unlocked_ioctl(f, cmd, uarg);
}

int pfl_drm_selftest(long *out, int n)
{
	struct device *parent;
	struct drm_device *drm;
	struct pfl_mm *mm, *old;
	struct file *render, *primary;
	unsigned long uver, uname;
	struct drm_version ver = {};
	char name[16] = {};
	int i;

	for (i = 0; i < n; i++)
		out[i] = -9999;
	parent = root_device_register("pfl_drm_selftest");
	if (IS_ERR(parent))
		return PTR_ERR(parent);
	drm = drm_dev_alloc(&pfl_selftest_driver, parent);
	if (IS_ERR(drm)) {
		root_device_unregister(parent);
		return PTR_ERR(drm);
	}
	out[PFL_DRM_ST_REGISTER] = drm_dev_register(drm, 0);
	mm = pfl_mm_create();
	old = pfl_use_mm(mm);
	uver = pfl_mm_map(mm, sizeof(ver));
	uname = pfl_mm_map(mm, sizeof(name));

	render = pfl_chrdev_open(DRM_MAJOR, drm->render->index, O_RDWR);
	out[PFL_DRM_ST_OPEN_RENDER] = IS_ERR(render) ? PTR_ERR(render) : 0;
	if (!IS_ERR(render)) {
		out[PFL_DRM_ST_FOPS_REPLACED] = render->f_op == &pfl_selftest_fops;
		ver.name_len = sizeof(name);
		ver.name = (char __user *)uname;
		copy_to_user((void __user *)uver, &ver, sizeof(ver));
		out[PFL_DRM_ST_VERSION] = user_ioctl(render, DRM_IOCTL_VERSION, uver);
		copy_from_user(&ver, (void __user *)uver, sizeof(ver));
		copy_from_user(name, (void __user *)uname, sizeof(name) - 1);
		out[PFL_DRM_ST_VERSION_NAME_OK] = !strcmp(name, "pfltest") && ver.version_major == 1 &&
						  ver.version_minor == 2;
		out[PFL_DRM_ST_VERSION_EFAULT] = user_ioctl(render, DRM_IOCTL_VERSION, uver + 4096);
		out[PFL_DRM_ST_KMS_ON_RENDER] = user_ioctl(render, DRM_IOCTL_MODE_GETRESOURCES, uver);
		out[PFL_DRM_ST_UNKNOWN_IOCTL] = user_ioctl(render, DRM_IO(DRM_COMMAND_BASE), 0);
		fput(render);
	}
	primary = pfl_chrdev_open(DRM_MAJOR, drm->primary->index, O_RDWR);
	out[PFL_DRM_ST_OPEN_PRIMARY] = IS_ERR(primary) ? PTR_ERR(primary) : 0;
	if (!IS_ERR(primary)) {
		struct drm_mode_card_res res = {};
		unsigned long ures = pfl_mm_map(mm, sizeof(res));

		out[PFL_DRM_ST_KMS_ON_PRIMARY] = user_ioctl(primary, DRM_IOCTL_MODE_GETRESOURCES, ures);
		fput(primary);
	}
	drm_dev_unplug(drm);
	render = pfl_chrdev_open(DRM_MAJOR, drm->render->index, O_RDWR);
	out[PFL_DRM_ST_OPEN_UNPLUGGED] = IS_ERR(render) ? PTR_ERR(render) : 0;
	if (!IS_ERR(render))
		fput(render);
	drm_dev_put(drm);
	root_device_unregister(parent);
	pfl_use_mm(old);
	pfl_mm_destroy(mm);
	return 0;
}
