/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: linux/kernel.h from the real 6.12 pieces (minmax, math,
 * align, array_size, container_of, wordpart) instead of tools/include's
 * drifted copy, plus the few helpers the kernel defines here.
 * C header: include/linux/kernel.h
 */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H
#define __TOOLS_LINUX_KERNEL_H

#include <stdarg.h>
#include <linux/math64.h>	/* real: div64_u64_rem, mul_u32_u32 */
#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/limits.h>
#include <linux/align.h>
#include <linux/array_size.h>
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/container_of.h>
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/math.h>
#include <linux/threads.h>	/* NR_CPUS, real */
#include <linux/kstrtox.h>	/* real; csrc/runtime/string.c */
#include <linux/hex.h>	/* real; csrc/runtime/string.c */
#include <linux/minmax.h>
#include <linux/typecheck.h>
#include <linux/wordpart.h>
#include <linux/export.h>
#include <linux/printk.h>
#include <pfl/runtime.h>

/* x86-64 is little-endian */
#define cpu_to_le16(x) ((__u16)(x))
#define cpu_to_le32(x) ((__u32)(x))
#define cpu_to_le64(x) ((__u64)(x))
#define le16_to_cpu(x) ((__u16)(x))
#define le32_to_cpu(x) ((__u32)(x))
#define le64_to_cpu(x) ((__u64)(x))
#define cpu_to_be16(x) __builtin_bswap16(x)
#define cpu_to_be32(x) __builtin_bswap32(x)
#define cpu_to_be64(x) __builtin_bswap64(x)
#define be16_to_cpu(x) __builtin_bswap16(x)
#define be32_to_cpu(x) __builtin_bswap32(x)
#define be64_to_cpu(x) __builtin_bswap64(x)
#define cpu_relax() __builtin_ia32_pause()
#define might_alloc(gfp) do { if ((gfp) & __GFP_DIRECT_RECLAIM) pfl_might_sleep(__FILE__, __LINE__); } while (0)
#define STACK_MAGIC 0xdeadbeef
#define REPEAT_BYTE(x) ((~0ul / 0xff) * (x))
#define _RET_IP_ ((unsigned long)__builtin_return_address(0))
#define _THIS_IP_ ({ __label__ __here; __here: (unsigned long)&&__here; })
#define swap(a, b) do { typeof(a) __tmp = (a); (a) = (b); (b) = __tmp; } while (0)
#define u64_to_user_ptr(x) ((void __user *)(uintptr_t)(x))
#define panic(fmt...) pfl_bug(__FILE__, __LINE__, "panic")
#define add_taint(a, b) do { } while (0)
#define trace_printk(fmt, ...) pfl_printk(fmt, ##__VA_ARGS__)
int scnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vscnprintf(char *buf, size_t size, const char *fmt, va_list args);
char *kasprintf(gfp_t gfp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *kvasprintf(gfp_t gfp, const char *fmt, va_list args);
/* Permissions on a sysfs file (the kernel's check, verbatim). */
#define VERIFY_OCTAL_PERMISSIONS(perms)						\
	(BUILD_BUG_ON_ZERO((perms) < 0) +					\
	 BUILD_BUG_ON_ZERO((perms) > 0777) +					\
	 BUILD_BUG_ON_ZERO((((perms) >> 6) & 4) < (((perms) >> 3) & 4)) +	\
	 BUILD_BUG_ON_ZERO((((perms) >> 3) & 4) < ((perms) & 4)) +		\
	 BUILD_BUG_ON_ZERO((((perms) >> 6) & 2) < (((perms) >> 3) & 2)) +	\
	 BUILD_BUG_ON_ZERO((perms) & 2) +					\
	 (perms))
/* The runtime is always past boot: code that is lockless only while
 * SYSTEM_BOOTING (notifier registration) takes its locks. */
enum system_states {
	SYSTEM_BOOTING,
	SYSTEM_SCHEDULING,
	SYSTEM_FREEING_INITMEM,
	SYSTEM_RUNNING,
	SYSTEM_HALT,
	SYSTEM_POWER_OFF,
	SYSTEM_RESTART,
	SYSTEM_SUSPEND,
};
#define system_state SYSTEM_RUNNING
/* A user access may fault and sleep: the kernel's CONFIG_DEBUG_ATOMIC_SLEEP
 * check (__might_fault), as might_sleep(). */
#define might_fault() pfl_might_sleep(__FILE__, __LINE__)

#endif
