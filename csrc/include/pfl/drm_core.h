/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: the DRM core end-to-end self-test (helpers/drm_core.c). */
#ifndef _PFL_DRM_CORE_H
#define _PFL_DRM_CORE_H
enum pfl_drm_selftest_step {
	PFL_DRM_ST_REGISTER,
	PFL_DRM_ST_OPEN_RENDER,
	PFL_DRM_ST_FOPS_REPLACED,
	PFL_DRM_ST_VERSION,
	PFL_DRM_ST_VERSION_NAME_OK,
	PFL_DRM_ST_VERSION_EFAULT,
	PFL_DRM_ST_KMS_ON_RENDER,
	PFL_DRM_ST_UNKNOWN_IOCTL,
	PFL_DRM_ST_OPEN_PRIMARY,
	PFL_DRM_ST_KMS_ON_PRIMARY,
	PFL_DRM_ST_OPEN_UNPLUGGED,
	PFL_DRM_ST_NR,
};
int pfl_drm_selftest(long *out, int n);
/* build/gen/kms_stubs.c: calls of a WARNing KMS stub so far. */
extern unsigned long pfl_kms_stub_calls;
#endif
