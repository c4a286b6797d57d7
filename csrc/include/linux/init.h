#pragma once
#include <linux/compiler.h>
#define __init
#define __exit
#define __initdata
#define __initconst
#define __ro_after_init
#define __read_mostly
/* Boot parameters: there is no kernel command line here; the handlers are
 * kept (referenced) but never called, as with a parameter not given. */
#define __setup(str, fn) static int (*__pfl_setup_##fn)(char *) __attribute__((unused)) = fn
#define early_param(str, fn) static int (*__pfl_early_##fn)(char *) __attribute__((unused)) = fn
/* init/main.c's initcall_debug boot parameter: off. */
#define initcall_debug false
#define __exitcall(fn) static void (*__pfl_exitcall_##fn)(void) __attribute__((unused)) = fn
/*
 * Initcalls of built-in kernel files: registered when the extension loads
 * (constructors that run before the runtime's boot, priority 150) and called
 * by pfl_start_kernel() in the kernel's level order after the driver core's
 * own init (drivers/base/init.c): core, postcore, arch, subsys, fs, device,
 * late. A failing initcall is logged, as do_one_initcall() does.
 */
void pfl_register_initcall(int (*fn)(void), int level, const char *name);
#define __pfl_define_initcall(fn, level)					\
	static void __attribute__((constructor(120), used))		\
	__pfl_initcall_##fn(void) { pfl_register_initcall(fn, level, #fn); }
#define core_initcall(fn)	__pfl_define_initcall(fn, 1)
#define postcore_initcall(fn)	__pfl_define_initcall(fn, 2)
#define arch_initcall(fn)	__pfl_define_initcall(fn, 3)
#define subsys_initcall(fn)	__pfl_define_initcall(fn, 4)
#define fs_initcall(fn)		__pfl_define_initcall(fn, 5)
#define device_initcall(fn)	__pfl_define_initcall(fn, 6)
#define late_initcall(fn)	__pfl_define_initcall(fn, 7)
#define late_initcall_sync(fn)	__pfl_define_initcall(fn, 7)
