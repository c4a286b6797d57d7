/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: x86's die notifier events (the die chain exists in
 * kernel/notifier.c; nothing here raises them).
 * C header: arch/x86/include/asm/kdebug.h */
#ifndef _ASM_X86_KDEBUG_H
#define _ASM_X86_KDEBUG_H
enum die_val {
	DIE_OOPS = 1,
	DIE_INT3,
	DIE_DEBUG,
	DIE_PANIC,
	DIE_NMI,
	DIE_DIE,
	DIE_KERNELDEBUG,
	DIE_TRAP,
	DIE_GPF,
	DIE_CALL,
	DIE_PAGE_FAULT,
	DIE_NMIUNKNOWN,
};
#endif
