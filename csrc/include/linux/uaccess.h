/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: user memory is the calling client's address space, a table
 * of mappings kept by the runtime (runtime/uaccess.c, Python: uaccess.UserSpace).
 * The current task's mm (pfl_use_mm(), like kthread_use_mm()) is searched;
 * a range that is not wholly mapped is a fault: copy_*_user() return the
 * bytes not copied, get_user()/put_user() return -EFAULT, as in the kernel.
 * C header: include/linux/uaccess.h
 */
#ifndef __LINUX_UACCESS_H__
#define __LINUX_UACCESS_H__

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/minmax.h>

struct pfl_mm;
unsigned long pfl_copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long pfl_copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long pfl_clear_user(void __user *to, unsigned long n);
long pfl_strncpy_from_user(char *dst, const char __user *src, long count);
bool pfl_access_ok(const void __user *addr, unsigned long size);

#define copy_from_user(to, from, n) pfl_copy_from_user((to), (from), (n))
#define copy_to_user(to, from, n) pfl_copy_to_user((to), (from), (n))
#define __copy_from_user(to, from, n) copy_from_user(to, from, n)
#define __copy_to_user(to, from, n) copy_to_user(to, from, n)
#define raw_copy_from_user(to, from, n) copy_from_user(to, from, n)
#define raw_copy_to_user(to, from, n) copy_to_user(to, from, n)
#define clear_user(to, n) pfl_clear_user((to), (n))
#define __clear_user(to, n) clear_user(to, n)
#define strncpy_from_user(d, s, c) pfl_strncpy_from_user((d), (s), (c))
#define access_ok(addr, size) pfl_access_ok((addr), (size))

#define get_user(x, ptr) ({						\
	__typeof__(*(ptr)) __gu_val;					\
	int __gu_err = pfl_copy_from_user(&__gu_val, (ptr), sizeof(*(ptr))) ? -EFAULT : 0; \
	(x) = __gu_err ? (__typeof__(*(ptr)))0 : __gu_val;		\
	__gu_err;							\
})
#define put_user(x, ptr) ({						\
	__typeof__(*(ptr)) __pu_val = (x);				\
	pfl_copy_to_user((ptr), &__pu_val, sizeof(*(ptr))) ? -EFAULT : 0; \
})
#define __get_user(x, ptr) get_user(x, ptr)
#define __put_user(x, ptr) put_user(x, ptr)

#define pagefault_disable() do { } while (0)
#define pagefault_enable() do { } while (0)
#define user_access_begin(p, n) access_ok(p, n)
#define user_access_end() do { } while (0)

static inline __must_check unsigned long
_copy_from_user(void *to, const void __user *from, unsigned long n)
{
	return copy_from_user(to, from, n);
}

/* check_zeroed_user() and copy_struct_from_user() as the kernel has them */
static inline int check_zeroed_user(const void __user *from, size_t size)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < size; i++) {
		if (pfl_copy_from_user(&c, (const char __user *)from + i, 1))
			return -EFAULT;
		if (c)
			return 0;
	}
	return 1;
}

static __always_inline __must_check int
copy_struct_from_user(void *dst, size_t ksize, const void __user *src, size_t usize)
{
	size_t size = min(ksize, usize);
	size_t rest = max(ksize, usize) - size;

	if (usize < ksize) {
		memset((char *)dst + size, 0, rest);
	} else if (usize > ksize) {
		int ret = check_zeroed_user((const char __user *)src + size, rest);
		if (ret <= 0)
			return ret ?: -E2BIG;
	}
	if (copy_from_user(dst, src, size))
		return -EFAULT;
	return 0;
}

#endif /* __LINUX_UACCESS_H__ */
