// SPDX-License-Identifier: GPL-2.0
/*
 * pyforlinux runtime: the only file that sees liburcu. It is compiled
 * without the kernel shim headers (liburcu's headers pull in the system's
 * <linux/types.h> and define their own struct rcu_head), and offers
 * runtime/rcu.c a narrow interface on the memb flavour.
 */
#define _LGPL_SOURCE 1
#include <stddef.h>
#include <urcu/urcu-memb.h>

/* The kernel's struct callback_head: a next pointer, then the callback. */
struct kernel_callback_head {
	void *next;
	void (*func)(void *head);
};
_Static_assert(sizeof(struct kernel_callback_head) == sizeof(struct rcu_head),
	       "kernel rcu_head and liburcu rcu_head differ in size");
_Static_assert(offsetof(struct kernel_callback_head, func) == offsetof(struct rcu_head, func),
	       "kernel rcu_head and liburcu rcu_head differ in layout");

void pfl_urcu_register_thread(void) { urcu_memb_register_thread(); }
void pfl_urcu_unregister_thread(void) { urcu_memb_unregister_thread(); }
void pfl_urcu_read_lock(void) { urcu_memb_read_lock(); }
void pfl_urcu_read_unlock(void) { urcu_memb_read_unlock(); }
void pfl_urcu_synchronize(void) { urcu_memb_synchronize_rcu(); }
void pfl_urcu_barrier(void) { urcu_memb_barrier(); }
/* liburcu's README, "Interaction with fork()": the parent calls
 * call_rcu_before_fork() before fork() and call_rcu_after_fork_parent()
 * after; the child call_rcu_after_fork_child(). Called explicitly around
 * os.fork() (Python's register_at_fork), not from pthread_atfork(), which
 * the README discourages for callbacks that free memory (ours do). */
void pfl_urcu_before_fork(void) { urcu_memb_call_rcu_before_fork(); }
void pfl_urcu_after_fork_parent(void) { urcu_memb_call_rcu_after_fork_parent(); }
void pfl_urcu_after_fork_child(void) { urcu_memb_call_rcu_after_fork_child(); }
void pfl_urcu_call(void *head, void (*func)(void *head))
{
	urcu_memb_call_rcu((struct rcu_head *)head, (void (*)(struct rcu_head *))func);
}
