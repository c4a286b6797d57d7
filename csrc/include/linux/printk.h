/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: printk goes to the runtime log (stderr by default).
 * C header: include/linux/printk.h */
#ifndef __KERNEL_PRINTK__
#define __KERNEL_PRINTK__
#include <linux/kern_levels.h>
#include <pfl/runtime.h>
#define printk(fmt, ...) pfl_printk(fmt, ##__VA_ARGS__)
#define printk_once(fmt, ...) printk(fmt, ##__VA_ARGS__)
#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif
#define pr_emerg(fmt, ...) printk(KERN_EMERG pr_fmt(fmt), ##__VA_ARGS__)
#define pr_alert(fmt, ...) printk(KERN_ALERT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_crit(fmt, ...) printk(KERN_CRIT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) printk(KERN_ERR pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk(KERN_WARNING pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) printk(KERN_NOTICE pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) printk(KERN_INFO pr_fmt(fmt), ##__VA_ARGS__)
#define pr_cont(fmt, ...) printk(KERN_CONT fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) do { if (0) printk(pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_devel(fmt, ...) pr_debug(fmt, ##__VA_ARGS__)
#define pr_err_once pr_err
#define pr_warn_once pr_warn
#define pr_info_once pr_info
#define pr_err_ratelimited pr_err
#define pr_warn_ratelimited pr_warn
#define no_printk(fmt, ...) do { if (0) printk(fmt, ##__VA_ARGS__); } while (0)
#define dump_stack() pfl_printk("dump_stack() at %s:%d\n", __FILE__, __LINE__)
#define dump_stack_lvl(lvl) dump_stack()
#define print_hex_dump(...) do { } while (0)
/* %pV's argument (the printk of the runtime formats it). */
#include <stdarg.h>
struct va_format {
	const char *fmt;
	va_list *va;
};

/* printk from a context that must not recurse into the console: here the log
 * is always safe to write. No printk index (CONFIG_PRINTK_INDEX=n). */
#define printk_deferred(fmt, ...) printk(fmt, ##__VA_ARGS__)
#define printk_deferred_once(fmt, ...) printk(fmt, ##__VA_ARGS__)
#define __printk_index_emit(...) do {} while (0)
#define printk_index_subsys_emit(subsys, level, format, ...) do {} while (0)

/* No oops is ever in progress here (a crash ends the process): the kernel's
 * variable, constant 0. */
#define oops_in_progress 0
#endif
