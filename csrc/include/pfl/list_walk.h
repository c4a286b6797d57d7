/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the checked walk of a C list in C, for the batched iteration
 * of pyforlinux/interop/list.py (CList.iter_batched()), so that Python
 * crosses the FFI once per batch of entries instead of once per entry.
 *
 * Every step makes the checks of the Python walk (_Walk in list.py):
 * - no NULL or LIST_POISON link is followed (-EFAULT);
 * - with check_live, an entry is a live runtime allocation (kmalloc,
 *   kmem_cache_alloc) before it is read (-EFAULT, never a use-after-free);
 * - next->prev is the node just left, and the head's prev is the last
 *   entry (-EAGAIN: modified or corrupted);
 * and the walks are bounded by the caller's buffer (no endless loop).
 * Node addresses are uintptr_t; an entry is at node - offset.
 * Implemented in csrc/helpers/list.c. C header: include/linux/list.h
 */
#ifndef _PFL_LIST_WALK_H
#define _PFL_LIST_WALK_H
#include <stddef.h>
#include <stdint.h>
#include <linux/list.h>

/* A link no checked walk follows: NULL or a list_del()ed entry's poison. */
static inline bool pfl_list_bad_link(const struct list_head *p)
{
	return !p || p == LIST_POISON1 || p == LIST_POISON2;
}

/*
 * Walk on from @cur (the head to start, else the last node a previous call
 * stored) and store up to @max node addresses in @out. Returns how many
 * were stored; fewer than @max means the walk is back at the head (whose
 * prev was checked to be the last node). -EFAULT/-EAGAIN as above.
 * If @gen is not NULL, the runtime's free generation at the start of the
 * walk (pfl_kobj_unlink_gen_locked()) is stored there, for
 * pfl_list_check_batch() and for a later walk's @known_gen.
 * @known[0..nknown) are the nodes an earlier walk that started at free
 * generation @known_gen stored at the same places (or NULL, 0): if nothing
 * was freed since, the i-th node met is not looked up in the runtime's live
 * set when it is known[i] (found live then, so still live).
 */
long pfl_list_walk_checked(struct list_head *head, struct list_head *cur, size_t offset,
			   int check_live, uintptr_t *out, size_t max, unsigned long *gen,
			   const uintptr_t *known, size_t nknown, unsigned long known_gen);

/*
 * Check that @nodes[0..n) are still linked as a walk stored them: each is
 * live (with @check_live) with plausible links, nodes[0]->prev == @prev,
 * nodes[i]->next == nodes[i+1], the last one's next == @next; when @prev
 * (@next) is the head, the head's next (prev) must be the first (last)
 * node, or @next (@prev) for n == 0. So checking a whole walk's nodes, a
 * batch at a time, is a fresh walk that meets exactly those nodes.
 * Liveness is not looked up again if nothing was freed since @gen (from
 * the pfl_list_walk_checked() that found these nodes live). If @entries is
 * not NULL, each entry's address (node - offset) is stored there. 0, or
 * -EAGAIN/-EFAULT (then @entries is not to be used).
 */
int pfl_list_check_batch(struct list_head *head, uintptr_t prev, const uintptr_t *nodes,
			 size_t n, uintptr_t next, size_t offset, int check_live,
			 unsigned long gen, void **entries);
#endif
