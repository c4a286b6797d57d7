/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the kernel's basic types for userspace. Replaces both the real
 * include/linux/types.h (which needs the arch uapi tree) and the drifted
 * tools/include copy (which makes gfp_t an enum and u64 a uint64_t).
 * Kernel layouts: u64 is unsigned long long, gfp_t an unsigned int.
 */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H
#define _TOOLS_LINUX_TYPES_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <asm/types.h>		/* system uapi: __u64 is unsigned long long */
#include <asm/posix_types.h>

#ifndef __SANE_USERSPACE_TYPES__
#define __SANE_USERSPACE_TYPES__
#endif

typedef __u64 u64;
typedef __s64 s64;
typedef __u32 u32;
typedef __s32 s32;
typedef __u16 u16;
typedef __s16 s16;
typedef __u8 u8;
typedef __s8 s8;
#ifdef __SIZEOF_INT128__
typedef __int128 s128;
typedef unsigned __int128 u128;
#endif

#define __bitwise
#define __force
#ifndef __user
#define __user
#endif
#ifndef __iomem
#define __iomem
#endif
#ifndef __rcu
#define __rcu
#endif
#ifndef __must_check
#define __must_check __attribute__((__warn_unused_result__))
#endif
#ifndef __cold
#define __cold __attribute__((__cold__))
#endif

typedef __u16 __le16;
typedef __u16 __be16;
typedef __u32 __le32;
typedef __u32 __be32;
typedef __u64 __le64;
typedef __u64 __be64;
typedef __u16 __sum16;
typedef __u32 __wsum;

#ifndef __aligned_u64
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#endif

typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;
typedef unsigned int fmode_t;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;
typedef phys_addr_t resource_size_t;
typedef unsigned long irq_hw_number_t;
typedef unsigned short umode_t;
typedef unsigned int __poll_t;
typedef unsigned long pgoff_t;

#define DECLARE_BITMAP(name,bits) \
	unsigned long name[BITS_TO_LONGS(bits)]

typedef struct {
	int counter;
} atomic_t;

#define ATOMIC_INIT(i) { (i) }

typedef struct {
	s64 counter;
} atomic64_t;

typedef atomic64_t atomic_long_t;

struct list_head {
	struct list_head *next, *prev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct hlist_node {
	struct hlist_node *next, **pprev;
};

/*
 * Same layout as liburcu's struct rcu_head (next pointer, then func), so the
 * runtime hands these straight to urcu's call_rcu (checked in runtime/rcu.c).
 */
struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
} __attribute__((aligned(sizeof(void *))));
#define rcu_head callback_head

typedef void (*rcu_callback_t)(struct rcu_head *head);
typedef void (*call_rcu_func_t)(struct rcu_head *head, rcu_callback_t func);

struct seq_file;
struct device;
struct module;

typedef void (*swap_r_func_t)(void *a, void *b, int size, const void *priv);
typedef void (*swap_func_t)(void *a, void *b, int size);
typedef int (*cmp_r_func_t)(const void *a, const void *b, const void *priv);
typedef int (*cmp_func_t)(const void *a, const void *b);
#ifndef _PFL_KTIME_T
#define _PFL_KTIME_T
typedef s64 ktime_t;	/* as in the kernel: linux/types.h has it */
#endif

#endif /* _LINUX_TYPES_H */
