/* SPDX-License-Identifier: MIT */
/* pyforlinux: the drm_printer subset the GPU buddy allocator uses; it prints
 * through the runtime log. C header: include/drm/drm_print.h */
#ifndef DRM_PRINT_H_
#define DRM_PRINT_H_
#include <linux/printk.h>
#include <linux/compiler.h>
struct drm_printer {
	void (*printfn)(struct drm_printer *p, const char *fmt, ...);
	void *arg;
	const char *prefix;
};
__attribute__((format(printf, 2, 3))) void drm_printf(struct drm_printer *p, const char *f, ...);
#endif
