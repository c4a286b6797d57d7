/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: tools/testing/scatterlist/main.c is a program: its assert()
 * and exit() would kill the Python process. For that file only, they
 * record a failure of the current table case and end the run (longjmp),
 * and the allocation calls are routed through counters that mark where
 * each table case begins (csrc/kunit/selftest.c).
 */
#undef assert
void pfl_sg_table_check(int ok, const char *cond, const char *file, int line);
void pfl_sg_table_exit(int code) __attribute__((noreturn));
#define assert(c) pfl_sg_table_check(!!(c), #c, __FILE__, __LINE__)
#define exit(code) pfl_sg_table_exit(code)
