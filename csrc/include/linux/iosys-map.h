/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: the real include/linux/iosys-map.h, after linux/compiler.h
 * (it includes compiler_types.h first, which tools/include refuses). */
#ifndef _PFL_LINUX_IOSYS_MAP_H
#define _PFL_LINUX_IOSYS_MAP_H
#include <linux/compiler.h>
#include_next <linux/iosys-map.h>
#endif
