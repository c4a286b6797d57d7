/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: lock classes and per-lock maps. Unlike a !CONFIG_LOCKDEP
 * kernel, every lock here records its owner and class, so that
 * lockdep_assert_held(), spin_is_locked() and the order validator
 * (runtime/lockdep.c) are real checks.
 * C header: include/linux/lockdep_types.h
 */
#ifndef __LINUX_LOCKDEP_TYPES_H
#define __LINUX_LOCKDEP_TYPES_H

struct task_struct;
struct pfl_lock_class;

#define MAX_LOCKDEP_SUBCLASSES 8UL

/* A lock class: static keys live in .data; dynamic ones are registered. */
struct lock_class_key {
	struct pfl_lock_class *cls[MAX_LOCKDEP_SUBCLASSES];
	const char *name;
};

enum pfl_lock_kind {
	PFL_LOCK_SPIN = 1,	/* spinlock_t: holder must not sleep */
	PFL_LOCK_MUTEX = 2,	/* struct mutex: sleeping */
	PFL_LOCK_OTHER = 3,	/* a map with no lock behind it (Python locks, fake maps) */
};

struct lockdep_map {
	struct lock_class_key *key;
	const char *name;
	struct task_struct *owner;	/* holder, NULL when free */
	int kind;			/* enum pfl_lock_kind */
	int subclass;
	unsigned long acquire_ip;
};

/* What the validator reports (pfl_lockdep_count()). */
enum pfl_lockdep_kind {
	PFL_LOCKDEP_INVERSION,	/* possible circular locking dependency */
	PFL_LOCKDEP_RECURSION,	/* recursive locking */
	PFL_LOCKDEP_MIGHT_SLEEP,	/* sleeping in atomic context */
	PFL_LOCKDEP_BAD_UNLOCK,	/* unlock of a lock not held */
	PFL_LOCKDEP_NR_KINDS,
};

/* The kernel passes any static object's address as _key (DECLARE_WORK()
 * passes the work itself) and only hashes it; this runtime stores classes
 * in the key, so such a map starts keyless: its own class, keyed on first
 * use (runtime/lockdep.c, runtime/workqueue.c). */
#define STATIC_LOCKDEP_MAP_INIT(_name, _key) \
	{ .key = NULL, .name = (_name) }

#endif
