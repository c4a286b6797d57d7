/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: tools/include's rw_semaphore (a pthread rwlock) plus the
 * static initialisers and trylocks the kernel's header has. Not seen by the
 * lock validator (as tools/include's).
 * C header: include/linux/rwsem.h */
#ifndef _PFL_LINUX_RWSEM_H
#define _PFL_LINUX_RWSEM_H
#include_next <linux/rwsem.h>
#define __RWSEM_INITIALIZER(name) { .lock = PTHREAD_RWLOCK_INITIALIZER }
#define DECLARE_RWSEM(name) struct rw_semaphore name = __RWSEM_INITIALIZER(name)
static inline int down_read_trylock(struct rw_semaphore *sem)
{
	return pthread_rwlock_tryrdlock(&sem->lock) == 0;
}
static inline int down_write_trylock(struct rw_semaphore *sem)
{
	return pthread_rwlock_trywrlock(&sem->lock) == 0;
}
#endif
