// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: boot. The kernel initialises some subsystems from
 * start_kernel() before anything uses them; this does the same for the
 * ones compiled here, when the extension is loaded.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/radix-tree.h>
#include <linux/sched.h>

void radix_tree_init(void);	/* lib/radix-tree.c, __init in the kernel */
/* module_init()s of built-in kernel files (compiled with -DPFL_MODULE=) */
int pfl_module_init_gpu_buddy(void);
int pfl_module_init_prime_numbers(void);
void pfl_workqueue_init(void);	/* runtime/workqueue.c: the system queues */
void pfl_driver_init(void);	/* helpers/device.c: drivers/base/init.c's driver_init() */

/* Initcalls of built-in kernel files (linux/init.h), by level. */
#define PFL_MAX_INITCALLS 64
static struct {
	int (*fn)(void);
	int level;
	const char *name;
} initcalls[PFL_MAX_INITCALLS];
static int nr_initcalls;

void pfl_register_initcall(int (*fn)(void), int level, const char *name)
{
	if (nr_initcalls == PFL_MAX_INITCALLS)
		pfl_bug(__FILE__, __LINE__, "too many initcalls");
	initcalls[nr_initcalls].fn = fn;
	initcalls[nr_initcalls].level = level;
	initcalls[nr_initcalls].name = name;
	nr_initcalls++;
}

/* init/main.c's do_initcalls(): level by level, in registration order. */
static void do_initcalls(void)
{
	int level, i, ret;

	for (level = 1; level <= 7; level++)
		for (i = 0; i < nr_initcalls; i++) {
			if (initcalls[i].level != level)
				continue;
			ret = initcalls[i].fn();
			if (ret)
				pfl_printk("initcall %s returned %d\n", initcalls[i].name, ret);
		}
}

static bool booted;

void pfl_start_kernel(void)
{
	if (booted)
		return;
	booted = true;
	(void)pfl_current();	/* the loading thread becomes the boot task */
	radix_tree_init();	/* radix_tree_node_cachep: xarray and idr nodes */
	pfl_workqueue_init();	/* system_wq & co (kernel: workqueue_init_early) */
	pfl_driver_init();	/* devices, buses, classes (kernel: driver_init) */
	do_initcalls();		/* the built-in files' *_initcall()s */
	if (pfl_module_init_prime_numbers() || pfl_module_init_gpu_buddy())
		pfl_bug(__FILE__, __LINE__, "built-in module init failed");
}

static void __attribute__((constructor(150))) pfl_boot(void)
{
	pfl_start_kernel();
}
