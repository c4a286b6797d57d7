/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: the KUnit shim's view for code under test (csrc/kunit). */
#ifndef _KUNIT_TEST_BUG_H
#define _KUNIT_TEST_BUG_H
struct kunit;
struct kunit *kunit_get_current_test(void);
void __kunit_fail_current_test(const char *file, int line, const char *fmt, ...);
#define kunit_fail_current_test(fmt, ...) \
	__kunit_fail_current_test(__FILE__, __LINE__, fmt, ##__VA_ARGS__)
#endif
