// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux KUnit shim: registration, the case runner, resources and KTAP
 * output (include/kunit/test.h is this shim's header). Also runs the
 * kernel's other self-test styles as KTAP suites: the dma-buf selftest
 * framework (__subtests), tools/testing/scatterlist's table program, and
 * lib/test_xarray.c's module_init checks.
 * Output format: Documentation/dev-tools/ktap.rst
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <kunit/test.h>
#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

/* ---- registered suites ---- */
enum pfl_suite_kind { SUITE_KUNIT, SUITE_CUSTOM };

struct pfl_suite {
	const char *name;
	int kind;
	struct kunit_suite *ks;			/* SUITE_KUNIT */
	void (*run)(struct pfl_suite *s);	/* SUITE_CUSTOM */
};

#define MAX_SUITES 64
static struct pfl_suite suites[MAX_SUITES];
static int nr_suites;

void pfl_kunit_register(struct kunit_suite **ss, int n)
{
	int i;

	for (i = 0; i < n && nr_suites < MAX_SUITES; i++) {
		suites[nr_suites].name = ss[i]->name;
		suites[nr_suites].kind = SUITE_KUNIT;
		suites[nr_suites].ks = ss[i];
		nr_suites++;
	}
}

static void register_custom(const char *name, void (*run)(struct pfl_suite *s))
{
	if (nr_suites < MAX_SUITES) {
		suites[nr_suites].name = name;
		suites[nr_suites].kind = SUITE_CUSTOM;
		suites[nr_suites].run = run;
		nr_suites++;
	}
}

int pfl_kunit_nr_suites(void)
{
	return nr_suites;
}

const char *pfl_kunit_suite_name(int i)
{
	return i >= 0 && i < nr_suites ? suites[i].name : NULL;
}

/* ---- KTAP output ---- */
static int out_fd = 1;

void pfl_kunit_set_output(int fd)
{
	out_fd = fd;
}

static void ktap(int indent, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ktap(int indent, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n = 0, i;
	ssize_t w;

	for (i = 0; i < indent; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "    ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (i = 0; i < n; i += (int)w) {
		w = write(out_fd, buf + i, (size_t)(n - i));
		if (w <= 0)
			break;
	}
}

void pfl_kunit_log(int indent, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	ktap(indent, "%s", buf);
}

/* ---- per-suite tallies ---- */
struct tally {
	int pass, fail, skip;
};
static struct tally cur_tally;
static int case_no;

static void case_result(enum kunit_status st, const char *name, const char *comment)
{
	case_no++;
	switch (st) {
	case KUNIT_SUCCESS:
		cur_tally.pass++;
		ktap(1, "ok %d %s%s%s", case_no, name, comment[0] ? " # " : "", comment);
		break;
	case KUNIT_SKIPPED:
		cur_tally.skip++;
		ktap(1, "ok %d %s # SKIP %s", case_no, name, comment);
		break;
	default:
		cur_tally.fail++;
		ktap(1, "not ok %d %s%s%s", case_no, name, comment[0] ? " # " : "", comment);
	}
}

/* ---- the KUnit case runner ---- */
static __thread struct kunit *current_test;

struct kunit *kunit_get_current_test(void)
{
	return current_test;
}

void __kunit_fail_current_test(const char *file, int line, const char *fmt, ...)
{
	struct kunit *test = current_test;
	char buf[512];
	va_list ap;

	if (!test)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	test->status = KUNIT_FAILURE;
	ktap(1, "# %s: %s:%d: %s", test->name, file, line, buf);
}

void pfl_kunit_fail(struct kunit *test, const char *file, int line, bool assert,
		    const char *fmt, ...)
{
	char buf[1536];
	va_list ap;

	test->status = KUNIT_FAILURE;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktap(1, "# %s: %s FAILED at %s:%d", test->name, assert ? "ASSERTION" : "EXPECTATION",
	     file, line);
	pfl_kunit_log(1, "%s", buf);
}

void pfl_kunit_abort(struct kunit *test)
{
	longjmp(test->abort, 1);
}

void kunit_mark_skipped_fmt(struct kunit *test, const char *fmt, ...)
{
	va_list ap;

	test->status = KUNIT_SKIPPED;
	va_start(ap, fmt);
	vsnprintf(test->status_comment, sizeof(test->status_comment), fmt, ap);
	va_end(ap);
}

/* Allocations are resources, as in lib/kunit/test.c: a kfree action. */
#include <kunit/resource.h>
KUNIT_DEFINE_ACTION_WRAPPER(pfl_kfree_action_wrapper, kfree, const void *)

void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size, gfp_t gfp)
{
	void *data = kmalloc_array(n, size, gfp);

	if (!data)
		return NULL;
	if (kunit_add_action_or_reset(test, pfl_kfree_action_wrapper, data) != 0)
		return NULL;
	return data;
}

void kunit_kfree(struct kunit *test, const void *ptr)
{
	if (!ptr)
		return;
	kunit_release_action(test, pfl_kfree_action_wrapper, (void *)ptr);
}

/* lib/kunit/test.c's kunit_cleanup(): release resources newest first. */
static void free_resources(struct kunit *test)
{
	struct kunit_resource *res;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&test->lock, flags);
		if (list_empty(&test->resources)) {
			spin_unlock_irqrestore(&test->lock, flags);
			break;
		}
		res = list_last_entry(&test->resources, struct kunit_resource, node);
		spin_unlock_irqrestore(&test->lock, flags);
		kunit_remove_resource(test, res);
	}
}

/* lib/kunit/device.c's bus and root device, as KUnit's module init makes
 * them: at boot (after the runtime's, constructor 150), not inside a case. */
int kunit_bus_init(void);
static void __attribute__((constructor(190))) pfl_kunit_bus_boot(void)
{
	if (kunit_bus_init())
		pfl_printk("kunit: kunit_bus_init() failed\n");
}

static void run_one(struct kunit_suite *ks, struct kunit_case *c, struct kunit *test)
{
	test->status = KUNIT_SUCCESS;
	test->status_comment[0] = 0;
	INIT_LIST_HEAD(&test->resources);
	spin_lock_init(&test->lock);
	test->name = c->name;
	current_test = test;
	if (!setjmp(test->abort)) {
		if (ks->init && ks->init(test)) {
			KUNIT_FAIL(test, "test init failed");
		} else {
			c->run_case(test);
		}
	}
	/* exit runs even after an ASSERT abort, as in KUnit */
	if (ks->exit && !setjmp(test->abort))
		ks->exit(test);
	free_resources(test);
	current_test = NULL;
}

static void run_kunit_suite(struct pfl_suite *s)
{
	struct kunit_suite *ks = s->ks;
	struct kunit_case *c;
	struct kunit test;
	int n = 0;

	for (c = ks->test_cases; c->run_case; c++)
		n++;
	ktap(1, "1..%d", n);
	if (ks->suite_init && ks->suite_init(ks)) {
		for (c = ks->test_cases; c->run_case; c++)
			case_result(KUNIT_FAILURE, c->name, "suite_init failed");
		return;
	}
	for (c = ks->test_cases; c->run_case; c++) {
		memset(&test, 0, sizeof(test));
		if (!c->generate_params) {
			run_one(ks, c, &test);
			c->status = test.status;
			case_result(test.status, c->name, test.status_comment);
		} else {
			/* Parameterised: a nested KTAP block, one line a parameter. */
			char desc[KUNIT_PARAM_DESC_SIZE];
			const void *p = NULL;
			int k = 0, failed = 0;

			ktap(2, "KTAP version 1");
			ktap(2, "# Subtest: %s", c->name);
			while ((desc[0] = 0, p = c->generate_params(p, desc))) {
				memset(&test, 0, sizeof(test));
				test.param_value = p;
				test.param_index = k;
				run_one(ks, c, &test);
				k++;
				if (test.status == KUNIT_FAILURE)
					failed = 1;
				ktap(2, "%sok %d %s", test.status == KUNIT_FAILURE ? "not " : "", k,
				     desc[0] ? desc : "param");
			}
			ktap(2, "1..%d", k);
			case_result(failed ? KUNIT_FAILURE : KUNIT_SUCCESS, c->name, "");
		}
	}
	if (ks->suite_exit)
		ks->suite_exit(ks);
}

/* Runs suite i as KTAP subtest number ktap_no; returns failures. */
int pfl_kunit_run_suite(int i, int ktap_no, int *pass, int *fail, int *skip)
{
	struct pfl_suite *s;

	if (i < 0 || i >= nr_suites)
		return -ENOENT;
	s = &suites[i];
	memset(&cur_tally, 0, sizeof(cur_tally));
	case_no = 0;
	ktap(1, "KTAP version 1");
	ktap(1, "# Subtest: %s", s->name);
	if (s->kind == SUITE_KUNIT)
		run_kunit_suite(s);
	else
		s->run(s);
	ktap(0, "# %s: pass:%d fail:%d skip:%d total:%d", s->name, cur_tally.pass,
	     cur_tally.fail, cur_tally.skip, cur_tally.pass + cur_tally.fail + cur_tally.skip);
	ktap(0, "%sok %d %s", cur_tally.fail ? "not " : "", ktap_no, s->name);
	*pass = cur_tally.pass;
	*fail = cur_tally.fail;
	*skip = cur_tally.skip;
	return cur_tally.fail;
}

/* ---- drivers/dma-buf selftests: __subtests() reports KTAP cases ---- */
#include "selftest.h"

int __subtests(const char *caller, const struct subtest *st, int count, void *data)
{
	int err, ret = 0;

	ktap(1, "1..%d", count);
	for (; count--; st++) {
		cond_resched();
		if (signal_pending(current))
			return -EINTR;
		err = st->func(data);
		if (err && err != -EINTR) {
			char c[64];

			snprintf(c, sizeof(c), "%s failed with error %d", st->name, err);
			ktap(1, "# %s/%s: %s", caller, st->name, c);
			case_result(KUNIT_FAILURE, st->name, "");
			ret = err;
		} else {
			case_result(KUNIT_SUCCESS, st->name, "");
		}
	}
	return ret;
}

/* Each selftest of csrc/kunit/include/selftests.h as one suite. */
#define selftest(name, func)							\
static void run_selftest_##name(struct pfl_suite *s)				\
{										\
	int err = func();							\
										\
	if (err && !case_no)							\
		case_result(KUNIT_FAILURE, #name, "setup failed");		\
}
#include "selftests.h"
#undef selftest

/* ---- tools/testing/scatterlist/main.c: one KTAP case per table row ---- */
int pfl_sg_table_main(void);	/* its main(), renamed at compile time */
static jmp_buf sg_abort;
static int sg_case, sg_failed_case;

static void sg_case_begin(void)
{
	if (sg_case && sg_case != sg_failed_case) {
		char name[32];

		snprintf(name, sizeof(name), "table_case_%d", sg_case);
		case_result(KUNIT_SUCCESS, name, "");
	}
	sg_case++;
}

int pfl_sg_case_alloc_table_from_pages_segment(struct sg_table *sgt, struct page **pages,
		unsigned int n_pages, unsigned int offset, unsigned long size,
		unsigned int max_segment, gfp_t gfp_mask)
{
	sg_case_begin();
	return sg_alloc_table_from_pages_segment(sgt, pages, n_pages, offset, size,
						 max_segment, gfp_mask);
}

int pfl_sg_case_alloc_append_table_from_pages(struct sg_append_table *sgt,
		struct page **pages, unsigned int n_pages, unsigned int offset,
		unsigned long size, unsigned int max_segment, unsigned int left_pages,
		gfp_t gfp_mask)
{
	if (left_pages)	/* the first of an append case's two calls */
		sg_case_begin();
	return sg_alloc_append_table_from_pages(sgt, pages, n_pages, offset, size,
						max_segment, left_pages, gfp_mask);
}

void pfl_sg_table_check(int ok, const char *cond, const char *file, int line)
{
	if (ok)
		return;
	ktap(1, "# table_case_%d: assertion '%s' failed at %s:%d", sg_case, cond, file, line);
	longjmp(sg_abort, 1);
}

void pfl_sg_table_exit(int code)
{
	longjmp(sg_abort, code ? code : 1);
}

static void run_scatterlist_table(struct pfl_suite *s)
{
	char name[32];

	sg_case = 0;
	sg_failed_case = -1;
	if (!setjmp(sg_abort)) {
		pfl_sg_table_main();
		sg_case_begin();	/* closes the last case */
		ktap(1, "1..%d", case_no);
		return;
	}
	snprintf(name, sizeof(name), "table_case_%d", sg_case);
	case_result(KUNIT_FAILURE, name, "");
	ktap(1, "1..%d", case_no);
}

/* ---- lib/test_xarray.c: its module_init as one case, with its count ---- */
int pfl_module_init_test_xarray(void);
static unsigned int xa_passed, xa_run;

static void run_xarray_module(struct pfl_suite *s)
{
	char comment[96];
	int err;

	ktap(1, "1..1");
	unsigned long long seq = pfl_log_next_seq();
	char text[1024];
	unsigned long long ts;
	int level, pid;

	xa_passed = xa_run = 0;
	err = pfl_module_init_test_xarray();
	/* Its summary line, from the kernel log. */
	for (; pfl_log_read(&seq, &level, &ts, &pid, text, sizeof(text)) >= 0; seq++)
		sscanf(text, "XArray: %u of %u tests passed", &xa_passed, &xa_run);
	snprintf(comment, sizeof(comment), "%u of %u checks passed", xa_passed, xa_run);
	case_result(err || !xa_run || xa_passed != xa_run ? KUNIT_FAILURE : KUNIT_SUCCESS,
		    "xarray_checks", comment);
}

static void __attribute__((constructor(200))) register_custom_suites(void)
{
	register_custom("dma-fence", run_selftest_dma_fence);
	register_custom("dma-fence-chain", run_selftest_dma_fence_chain);
	register_custom("dma-resv", run_selftest_dma_resv);
	register_custom("dma-fence-unwrap", run_selftest_dma_fence_unwrap);
	register_custom("scatterlist", run_scatterlist_table);
	register_custom("xarray", run_xarray_module);
}

void pfl_kunit_msg(struct kunit *test, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (buf[1])	/* past the leading space */
		pfl_kunit_log(1, "\t%s", buf + 1);
}

/* ---- kernel/locking/test-ww_mutex.c: its module_init as one case ---- */
int pfl_module_init_test_ww_mutex(void);
void pfl_module_exit_test_ww_mutex(void);

static void run_ww_mutex_module(struct pfl_suite *s)
{
	unsigned long warns = pfl_warn_count();
	int err;

	ktap(1, "1..1");
	err = pfl_module_init_test_ww_mutex();
	if (!err)
		pfl_module_exit_test_ww_mutex();
	case_result(err || pfl_warn_count() != warns ? KUNIT_FAILURE : KUNIT_SUCCESS,
		    "test_ww_mutex", err ? "module init failed" : "");
}

static void __attribute__((constructor(201))) register_ww_mutex_suite(void)
{
	register_custom("ww_mutex", run_ww_mutex_module);
}
