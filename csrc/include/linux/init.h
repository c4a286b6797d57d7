#pragma once
#include <linux/compiler.h>
#define __init
#define __exit
#define __initdata
#define __initconst
#define __ro_after_init
#define __read_mostly
#define late_initcall(fn)
#define subsys_initcall(fn)
#define core_initcall(fn)
#define arch_initcall(fn)
#define device_initcall(fn)
/* Boot parameters: there is no kernel command line here; the handlers are
 * kept (referenced) but never called, as with a parameter not given. */
#define __setup(str, fn) static int (*__pfl_setup_##fn)(char *) __attribute__((unused)) = fn
#define early_param(str, fn) static int (*__pfl_early_##fn)(char *) __attribute__((unused)) = fn
#define postcore_initcall(fn)
#define fs_initcall(fn)
#define module_init_pfl(fn)
/* init/main.c's initcall_debug boot parameter: off. */
#define initcall_debug false
#define __exitcall(fn) static void (*__pfl_exitcall_##fn)(void) __attribute__((unused)) = fn
