/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: current is the calling thread's task_struct (linux/sched.h).
 * C header: arch/x86/include/asm/current.h */
#ifndef _ASM_X86_CURRENT_H
#define _ASM_X86_CURRENT_H
#include <linux/sched.h>
#endif
