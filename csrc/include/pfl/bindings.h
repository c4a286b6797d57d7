/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: runtime entry points for Python that are not declared in a
 * kernel header (the kernel has no such API: kmemleak and fail_nth live in
 * debugfs/procfs there). Implemented in csrc/runtime and csrc/kunit.
 */
#ifndef _PFL_BINDINGS_H
#define _PFL_BINDINGS_H
#include <stddef.h>
#include <stdbool.h>

/* runtime/printk.c */
size_t pfl_last_warning(char *buf, size_t size);

/* runtime/slab.c: the kmemleak view and fault injection */
long pfl_slab_live_objects(void);
size_t pfl_slab_live_bytes(void);
unsigned long pfl_slab_total_allocs(void);
int pfl_slab_nr_caches(void);
int pfl_slab_cache_info(int i, char *name, size_t name_size, long *live, unsigned long *total,
			unsigned int *object_size);
void pfl_slab_quiesce(void);
void pfl_fail_nth_set(unsigned long n);
unsigned long pfl_fail_nth_get(void);
void pfl_fail_probability_set(unsigned int ppm);
unsigned long pfl_task_alloc_count(void);
unsigned long pfl_injected_failures(void);
void pfl_fault_set_verbose(int v);

/* runtime/rcu.c */
int pfl_rcu_read_depth(void);

/* runtime/sched.c */
int pfl_nr_tasks(void);
void pfl_set_current_state(unsigned int state);

/* runtime/lockdep.c */
void pfl_lockdep_set_enabled(int on);
int pfl_lockdep_enabled(void);
void pfl_lockdep_set_quiet(int q);
unsigned long pfl_lockdep_count(int kind);
size_t pfl_lockdep_last_report(char *buf, size_t size);
void pfl_lockdep_set_acquire_context(const char *ctx);
void pfl_lockdep_unregister_key(struct lock_class_key *key);
int pfl_lockdep_depth(void);
void pfl_fork_prepare(void);
void pfl_fork_parent(void);
void pfl_fork_child(void);
int pfl_fork_count(void);
int pfl_rcu_stale_readers(void);
void pfl_lockdep_report_exit_held(void);
int pfl_lockdep_nr_classes(void);
int pfl_lock_release_check(struct lockdep_map *map, unsigned long ip);

/* kunit/kunit.c */
int pfl_kunit_nr_suites(void);
const char *pfl_kunit_suite_name(int i);
int pfl_kunit_run_suite(int i, int ktap_no, int *pass, int *fail, int *skip);
void pfl_kunit_set_output(int fd);

#endif
