/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: no kprobes (CONFIG_KPROBES=n): the blacklist annotation is
 * empty, as in the real header's config-off half.
 * C header: include/linux/kprobes.h */
#ifndef _LINUX_KPROBES_H
#define _LINUX_KPROBES_H
#define NOKPROBE_SYMBOL(fname)
#define __kprobes
#define nokprobe_inline inline
#endif
