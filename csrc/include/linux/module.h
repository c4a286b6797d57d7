/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: kernel files are built in, not loaded. module_init(fn) of a
 * file compiled with -DPFL_MODULE=name becomes pfl_module_init_<name>(),
 * which the KUnit shim calls (lib/test_xarray.c's xarray_checks()).
 * C header: include/linux/module.h
 */
#ifndef _LINUX_MODULE_H
#define _LINUX_MODULE_H
#include <linux/export.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/stringify.h>
#include <linux/moduleparam.h>
struct module;
#define THIS_MODULE ((struct module *)0)
#define MODULE_LICENSE(x)
#define MODULE_AUTHOR(x)
#define MODULE_DESCRIPTION(x)
#define MODULE_ALIAS(x)
#define MODULE_IMPORT_NS(x)
#define MODULE_DEVICE_TABLE(t, n)
#define __PFL_CAT2(a, b) a##b
#define __PFL_CAT(a, b) __PFL_CAT2(a, b)
#ifdef PFL_MODULE
#define module_init(fn) int __PFL_CAT(pfl_module_init_, PFL_MODULE)(void) { return fn(); }
#define module_exit(fn) void __PFL_CAT(pfl_module_exit_, PFL_MODULE)(void) { fn(); }
#else
#define module_init(fn) static __attribute__((unused)) int (*__pfl_unused_init)(void) = fn;
#define module_exit(fn) static __attribute__((unused)) void (*__pfl_unused_exit)(void) = fn;
#endif
#define try_module_get(m) true
#define module_put(m) do { } while (0)
/* Built in, so no module asked for async probing (!CONFIG_MODULES). */
static inline bool module_requested_async_probing(struct module *module) { return false; }

#endif
