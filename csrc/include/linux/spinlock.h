/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: spinlocks for kernel C. Every acquisition goes through the lock
 * validator (runtime/lockdep.c); spin_is_locked() and lockdep_assert_held()
 * see the real owner. Interrupts do not exist here, so the _irq/_bh/_irqsave
 * forms are the plain lock (flags are set to 0).
 * C header: include/linux/spinlock.h
 */
#ifndef __LINUX_SPINLOCK_H
#define __LINUX_SPINLOCK_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/spinlock_types.h>
#include <linux/lockdep.h>
#include <linux/bottom_half.h>
#include <linux/irqflags.h>
#include <asm/barrier.h>
#include <pfl/runtime.h>

void pfl_spin_lock_init(spinlock_t *lock, const char *name, struct lock_class_key *key);
void pfl_spin_lock(spinlock_t *lock, int subclass, unsigned long ip);
int pfl_spin_trylock(spinlock_t *lock, unsigned long ip);
void pfl_spin_unlock(spinlock_t *lock, unsigned long ip);

#define spin_lock_init(lock) do {					\
	static struct lock_class_key __key;				\
	pfl_spin_lock_init((lock), #lock, &__key);			\
} while (0)
#define raw_spin_lock_init(l) spin_lock_init(l)
#define rwlock_init(l) spin_lock_init(l)

#define spin_lock(l) pfl_spin_lock((l), 0, _THIS_IP_)
#define spin_lock_nested(l, sub) pfl_spin_lock((l), (sub), _THIS_IP_)
#define spin_lock_bh(l) spin_lock(l)
#define spin_lock_irq(l) spin_lock(l)
#define spin_lock_irqsave(l, flags) do { (flags) = 0; spin_lock(l); } while (0)
#define spin_lock_irqsave_nested(l, flags, sub) do { (flags) = 0; spin_lock_nested(l, sub); } while (0)
#define spin_trylock(l) pfl_spin_trylock((l), _THIS_IP_)
#define spin_trylock_irqsave(l, flags) ({ (flags) = 0; spin_trylock(l); })
#define spin_trylock_irq(l) spin_trylock(l)
#define spin_trylock_bh(l) spin_trylock(l)
#define spin_unlock(l) pfl_spin_unlock((l), _THIS_IP_)
#define spin_unlock_bh(l) spin_unlock(l)
#define spin_unlock_irq(l) spin_unlock(l)
#define spin_unlock_irqrestore(l, flags) do { (void)(flags); spin_unlock(l); } while (0)
#define spin_is_locked(l) ((l)->dep_map.owner != NULL)
#define assert_spin_locked(l) lockdep_assert_held(l)

#define raw_spin_lock(l) spin_lock(l)
#define raw_spin_unlock(l) spin_unlock(l)
#define raw_spin_lock_irqsave(l, f) spin_lock_irqsave(l, f)
#define raw_spin_unlock_irqrestore(l, f) spin_unlock_irqrestore(l, f)
#define raw_spin_lock_irq(l) spin_lock(l)
#define raw_spin_unlock_irq(l) spin_unlock(l)

#define read_lock(l) spin_lock(l)
#define read_unlock(l) spin_unlock(l)
#define write_lock(l) spin_lock(l)
#define write_unlock(l) spin_unlock(l)
#define read_lock_irqsave(l, f) spin_lock_irqsave(l, f)
#define read_unlock_irqrestore(l, f) spin_unlock_irqrestore(l, f)
#define write_lock_irqsave(l, f) spin_lock_irqsave(l, f)
#define write_unlock_irqrestore(l, f) spin_unlock_irqrestore(l, f)

/* Scope guards, as the kernel's spinlock.h declares them (cleanup.h). */
#include <linux/cleanup.h>
DEFINE_LOCK_GUARD_1(raw_spinlock, raw_spinlock_t, raw_spin_lock(_T->lock), raw_spin_unlock(_T->lock))
DEFINE_LOCK_GUARD_1(spinlock, spinlock_t, spin_lock(_T->lock), spin_unlock(_T->lock))
DEFINE_LOCK_GUARD_1(spinlock_irq, spinlock_t, spin_lock_irq(_T->lock), spin_unlock_irq(_T->lock))
DEFINE_LOCK_GUARD_1(spinlock_irqsave, spinlock_t, spin_lock_irqsave(_T->lock, _T->flags),
		    spin_unlock_irqrestore(_T->lock, _T->flags), unsigned long flags)

#define raw_spin_trylock_irqsave(l, flags) spin_trylock_irqsave(l, flags)

#endif
