/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux runtime: clients' address spaces and file tables
 * (runtime/uaccess.c, runtime/vfs.c). A struct pfl_mm is one client
 * "process": user memory mapped at user addresses, and its fd table.
 */
#ifndef _PFL_VFS_H
#define _PFL_VFS_H
#include <pthread.h>
#include <stddef.h>

struct file;
struct cred;
struct pfl_mm;

#define PFL_MAX_FDS 256
struct pfl_fdtable {
	pthread_mutex_t mu;
	struct file *files[PFL_MAX_FDS];
};

/* address spaces (uaccess.c) */
struct pfl_mm *pfl_mm_create(void);
struct pfl_mm *pfl_mm_create_remote(int pid);	/* host process pid's memory */
void pfl_mm_destroy(struct pfl_mm *mm);
unsigned long pfl_mm_map(struct pfl_mm *mm, size_t size);
int pfl_mm_unmap(struct pfl_mm *mm, unsigned long uaddr);
void *pfl_mm_host(struct pfl_mm *mm, unsigned long uaddr, size_t len);
struct pfl_mm *pfl_use_mm(struct pfl_mm *mm);
struct pfl_mm *pfl_current_mm(void);
struct pfl_fdtable *pfl_mm_fdtable(struct pfl_mm *mm);

/* files (vfs.c) */
struct file *pfl_chrdev_open(unsigned int major, unsigned int minor, unsigned int flags);
long pfl_file_count(struct file *file);
void pfl_fdtable_release(struct pfl_fdtable *t);
struct file *pfl_foreign_file(void);
struct vm_area_struct;
_Bool pfl_vma_faults(struct vm_area_struct *vma);
const struct cred *pfl_set_current_cred(const struct cred *cred);
#endif
