/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: per-CPU data is per-thread here, so a "CPU going offline" is a
 * thread exiting. cpuhp teardown callbacks are recorded and run for the
 * exiting thread (runtime/sched.c), and by pfl_slab_quiesce() for the
 * calling one, so per-CPU caches (the radix-tree preload pool) are freed
 * as when a CPU goes down. C header: include/linux/cpuhotplug.h
 */
#pragma once
int pfl_cpuhp_setup(int (*teardown)(unsigned int cpu));
#define cpuhp_setup_state_nocalls(state, name, startup, teardown) pfl_cpuhp_setup(teardown)
#define CPUHP_RADIX_DEAD 0
