/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: WARN*() prints the condition and a location and counts it
 * (pfl_warn_count(), read by the tests: a warning fails them); BUG() is an
 * oops: it prints and aborts, as the kernel would kill the task.
 * C header: include/linux/bug.h, include/asm-generic/bug.h
 */
#ifndef _LINUX_BUG_H
#define _LINUX_BUG_H

#include <linux/compiler.h>
#include <linux/build_bug.h>
#include <pfl/runtime.h>

#define BUG() pfl_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(c) do { if (unlikely(c)) pfl_bug(__FILE__, __LINE__, #c); } while (0)
#define WARN_ON(c) ({ int __w = !!(c); if (unlikely(__w)) pfl_warn(__FILE__, __LINE__, #c); unlikely(__w); })
#define WARN_ON_ONCE(c) ({ static bool __warned; int __w = !!(c); \
	if (unlikely(__w) && !__warned) { __warned = true; pfl_warn(__FILE__, __LINE__, #c); } unlikely(__w); })
#define WARN(c, fmt...) ({ int __w = !!(c); if (unlikely(__w)) { pfl_printk(fmt); pfl_warn(__FILE__, __LINE__, #c); } unlikely(__w); })
#define WARN_ONCE(c, fmt...) ({ static bool __warned; int __w = !!(c); \
	if (unlikely(__w) && !__warned) { __warned = true; pfl_printk(fmt); pfl_warn(__FILE__, __LINE__, #c); } unlikely(__w); })
#define WARN_ON_SMP(c) WARN_ON(c)
#define VM_BUG_ON(c) BUG_ON(c)
#define VM_WARN_ON(c) WARN_ON(c)
#define VM_WARN_ON_ONCE(c) WARN_ON_ONCE(c)
#define VM_BUG_ON_PAGE(c, p) BUG_ON(c)
#define VM_BUG_ON_FOLIO(c, f) BUG_ON(c)
#define VM_WARN_ON_FOLIO(c, f) WARN_ON(c)

#endif
