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

#endif
