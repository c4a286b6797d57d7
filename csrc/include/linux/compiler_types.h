/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: tools/include's compiler_types.h plus the annotations 6.12
 * headers use that it lacks. */
#ifndef _PFL_LINUX_COMPILER_TYPES_H
#define _PFL_LINUX_COMPILER_TYPES_H
#include_next <linux/compiler_types.h>
#ifndef ___PASTE
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#endif
#ifndef __UNIQUE_ID
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
#endif
#ifndef is_signed_type
#define is_signed_type(type) (((type)(-1)) < (type)1)
#define is_unsigned_type(type) (!is_signed_type(type))
#endif
#ifndef statically_true
#define statically_true(x) (__builtin_constant_p(x) && (x))
#endif
#ifndef __is_constexpr
#define __is_constexpr(x) \
	(sizeof(int) == sizeof(*(8 ? ((void *)((long)(x) * 0l)) : (int *)8)))
#endif
#ifndef __signed_wrap
#define __signed_wrap
#endif
#ifndef __cond_acquires
#define __cond_acquires(x)
#endif
#ifndef __acquires
#define __acquires(x)
#endif
#ifndef __releases
#define __releases(x)
#endif
#ifndef __must_hold
#define __must_hold(x)
#endif
#ifndef __acquire
#define __acquire(x) (void)0
#endif
#ifndef __release
#define __release(x) (void)0
#endif
#ifndef __cond_lock
#define __cond_lock(x, c) (c)
#endif
#ifndef __counted_by
#define __counted_by(m)
#endif
#ifndef __no_sanitize_address
#define __no_sanitize_address
#endif
#ifndef noinline_for_stack
#define noinline_for_stack __attribute__((__noinline__))
#endif
#ifndef __nocfi
#define __nocfi
#endif
#ifndef __randomize_layout
#define __randomize_layout
#endif
#ifndef __no_randomize_layout
#define __no_randomize_layout
#endif
#ifndef ____cacheline_aligned_in_smp
#define ____cacheline_aligned_in_smp __attribute__((__aligned__(64)))
#endif
#ifndef ____cacheline_aligned
#define ____cacheline_aligned __attribute__((__aligned__(64)))
#endif
#ifndef __cacheline_aligned
#define __cacheline_aligned ____cacheline_aligned
#endif
#ifndef __percpu
#define __percpu
#endif
#ifndef __kernel
#define __kernel
#endif
#ifndef __private
#define __private
#endif
#ifndef ACCESS_PRIVATE
#define ACCESS_PRIVATE(p, member) ((p)->member)
#endif
#ifndef __no_kcsan
#define __no_kcsan
#endif
#ifndef __always_unused
#define __always_unused __attribute__((__unused__))
#endif
#ifndef __maybe_unused
#define __maybe_unused __attribute__((__unused__))
#endif
#ifndef __flatten
#define __flatten __attribute__((flatten))
#endif
#ifndef __compiletime_warning
#define __compiletime_warning(msg) __attribute__((__warning__(msg)))
#endif
/* Allocation attributes (compiler_attributes.h), for the driver core's headers. */
#ifndef __malloc
#define __malloc __attribute__((__malloc__))
#endif
#ifndef __alloc_size
#define __alloc_size(x, ...) __attribute__((__alloc_size__(x, ## __VA_ARGS__)))
#define __realloc_size(x, ...) __attribute__((__alloc_size__(x, ## __VA_ARGS__)))
#endif
#ifndef __cleanup
#define __cleanup(func) __attribute__((__cleanup__(func)))
#endif
#ifndef notrace
#define notrace __attribute__((__no_instrument_function__))
#endif
#endif
