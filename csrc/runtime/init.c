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

static bool booted;

void pfl_start_kernel(void)
{
	if (booted)
		return;
	booted = true;
	(void)pfl_current();	/* the loading thread becomes the boot task */
	radix_tree_init();	/* radix_tree_node_cachep: xarray and idr nodes */
	pfl_workqueue_init();	/* system_wq & co (kernel: workqueue_init_early) */
	if (pfl_module_init_prime_numbers() || pfl_module_init_gpu_buddy())
		pfl_bug(__FILE__, __LINE__, "built-in module init failed");
}

static void __attribute__((constructor(150))) pfl_boot(void)
{
	pfl_start_kernel();
}
