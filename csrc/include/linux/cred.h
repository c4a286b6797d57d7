/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: credentials of a task: uid/gid and a capability set
 * (runtime/vfs.c; Python: cred.Credential). C header: include/linux/cred.h */
#ifndef _LINUX_CRED_H
#define _LINUX_CRED_H
#include <linux/types.h>
#include <linux/capability.h>
#include <linux/refcount.h>
#include <linux/uidgid.h>
struct cred {
	refcount_t usage;
	kuid_t uid, euid;
	kgid_t gid, egid;
	kernel_cap_t cap_effective;
};
const struct cred *pfl_current_cred(void);
#define current_cred() pfl_current_cred()
#define current_uid() (current_cred()->uid)
#define current_euid() (current_cred()->euid)
#endif
