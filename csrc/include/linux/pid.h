/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: struct pid, refcounted, one per task id (runtime/vfs.c).
 * C header: include/linux/pid.h */
#ifndef _LINUX_PID_H
#define _LINUX_PID_H
#include <linux/types.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
struct task_struct;
struct pid {
	refcount_t count;
	int nr;
	struct rcu_head rcu;
};
enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, PIDTYPE_MAX };
struct pid *get_pid(struct pid *pid);
void put_pid(struct pid *pid);
pid_t pid_nr(struct pid *pid);
pid_t pid_vnr(struct pid *pid);
struct pid *task_tgid(struct task_struct *task);
struct pid *task_pid(struct task_struct *task);
struct task_struct *pid_task(struct pid *pid, enum pid_type type);
struct task_struct *get_pid_task(struct pid *pid, enum pid_type type);
#endif
