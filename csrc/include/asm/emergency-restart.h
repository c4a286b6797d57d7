/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: x86's declaration (nothing here restarts the machine).
 * C header: arch/x86/include/asm/emergency-restart.h */
#ifndef _ASM_X86_EMERGENCY_RESTART_H
#define _ASM_X86_EMERGENCY_RESTART_H
extern void machine_emergency_restart(void);
#endif
