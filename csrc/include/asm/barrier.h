/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: x86-64 barriers (tools/arch/x86 copy) plus the generic ones
 * 6.12 code uses. */
#ifndef _PFL_ASM_BARRIER_H
#define _PFL_ASM_BARRIER_H
#include_next <asm/barrier.h>
#ifndef smp_store_mb
#define smp_store_mb(var, value) do { WRITE_ONCE(var, value); smp_mb(); } while (0)
#endif
#ifndef smp_acquire__after_ctrl_dep
#define smp_acquire__after_ctrl_dep() smp_rmb()
#endif
#ifndef smp_mb__after_spinlock
#define smp_mb__after_spinlock() smp_mb()
#endif
#ifndef smp_mb__before_atomic
#define smp_mb__before_atomic() smp_mb()
#endif
#ifndef smp_mb__after_atomic
#define smp_mb__after_atomic() smp_mb()
#endif
#ifndef smp_load_acquire
#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#endif
#ifndef smp_store_release
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#endif
#ifndef dma_rmb
#define dma_rmb() rmb()
#endif
#ifndef dma_wmb
#define dma_wmb() wmb()
#endif
#endif
