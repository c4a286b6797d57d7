/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: CONFIG_ENERGY_MODEL=n. The real header pulls in the scheduler's
 * topology and mmzone headers for its CONFIG_ENERGY_MODEL=y half; what a
 * kernel without the option sees is only the type's name.
 * C header: include/linux/energy_model.h */
#ifndef _LINUX_ENERGY_MODEL_H
#define _LINUX_ENERGY_MODEL_H
struct em_perf_domain;
#endif
