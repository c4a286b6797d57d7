#pragma once
#include <linux/sched.h>
#define memalloc_nofs_save() 0
#define memalloc_nofs_restore(f) do { (void)(f); } while (0)
#define memalloc_noio_save() 0
#define memalloc_noio_restore(f) do { (void)(f); } while (0)
/* A system call restarted by the kernel's signal path: the caller sees
 * -ERESTARTNOINTR (there is no syscall to restart in a runtime task). */
#ifndef ERESTARTNOINTR
#define ERESTARTNOINTR 513
#endif
static inline int restart_syscall(void) { return -ERESTARTNOINTR; }
