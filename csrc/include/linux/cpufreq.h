/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_CPU_FREQ=n: the real header's config-off stubs that the
 * driver core calls (device_shutdown() -> cpufreq_suspend()).
 * C header: include/linux/cpufreq.h */
#ifndef _LINUX_CPUFREQ_H
#define _LINUX_CPUFREQ_H
static inline void cpufreq_suspend(void) {}
static inline void cpufreq_resume(void) {}
#endif
