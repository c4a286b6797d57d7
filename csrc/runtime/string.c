// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: the kernel's allocating string helpers (mm/util.c,
 * lib/string.c) on the runtime allocator, so each copy is accounted and can be
 * failed by fail_nth like any kmalloc. C: mm/util.c, lib/string.c.
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <ctype.h>

ssize_t pfl_strscpy(char *dst, const char *src, size_t count)
{
	size_t len;

	if (count == 0 || count > INT_MAX)
		return -E2BIG;
	len = strnlen(src, count);
	if (len == count) {
		memcpy(dst, src, count - 1);
		dst[count - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return (ssize_t)len;
}

char *kstrdup(const char *s, gfp_t gfp)
{
	size_t len;
	char *buf;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	buf = kmalloc(len, gfp);
	if (buf)
		memcpy(buf, s, len);
	return buf;
}

const char *kstrdup_const(const char *s, gfp_t gfp)
{
	return kstrdup(s, gfp);
}

char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	size_t len;
	char *buf;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	buf = kmalloc(len + 1, gfp);
	if (buf) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return buf;
}

void kfree_const(const void *x)
{
	kfree((void *)x);
}

const char *kvasprintf_const(gfp_t gfp, const char *fmt, va_list args)
{
	return kvasprintf(gfp, fmt, args);
}

/* lib/string_helpers.c: equal up to one trailing newline on either side. */
bool sysfs_streq(const char *s1, const char *s2)
{
	while (*s1 && *s1 == *s2) {
		s1++;
		s2++;
	}
	if (*s1 == *s2)
		return true;
	if (!*s1 && *s2 == '\n' && !s2[1])
		return true;
	if (*s1 == '\n' && !s1[1] && !*s2)
		return true;
	return false;
}

char *strnchr(const char *s, size_t count, int c)
{
	while (count--) {
		if (*s == (char)c)
			return (char *)s;
		if (*s++ == '\0')
			break;
	}
	return NULL;
}

/* lib/cmdline.c: is @option one of the comma-separated words of @str? */
bool parse_option_str(const char *str, const char *option)
{
	while (*str) {
		if (!strncmp(str, option, strlen(option))) {
			str += strlen(option);
			if (!*str || *str == ',')
				return true;
		}
		while (*str && *str != ',')
			str++;
		if (*str == ',')
			str++;
	}
	return false;
}

/*
 * lib/kstrtox.c's rules: base 0 detects 0x/0 prefixes (base 16 accepts 0x),
 * one leading '+' (and '-' for signed), no spaces, one trailing newline,
 * -EINVAL for no digits or junk, -ERANGE on overflow.
 */
static int pfl_parse_ull(const char *s, unsigned int base, unsigned long long *res)
{
	unsigned long long acc = 0;
	int digits = 0;

	if (base == 0) {
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2]))
			base = 16, s += 2;
		else if (s[0] == '0')
			base = 8;
		else
			base = 10;
	} else if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
	}
	for (; *s; s++, digits++) {
		unsigned int v;

		if (*s >= '0' && *s <= '9')
			v = (unsigned int)(*s - '0');
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (unsigned int)((*s | 0x20) - 'a' + 10);
		else
			break;
		if (v >= base)
			break;
		if (acc > (ULLONG_MAX - v) / base)
			return -ERANGE;
		acc = acc * base + v;
	}
	if (!digits)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = acc;
	return 0;
}

int kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	if (s[0] == '+')
		s++;
	return pfl_parse_ull(s, base, res);
}

int kstrtoll(const char *s, unsigned int base, long long *res)
{
	unsigned long long t;
	int rv;

	if (s[0] == '-') {
		rv = pfl_parse_ull(s + 1, base, &t);
		if (rv < 0)
			return rv;
		if ((long long)-t > 0)
			return -ERANGE;
		*res = (long long)-t;
	} else {
		rv = kstrtoull(s, base, &t);
		if (rv < 0)
			return rv;
		if ((long long)t < 0)
			return -ERANGE;
		*res = (long long)t;
	}
	return 0;
}

int _kstrtoul(const char *s, unsigned int base, unsigned long *res)
{
	unsigned long long t;
	int rv = kstrtoull(s, base, &t);

	if (rv < 0)
		return rv;
	*res = (unsigned long)t;
	return 0;
}

int _kstrtol(const char *s, unsigned int base, long *res)
{
	long long t;
	int rv = kstrtoll(s, base, &t);

	if (rv < 0)
		return rv;
	*res = (long)t;
	return 0;
}

int kstrtouint(const char *s, unsigned int base, unsigned int *res)
{
	unsigned long long t;
	int rv = kstrtoull(s, base, &t);

	if (rv < 0)
		return rv;
	if (t != (unsigned int)t)
		return -ERANGE;
	*res = (unsigned int)t;
	return 0;
}

int kstrtoint(const char *s, unsigned int base, int *res)
{
	long long t;
	int rv = kstrtoll(s, base, &t);

	if (rv < 0)
		return rv;
	if (t != (int)t)
		return -ERANGE;
	*res = (int)t;
	return 0;
}

int kstrtobool(const char *s, bool *res)
{
	if (!s)
		return -EINVAL;
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		*res = true;
		return 0;
	case 'n': case 'N': case 'f': case 'F': case '0':
		*res = false;
		return 0;
	case 'o': case 'O':
		if ((s[1] | 0x20) == 'n') {
			*res = true;
			return 0;
		}
		if ((s[1] | 0x20) == 'f') {
			*res = false;
			return 0;
		}
		break;
	}
	return -EINVAL;
}

/* lib/string_helpers.c */
char *kstrdup_and_replace(const char *src, char old, char new, gfp_t gfp)
{
	char *dst = kstrdup(src, gfp);

	if (!dst)
		return NULL;
	return strreplace(dst, old, new);
}

/* lib/string_helpers.c (6.12): replace every @old in @str by @new; returns
 * @str itself (before 6.7 it returned the string's end). */
char *strreplace(char *str, char old, char new)
{
	char *s = str;

	for (; *s; ++s)
		if (*s == old)
			*s = new;
	return str;
}

/* lib/hexdump.c's conversions (print_hex_dump itself is the printk shim's). */
const char hex_asc[] = "0123456789abcdef";
const char hex_asc_upper[] = "0123456789ABCDEF";

int hex_to_bin(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (unsigned char)tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int hex2bin(u8 *dst, const char *src, size_t count)
{
	while (count--) {
		int hi = hex_to_bin((unsigned char)*src++);
		int lo;

		if (hi < 0)
			return -EINVAL;
		lo = hex_to_bin((unsigned char)*src++);
		if (lo < 0)
			return -EINVAL;
		*dst++ = (u8)((hi << 4) | lo);
	}
	return 0;
}

char *bin2hex(char *dst, const void *src, size_t count)
{
	const unsigned char *_src = src;

	while (count--)
		dst = hex_byte_pack(dst, *_src++);
	return dst;
}
