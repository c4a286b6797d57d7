/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: randomness from getrandom(2); prandom is lib/random32.c.
 * C header: include/linux/random.h, include/linux/prandom.h */
#ifndef _LINUX_RANDOM_H
#define _LINUX_RANDOM_H
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/once.h>
#include <linux/percpu.h>
void get_random_bytes(void *buf, size_t len);
u32 get_random_u32(void);
u64 get_random_u64(void);
static inline unsigned long get_random_long(void) { return (unsigned long)get_random_u64(); }
static inline u8 get_random_u8(void) { return (u8)get_random_u32(); }
static inline u16 get_random_u16(void) { return (u16)get_random_u32(); }
u32 __get_random_u32_below(u32 ceil);
static inline u32 get_random_u32_below(u32 ceil) { return __get_random_u32_below(ceil); }
static inline u32 get_random_u32_inclusive(u32 floor, u32 ceil)
{
	return floor + get_random_u32_below(ceil - floor + 1);
}
#include <linux/prandom.h>
#endif
