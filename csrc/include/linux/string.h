/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: tools/include's linux/string.h plus the kernel's allocating
 * string helpers (mm/util.c) and a real strscpy (tools/include makes it a
 * strcpy, which neither truncates nor returns -E2BIG). Implemented in
 * csrc/runtime/string.c on the runtime allocator (accounted, fail_nth).
 * kstrdup_const() always duplicates here (no .rodata test), and
 * kfree_const() always frees: for callers that pair them, the same effect.
 * C header: include/linux/string.h
 */
#ifndef _PFL_LINUX_STRING_H
#define _PFL_LINUX_STRING_H
#include_next <linux/string.h>
#include <stdarg.h>
#include <linux/types.h>

#undef strscpy
ssize_t pfl_strscpy(char *dst, const char *src, size_t count);
/* strscpy(dst, src) and strscpy(dst, src, size), as in 6.12. */
#define __pfl_strscpy2(d, s) pfl_strscpy((d), (s), sizeof(d))
#define __pfl_strscpy3(d, s, n) pfl_strscpy((d), (s), (n))
#define __pfl_strscpy_sel(_1, _2, _3, NAME, ...) NAME
#define strscpy(...) __pfl_strscpy_sel(__VA_ARGS__, __pfl_strscpy3, __pfl_strscpy2)(__VA_ARGS__)
#define sized_strscpy(d, s, n) pfl_strscpy((d), (s), (n))

char *kstrdup(const char *s, gfp_t gfp);
const char *kstrdup_const(const char *s, gfp_t gfp);
char *kstrndup(const char *s, size_t max, gfp_t gfp);
void kfree_const(const void *x);
const char *kvasprintf_const(gfp_t gfp, const char *fmt, va_list args);
#ifndef sysfs_streq
bool sysfs_streq(const char *s1, const char *s2);
#endif
char *strnchr(const char *s, size_t count, int c);
bool parse_option_str(const char *str, const char *option);

/* mm/util.c: a NUL-terminated user string of at most n bytes (with its
 * NUL), kmalloc'ed; ERR_PTR(-EFAULT) on a bad address, -EINVAL if longer.
 * Implemented in runtime/uaccess.c. */
char *strndup_user(const char __user *s, long n);
char *kstrdup_and_replace(const char *src, char old, char new, gfp_t gfp);

/* strscpy_pad(dst, src[, size]): strscpy, then zero the rest (lib/string_helpers.c). */
static inline ssize_t pfl_strscpy_pad(char *dst, const char *src, size_t count)
{
	ssize_t written = pfl_strscpy(dst, src, count);

	if (written < 0 || written == (ssize_t)count - 1)
		return written;
	memset(dst + written + 1, 0, count - written - 1);
	return written;
}
#define __pfl_strscpy_pad2(d, s) pfl_strscpy_pad((d), (s), sizeof(d))
#define __pfl_strscpy_pad3(d, s, n) pfl_strscpy_pad((d), (s), (n))
#define strscpy_pad(...) \
	__pfl_strscpy_sel(__VA_ARGS__, __pfl_strscpy_pad3, __pfl_strscpy_pad2)(__VA_ARGS__)
/* strtomem_pad(): copy a string into a fixed-size non-NUL-terminated array,
 * padding with pad (include/linux/string.h, without the fortify checks). */
#define strtomem_pad(dest, src, pad) do {					\
	const size_t _dest_len = __builtin_object_size(dest, 1);		\
	const size_t _src_len = __builtin_object_size(src, 1);			\
	size_t _n = strnlen(src, _src_len < _dest_len ? _src_len : _dest_len);	\
	BUILD_BUG_ON(!__builtin_constant_p(_dest_len) || _dest_len == (size_t)-1); \
	memcpy(dest, src, _n);							\
	memset((char *)(dest) + _n, pad, _dest_len - _n);			\
} while (0)
#endif
