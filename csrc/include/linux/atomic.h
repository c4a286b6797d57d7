/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the kernel's atomic_t/atomic64_t/atomic_long_t API on GCC
 * __atomic builtins. Fully ordered ops use __ATOMIC_SEQ_CST; _relaxed,
 * _acquire and _release variants use the matching memory order.
 * C header: include/linux/atomic.h (include/linux/atomic/atomic-instrumented.h)
 */
#ifndef _LINUX_ATOMIC_H
#define _LINUX_ATOMIC_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <asm/barrier.h>

#define __PFL_ATOMIC_OPS(pfx, atype, vtype)					\
static inline vtype pfx##_read(const atype *v) { return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); } \
static inline vtype pfx##_read_acquire(const atype *v) { return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE); } \
static inline void pfx##_set(atype *v, vtype i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_set_release(atype *v, vtype i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELEASE); } \
static inline void pfx##_add(vtype i, atype *v) { __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_sub(vtype i, atype *v) { __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_inc(atype *v) { pfx##_add(1, v); } \
static inline void pfx##_dec(atype *v) { pfx##_sub(1, v); } \
static inline void pfx##_or(vtype i, atype *v) { __atomic_fetch_or(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_and(vtype i, atype *v) { __atomic_fetch_and(&v->counter, i, __ATOMIC_RELAXED); } \
static inline vtype pfx##_add_return(vtype i, atype *v) { return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_add_return_relaxed(vtype i, atype *v) { return __atomic_add_fetch(&v->counter, i, __ATOMIC_RELAXED); } \
static inline vtype pfx##_sub_return(vtype i, atype *v) { return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_inc_return(atype *v) { return pfx##_add_return(1, v); } \
static inline vtype pfx##_inc_return_relaxed(atype *v) { return pfx##_add_return_relaxed(1, v); } \
static inline vtype pfx##_dec_return(atype *v) { return pfx##_sub_return(1, v); } \
static inline vtype pfx##_fetch_add(vtype i, atype *v) { return __atomic_fetch_add(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_fetch_add_relaxed(vtype i, atype *v) { return __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED); } \
static inline vtype pfx##_fetch_sub(vtype i, atype *v) { return __atomic_fetch_sub(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_fetch_sub_release(vtype i, atype *v) { return __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELEASE); } \
static inline vtype pfx##_fetch_sub_relaxed(vtype i, atype *v) { return __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED); } \
static inline vtype pfx##_fetch_inc(atype *v) { return pfx##_fetch_add(1, v); } \
static inline vtype pfx##_fetch_or(vtype i, atype *v) { return __atomic_fetch_or(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_fetch_and(vtype i, atype *v) { return __atomic_fetch_and(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline bool pfx##_inc_and_test(atype *v) { return pfx##_inc_return(v) == 0; } \
static inline bool pfx##_dec_and_test(atype *v) { return pfx##_dec_return(v) == 0; } \
static inline bool pfx##_sub_and_test(vtype i, atype *v) { return pfx##_sub_return(i, v) == 0; } \
static inline vtype pfx##_xchg(atype *v, vtype n) { return __atomic_exchange_n(&v->counter, n, __ATOMIC_SEQ_CST); } \
static inline vtype pfx##_cmpxchg(atype *v, vtype o, vtype n) { __atomic_compare_exchange_n(&v->counter, &o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return o; } \
static inline vtype pfx##_cmpxchg_relaxed(atype *v, vtype o, vtype n) { __atomic_compare_exchange_n(&v->counter, &o, n, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); return o; } \
static inline bool pfx##_try_cmpxchg(atype *v, vtype *o, vtype n) { return __atomic_compare_exchange_n(&v->counter, o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); } \
static inline bool pfx##_try_cmpxchg_relaxed(atype *v, vtype *o, vtype n) { return __atomic_compare_exchange_n(&v->counter, o, n, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); } \
static inline bool pfx##_try_cmpxchg_acquire(atype *v, vtype *o, vtype n) { return __atomic_compare_exchange_n(&v->counter, o, n, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE); } \
static inline bool pfx##_try_cmpxchg_release(atype *v, vtype *o, vtype n) { return __atomic_compare_exchange_n(&v->counter, o, n, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED); } \
static inline bool pfx##_add_unless(atype *v, vtype a, vtype u) { vtype c = pfx##_read(v); do { if (c == u) return false; } while (!pfx##_try_cmpxchg(v, &c, c + a)); return true; } \
static inline bool pfx##_inc_not_zero(atype *v) { return pfx##_add_unless(v, 1, 0); }

__PFL_ATOMIC_OPS(atomic, atomic_t, int)
__PFL_ATOMIC_OPS(atomic64, atomic64_t, s64)

#define atomic_long_read atomic64_read
#define atomic_long_set atomic64_set
#define atomic_long_inc atomic64_inc
#define atomic_long_dec atomic64_dec
#define atomic_long_add atomic64_add
#define atomic_long_sub atomic64_sub
#define atomic_long_add_return atomic64_add_return
#define atomic_long_inc_return atomic64_inc_return
#define atomic_long_inc_return_relaxed atomic64_inc_return_relaxed
#define atomic_long_dec_and_test atomic64_dec_and_test
#define atomic_long_dec_return atomic64_dec_return
#define atomic_long_cmpxchg atomic64_cmpxchg
#define atomic_long_try_cmpxchg atomic64_try_cmpxchg
#define atomic_long_xchg atomic64_xchg
#define atomic_long_fetch_add atomic64_fetch_add
#define ATOMIC64_INIT(i) { (i) }
#define ATOMIC_LONG_INIT(i) ATOMIC64_INIT(i)




#ifndef xchg
#define xchg(p, n) __atomic_exchange_n((p), (n), __ATOMIC_SEQ_CST)
#endif
#ifndef cmpxchg
#define cmpxchg(p, o, n) ({ __typeof__(*(p)) __o = (o); \
	__atomic_compare_exchange_n((p), &__o, (n), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); __o; })
#endif
#define cmpxchg_relaxed(p, o, n) cmpxchg(p, o, n)
#define try_cmpxchg(p, po, n) __atomic_compare_exchange_n((p), (po), (n), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

#endif
