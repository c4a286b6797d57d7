// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux helpers for pyforlinux/interop/list.py: the checked list walk
 * in C, a batch of entries per call (see csrc/include/pfl/list_walk.h).
 * The checks are those of the Python walk, made here once per node so that
 * CList.iter_batched() crosses the FFI once per batch.
 * C header: include/linux/list.h
 */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <pfl/runtime.h>
#include <pfl/list_walk.h>

/*
 * The node may be read: live (if asked) and with plausible links. Called
 * with the runtime's object set locked (pfl_kobj_live_lock(), once per call
 * of the functions below, not once per node): no object is freed while a
 * walk runs, so a node found live stays readable until the walk ends.
 */
static int node_ok(const struct list_head *head, uintptr_t node, size_t offset, int check_live)
{
	const struct list_head *n = (const struct list_head *)node;

	if (node != (uintptr_t)head && check_live && !pfl_kobj_is_live_locked((void *)(node - offset)))
		return -EFAULT;
	if (pfl_list_bad_link(n->next) || pfl_list_bad_link(n->prev))
		return -EFAULT;
	return 0;
}

/*
 * One step from @cur: the next node, checked; 0 with *out = next, or -errno.
 * @known is a node found live earlier and still live (0 if none: @cur's
 * links were checked, so the next node is never 0): it is not looked up.
 */
static int step(struct list_head *head, uintptr_t cur, size_t offset, int check_live,
		uintptr_t known, uintptr_t *out)
{
	uintptr_t nxt = (uintptr_t)((struct list_head *)cur)->next;
	int ret;

	if (nxt == (uintptr_t)head) {
		*out = nxt;
		return head->prev == (struct list_head *)cur ? 0 : -EAGAIN;
	}
	ret = node_ok(head, nxt, offset, check_live && nxt != known);
	if (ret)
		return ret;
	if (((struct list_head *)nxt)->prev != (struct list_head *)cur)
		return -EAGAIN;
	*out = nxt;
	return 0;
}

static long walk_checked(struct list_head *head, struct list_head *cur, size_t offset,
			 int check_live, uintptr_t *out, size_t max, const uintptr_t *known,
			 size_t nknown)
{
	uintptr_t node = (uintptr_t)cur, nxt;
	size_t count = 0;
	int ret;

	ret = node_ok(head, node, offset, check_live);
	if (ret)
		return ret;
	while (count < max) {
		ret = step(head, node, offset, check_live, count < nknown ? known[count] : 0, &nxt);
		if (ret)
			return ret;
		if (nxt == (uintptr_t)head)
			break;
		out[count++] = nxt;
		node = nxt;
	}
	return (long)count;
}

long pfl_list_walk_checked(struct list_head *head, struct list_head *cur, size_t offset,
			   int check_live, uintptr_t *out, size_t max, unsigned long *gen,
			   const uintptr_t *known, size_t nknown, unsigned long known_gen)
{
	long ret;

	pfl_kobj_live_lock();
	if (gen)
		*gen = pfl_kobj_unlink_gen_locked();
	/*
	 * The nodes in @known were found live by a walk that started at free
	 * generation @known_gen: if nothing was freed since, they are all still
	 * live. Otherwise every node is looked up.
	 */
	if (pfl_kobj_unlink_gen_locked() != known_gen)
		nknown = 0;
	ret = walk_checked(head, cur, offset, check_live, out, max, known, nknown);
	pfl_kobj_live_unlock();
	return ret;
}

static int check_batch(struct list_head *head, uintptr_t prev, const uintptr_t *nodes,
		       size_t n, uintptr_t next, size_t offset, int check_live, void **entries)
{
	size_t i;
	int ret;

	/* The head is valid by the caller's contract: its links are read unchecked. */
	if (prev == (uintptr_t)head && (uintptr_t)head->next != (n ? nodes[0] : next))
		return -EAGAIN;
	if (next == (uintptr_t)head && (uintptr_t)head->prev != (n ? nodes[n - 1] : prev))
		return -EAGAIN;
	for (i = 0; i < n; i++) {
		const struct list_head *node = (const struct list_head *)nodes[i];

		ret = node_ok(head, nodes[i], offset, check_live);
		if (ret)
			return ret;
		if ((uintptr_t)node->prev != (i ? nodes[i - 1] : prev) ||
		    (uintptr_t)node->next != (i + 1 < n ? nodes[i + 1] : next))
			return -EAGAIN;
		if (entries)
			entries[i] = (void *)(nodes[i] - offset);
	}
	return 0;
}

int pfl_list_check_batch(struct list_head *head, uintptr_t prev, const uintptr_t *nodes,
			 size_t n, uintptr_t next, size_t offset, int check_live,
			 unsigned long gen, void **entries)
{
	int ret;

	pfl_kobj_live_lock();
	/*
	 * Every node was found live by the walk that stored it, after @gen was
	 * taken: if nothing was freed since, each is still live and is not
	 * looked up again (the lookup is most of a walk's cost).
	 */
	if (check_live && pfl_kobj_unlink_gen_locked() == gen)
		check_live = 0;
	ret = check_batch(head, prev, nodes, n, next, offset, check_live, entries);
	pfl_kobj_live_unlock();
	return ret;
}
