/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included (-include) before every kernel file pyforlinux compiles:
 * the Kconfig of the userspace "machine" the kernel C runs on.
 */
#ifndef _PFL_PRELUDE_H
#define _PFL_PRELUDE_H

#include <linux/kconfig.h>	/* real; reads generated/autoconf.h */

#define __KERNEL__ 1
#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME "pyforlinux"
#endif

/* libc first, so kernel macros (abs, min, ...) defined later do not
 * rewrite its prototypes. */
#ifndef __ASSEMBLY__
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <errno.h>
#include <linux/errno.h>
#include <assert.h>
#undef static_assert	/* the kernel's build_bug.h defines its own */
#include <linux/export.h>	/* EXPORT_SYMBOL(): nothing to export to here */
#endif

#endif /* _PFL_PRELUDE_H */
