/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux KUnit shim: the subset of KUnit the kernel's own suites use,
 * so they run unmodified in userspace. EXPECT records a failure and goes
 * on; ASSERT records it and aborts the case (longjmp to the runner).
 * Parameterised cases, suite/case init and exit, and resources are
 * supported: the kernel's own lib/kunit/resource.c (actions, named
 * resources; kunit_kmalloc() is one) and lib/kunit/device.c
 * (kunit_device_register() over the real driver core) are compiled in,
 * and a case's resources are released last-in first-out when it ends. Output is KTAP.
 * C header: include/kunit/test.h
 */
#ifndef _KUNIT_TEST_H
#define _KUNIT_TEST_H

#include <setjmp.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <kunit/test-bug.h>

#define KUNIT_PARAM_DESC_SIZE 128
#define KUNIT_LOG_SIZE 512

enum kunit_status {
	KUNIT_SUCCESS,
	KUNIT_FAILURE,
	KUNIT_SKIPPED,
};

struct kunit {
	void *priv;
	const char *name;
	enum kunit_status status;
	const void *param_value;
	int param_index;
	char status_comment[256];
	spinlock_t lock;		/* guards resources (kunit/resource.h) */
	struct list_head resources;	/* struct kunit_resource, the kernel's: actions, allocations */
	jmp_buf abort;			/* KUNIT_ASSERT_* failures land here */
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
	enum kunit_status status;
};

struct kunit_suite {
	const char name[256];
	int (*suite_init)(struct kunit_suite *suite);
	void (*suite_exit)(struct kunit_suite *suite);
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
	enum kunit_status status;
	char status_comment[256];
	int suite_init_err;
};

#define KUNIT_CASE(test_name) { .run_case = test_name, .name = #test_name }
#define KUNIT_CASE_SLOW(test_name) KUNIT_CASE(test_name)
#define KUNIT_CASE_PARAM(test_name, gen_params) \
	{ .run_case = test_name, .name = #test_name, .generate_params = gen_params }
#define KUNIT_ARRAY_PARAM(name, array, get_desc)				\
	static const void *name##_gen_params(const void *prev, char *desc)	\
	{									\
		typeof((array)[0]) *__next = prev ? ((typeof(__next))prev) + 1 : (array); \
		if (__next - (array) < ARRAY_SIZE((array))) {			\
			void (*__get_desc)(typeof(__next), char *) = get_desc;	\
			if (__get_desc)						\
				__get_desc(__next, desc);			\
			return __next;						\
		}								\
		return NULL;							\
	}

/* Registration: each kunit_test_suites() adds its suites at load time. */
void pfl_kunit_register(struct kunit_suite **suites, int n);
#define kunit_test_suites(__suites...)						\
	static struct kunit_suite *__PASTE(__pfl_kunit_suites_, __LINE__)[] = { __suites }; \
	static void __attribute__((constructor)) __PASTE(__pfl_kunit_reg_, __LINE__)(void) \
	{									\
		pfl_kunit_register(__PASTE(__pfl_kunit_suites_, __LINE__),	\
				   ARRAY_SIZE(__PASTE(__pfl_kunit_suites_, __LINE__))); \
	}
#define kunit_test_suite(suite) kunit_test_suites(&suite)
#define kunit_test_init_section_suites(s...) kunit_test_suites(s)

/* Resources */
void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size, gfp_t gfp);
static inline void *kunit_kmalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	return kunit_kmalloc_array(test, 1, size, gfp);
}
static inline void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	return kunit_kmalloc(test, size, gfp | __GFP_ZERO);
}
static inline void *kunit_kcalloc(struct kunit *test, size_t n, size_t size, gfp_t gfp)
{
	return kunit_kmalloc_array(test, n, size, gfp | __GFP_ZERO);
}
void kunit_kfree(struct kunit *test, const void *ptr);

/* include/kunit/test.h: a duplicate freed with the case (the shim copies
 * rodata too; kunit_kfree_const() of a string it did not copy is a no-op). */
static inline char *kunit_kstrdup(struct kunit *test, const char *str, gfp_t gfp)
{
	size_t len;
	char *buf;

	if (!str)
		return NULL;
	len = strlen(str) + 1;
	buf = kunit_kmalloc(test, len, gfp);
	if (buf)
		memcpy(buf, str, len);
	return buf;
}
static inline const char *kunit_kstrdup_const(struct kunit *test, const char *str, gfp_t gfp)
{
	return kunit_kstrdup(test, str, gfp);
}
#define kunit_kfree_const(test, x) kunit_kfree((test), (x))

/* Logging */
void pfl_kunit_log(int indent, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define kunit_log(lvl, test_or_suite, fmt, ...) pfl_kunit_log(1, "# " fmt, ##__VA_ARGS__)
#define kunit_printk(lvl, test, fmt, ...) \
	pfl_kunit_log(1, "# %s: " fmt, (test)->name, ##__VA_ARGS__)
#define kunit_info(test, fmt, ...) kunit_printk(KERN_INFO, test, fmt, ##__VA_ARGS__)
#define kunit_warn(test, fmt, ...) kunit_printk(KERN_WARNING, test, fmt, ##__VA_ARGS__)
#define kunit_err(test, fmt, ...) kunit_printk(KERN_ERR, test, fmt, ##__VA_ARGS__)

void kunit_mark_skipped_fmt(struct kunit *test, const char *fmt, ...);
#define kunit_mark_skipped(test, fmt, ...) kunit_mark_skipped_fmt(test, fmt, ##__VA_ARGS__)
#define kunit_skip(test, fmt, ...) do { kunit_mark_skipped(test, fmt, ##__VA_ARGS__); \
	pfl_kunit_abort(test); } while (0)

/* Failures */
void pfl_kunit_fail(struct kunit *test, const char *file, int line, bool assert,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pfl_kunit_abort(struct kunit *test) __attribute__((noreturn));

void pfl_kunit_msg(struct kunit *test, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failed check: report it, add the caller's message (msgp, in
 * parentheses, starts with " " so it is never an empty format), and
 * abort the case for ASSERT. */
#define __PFL_UNPAREN(...) __VA_ARGS__
#define __PFL_KUNIT_FAILED(test, assert, msgp, fmt, ...) do {			\
	pfl_kunit_fail((test), __FILE__, __LINE__, (assert), fmt, ##__VA_ARGS__); \
	pfl_kunit_msg((test), __PFL_UNPAREN msgp);						\
	if (assert)								\
		pfl_kunit_abort(test);						\
} while (0)

#define KUNIT_FAIL(test, fmt, ...) \
	__PFL_KUNIT_FAILED(test, false, (" "), "\t" fmt, ##__VA_ARGS__)
#define KUNIT_SUCCEED(test) do { } while (0)

#define __PFL_KUNIT_BOOL(test, assert, cond, expect, msg...) do {		\
	if (!!(cond) != (expect))						\
		__PFL_KUNIT_FAILED(test, assert, (" " msg), "Expected %s to be %s",	\
				   #cond, (expect) ? "true" : "false");		\
} while (0)

#define __PFL_KUNIT_INT(test, assert, l, op, r, msg...) do {			\
	typeof(l) __l = (l);							\
	typeof(r) __r = (r);							\
	if (!(__l op __r))							\
		__PFL_KUNIT_FAILED(test, assert, (" " msg),				\
			"Expected %s %s %s, but\n\t\t%s == %lld (0x%llx)\n\t\t%s == %lld (0x%llx)", \
			#l, #op, #r, #l, (long long)__l, (unsigned long long)__l, \
			#r, (long long)__r, (unsigned long long)__r);		\
} while (0)

#define __PFL_KUNIT_PTR(test, assert, l, op, r, msg...) do {			\
	const void *__l = (l);							\
	const void *__r = (r);							\
	if (!(__l op __r))							\
		__PFL_KUNIT_FAILED(test, assert, (" " msg),				\
			"Expected %s %s %s, but\n\t\t%s == %p\n\t\t%s == %p",	\
			#l, #op, #r, #l, __l, #r, __r);				\
} while (0)

#define __PFL_KUNIT_STR(test, assert, l, op, r, msg...) do {			\
	const char *__l = (l);							\
	const char *__r = (r);							\
	if (!(strcmp(__l, __r) op 0))						\
		__PFL_KUNIT_FAILED(test, assert, (" " msg),				\
			"Expected %s %s %s, but\n\t\t%s == \"%s\"\n\t\t%s == \"%s\"", \
			#l, #op, #r, #l, __l, #r, __r);				\
} while (0)

#define __PFL_KUNIT_MEM(test, assert, l, op, r, size, msg...) do {		\
	if (!(memcmp((l), (r), (size)) op 0))					\
		__PFL_KUNIT_FAILED(test, assert, (" " msg), "Expected %s %s %s over %zu bytes", \
				   #l, #op, #r, (size_t)(size));		\
} while (0)

#define __PFL_KUNIT_ERR(test, assert, ptr, msg...) do {			\
	const void *__p = (ptr);						\
	if (IS_ERR_OR_NULL(__p))						\
		__PFL_KUNIT_FAILED(test, assert, (" " msg),				\
			"Expected %s is not null and not an error, but is: %ld", \
			#ptr, IS_ERR(__p) ? PTR_ERR(__p) : 0L);			\
} while (0)

/* The two families: EXPECT (false) and ASSERT (true). */
#define KUNIT_EXPECT_TRUE(t, c) __PFL_KUNIT_BOOL(t, false, c, true)
#define KUNIT_EXPECT_FALSE(t, c) __PFL_KUNIT_BOOL(t, false, c, false)
#define KUNIT_EXPECT_TRUE_MSG(t, c, f, ...) __PFL_KUNIT_BOOL(t, false, c, true, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_FALSE_MSG(t, c, f, ...) __PFL_KUNIT_BOOL(t, false, c, false, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_TRUE(t, c) __PFL_KUNIT_BOOL(t, true, c, true)
#define KUNIT_ASSERT_FALSE(t, c) __PFL_KUNIT_BOOL(t, true, c, false)
#define KUNIT_ASSERT_TRUE_MSG(t, c, f, ...) __PFL_KUNIT_BOOL(t, true, c, true, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_FALSE_MSG(t, c, f, ...) __PFL_KUNIT_BOOL(t, true, c, false, f, ##__VA_ARGS__)

#define KUNIT_EXPECT_EQ(t, l, r) __PFL_KUNIT_INT(t, false, l, ==, r)
#define KUNIT_EXPECT_NE(t, l, r) __PFL_KUNIT_INT(t, false, l, !=, r)
#define KUNIT_EXPECT_LT(t, l, r) __PFL_KUNIT_INT(t, false, l, <, r)
#define KUNIT_EXPECT_LE(t, l, r) __PFL_KUNIT_INT(t, false, l, <=, r)
#define KUNIT_EXPECT_GT(t, l, r) __PFL_KUNIT_INT(t, false, l, >, r)
#define KUNIT_EXPECT_GE(t, l, r) __PFL_KUNIT_INT(t, false, l, >=, r)
#define KUNIT_ASSERT_EQ(t, l, r) __PFL_KUNIT_INT(t, true, l, ==, r)
#define KUNIT_ASSERT_NE(t, l, r) __PFL_KUNIT_INT(t, true, l, !=, r)
#define KUNIT_ASSERT_LT(t, l, r) __PFL_KUNIT_INT(t, true, l, <, r)
#define KUNIT_ASSERT_LE(t, l, r) __PFL_KUNIT_INT(t, true, l, <=, r)
#define KUNIT_ASSERT_GT(t, l, r) __PFL_KUNIT_INT(t, true, l, >, r)
#define KUNIT_ASSERT_GE(t, l, r) __PFL_KUNIT_INT(t, true, l, >=, r)
#define KUNIT_EXPECT_EQ_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, ==, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_NE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, !=, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_LT_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, <, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_LE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, <=, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_GT_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, >, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_GE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, false, l, >=, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_EQ_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, ==, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_NE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, !=, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_LT_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, <, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_LE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, <=, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_GT_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, >, r, f, ##__VA_ARGS__)
#define KUNIT_ASSERT_GE_MSG(t, l, r, f, ...) __PFL_KUNIT_INT(t, true, l, >=, r, f, ##__VA_ARGS__)

#define KUNIT_EXPECT_PTR_EQ(t, l, r) __PFL_KUNIT_PTR(t, false, l, ==, r)
#define KUNIT_EXPECT_PTR_NE(t, l, r) __PFL_KUNIT_PTR(t, false, l, !=, r)
#define KUNIT_ASSERT_PTR_EQ(t, l, r) __PFL_KUNIT_PTR(t, true, l, ==, r)
#define KUNIT_ASSERT_PTR_NE(t, l, r) __PFL_KUNIT_PTR(t, true, l, !=, r)
#define KUNIT_EXPECT_PTR_EQ_MSG(t, l, r, f, ...) __PFL_KUNIT_PTR(t, false, l, ==, r, f, ##__VA_ARGS__)
#define KUNIT_EXPECT_NULL(t, p) __PFL_KUNIT_PTR(t, false, p, ==, NULL)
#define KUNIT_EXPECT_NOT_NULL(t, p) __PFL_KUNIT_PTR(t, false, p, !=, NULL)
#define KUNIT_ASSERT_NULL(t, p) __PFL_KUNIT_PTR(t, true, p, ==, NULL)
#define KUNIT_ASSERT_NOT_NULL(t, p) __PFL_KUNIT_PTR(t, true, p, !=, NULL)
#define KUNIT_EXPECT_NOT_ERR_OR_NULL(t, p) __PFL_KUNIT_ERR(t, false, p)
#define KUNIT_ASSERT_NOT_ERR_OR_NULL(t, p) __PFL_KUNIT_ERR(t, true, p)
/* _MSG forms: the same check (the shim reports the expression, not the message). */
#define KUNIT_EXPECT_NULL_MSG(t, p, f, ...) KUNIT_EXPECT_NULL(t, p)
#define KUNIT_EXPECT_NOT_NULL_MSG(t, p, f, ...) KUNIT_EXPECT_NOT_NULL(t, p)
#define KUNIT_ASSERT_NULL_MSG(t, p, f, ...) KUNIT_ASSERT_NULL(t, p)
#define KUNIT_ASSERT_NOT_NULL_MSG(t, p, f, ...) KUNIT_ASSERT_NOT_NULL(t, p)
#define KUNIT_EXPECT_NOT_ERR_OR_NULL_MSG(t, p, f, ...) KUNIT_EXPECT_NOT_ERR_OR_NULL(t, p)
#define KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(t, p, f, ...) KUNIT_ASSERT_NOT_ERR_OR_NULL(t, p)
#define KUNIT_EXPECT_STREQ(t, l, r) __PFL_KUNIT_STR(t, false, l, ==, r)
#define KUNIT_EXPECT_STRNEQ(t, l, r) __PFL_KUNIT_STR(t, false, l, !=, r)
#define KUNIT_ASSERT_STREQ(t, l, r) __PFL_KUNIT_STR(t, true, l, ==, r)
#define KUNIT_EXPECT_MEMEQ(t, l, r, s) __PFL_KUNIT_MEM(t, false, l, ==, r, s)
#define KUNIT_EXPECT_MEMNEQ(t, l, r, s) __PFL_KUNIT_MEM(t, false, l, !=, r, s)

#endif /* _KUNIT_TEST_H */

/* As the real test.h ends: actions and resources (KUNIT_DEFINE_ACTION_WRAPPER,
 * kunit_add_action_or_reset, ...) come with it (drm_gem_shmem_test.c uses them
 * with only kunit/test.h included). Outside the guard, as in the kernel. */
#include <kunit/resource.h>
