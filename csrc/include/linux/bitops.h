/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: tools/include's bitops (ffs/fls/hweight/non-atomic ops) plus
 * the atomic bit operations it names but does not define, on __atomic.
 * C header: include/linux/bitops.h, include/asm-generic/bitops/atomic.h
 */
#ifndef _PFL_LINUX_BITOPS_H
#define _PFL_LINUX_BITOPS_H
#include <linux/types.h>
#include_next <linux/bitops.h>

#define __PFL_BIT_WORD(nr) ((nr) / BITS_PER_LONG)
#define __PFL_BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))
static inline bool test_and_set_bit(long nr, volatile unsigned long *addr)
{
	unsigned long m = __PFL_BIT_MASK(nr);
	return (__atomic_fetch_or(&addr[__PFL_BIT_WORD(nr)], m, __ATOMIC_SEQ_CST) & m) != 0;
}
static inline bool test_and_clear_bit(long nr, volatile unsigned long *addr)
{
	unsigned long m = __PFL_BIT_MASK(nr);
	return (__atomic_fetch_and(&addr[__PFL_BIT_WORD(nr)], ~m, __ATOMIC_SEQ_CST) & m) != 0;
}
static inline void change_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_xor(&addr[__PFL_BIT_WORD(nr)], __PFL_BIT_MASK(nr), __ATOMIC_SEQ_CST);
}
#define clear_bit_unlock(nr, addr) ((void)test_and_clear_bit(nr, addr))
#define test_and_set_bit_lock(nr, addr) test_and_set_bit(nr, addr)
#endif
