/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: sequence counters and seqlocks with the kernel's protocol
 * (odd count while a writer is inside; readers retry when the count moved),
 * on C11 atomics with full barriers. The associated-lock variants
 * (seqcount_spinlock_t, ...) check the lock is held on write, as lockdep does.
 * C header: include/linux/seqlock.h
 */
#ifndef __LINUX_SEQLOCK_H
#define __LINUX_SEQLOCK_H
#include <linux/compiler.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/preempt.h>
#include <asm/barrier.h>

typedef struct seqcount { unsigned sequence; } seqcount_t;
#define SEQCNT_ZERO(name) { .sequence = 0 }
#define seqcount_init(s) do { (s)->sequence = 0; } while (0)

static inline unsigned pfl_seq_begin(const seqcount_t *s)
{
	unsigned seq;

	while ((seq = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE)) & 1)
		__builtin_ia32_pause();
	return seq;
}
static inline int pfl_seq_retry(const seqcount_t *s, unsigned start)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&s->sequence, __ATOMIC_RELAXED) != start;
}
static inline void pfl_seq_write_begin(seqcount_t *s)
{
	__atomic_fetch_add(&s->sequence, 1, __ATOMIC_SEQ_CST);
}
static inline void pfl_seq_write_end(seqcount_t *s)
{
	__atomic_fetch_add(&s->sequence, 1, __ATOMIC_SEQ_CST);
}

#define PFL_SEQ(s) (&(s)->seqcount)
/* seqcount_LOCKNAME_t: a seqcount plus the lock that serialises writers */
#define PFL_SEQCOUNT_LOCK(lname, ltype)					\
typedef struct seqcount_##lname { seqcount_t seqcount; ltype *lock; } seqcount_##lname##_t;
PFL_SEQCOUNT_LOCK(spinlock, spinlock_t)
PFL_SEQCOUNT_LOCK(raw_spinlock, raw_spinlock_t)
PFL_SEQCOUNT_LOCK(mutex, struct mutex)
struct ww_mutex;
PFL_SEQCOUNT_LOCK(ww_mutex, struct ww_mutex)
#define seqcount_spinlock_init(s, l) do { seqcount_init(&(s)->seqcount); (s)->lock = (l); } while (0)
#define seqcount_raw_spinlock_init(s, l) seqcount_spinlock_init(s, l)
#define seqcount_mutex_init(s, l) seqcount_spinlock_init(s, l)
#define seqcount_ww_mutex_init(s, l) seqcount_spinlock_init(s, l)

#define pfl_seqcount_ptr(s) _Generic(*(s),				\
	seqcount_t: (seqcount_t *)(s),					\
	default: (seqcount_t *)&((struct seqcount_spinlock *)(s))->seqcount)

#define read_seqcount_begin(s) pfl_seq_begin(pfl_seqcount_ptr(s))
#define raw_read_seqcount_begin(s) read_seqcount_begin(s)
#define raw_read_seqcount(s) __atomic_load_n(&pfl_seqcount_ptr(s)->sequence, __ATOMIC_ACQUIRE)
#define __read_seqcount_begin(s) read_seqcount_begin(s)
#define read_seqcount_retry(s, start) pfl_seq_retry(pfl_seqcount_ptr(s), (start))
#define __read_seqcount_retry(s, start) read_seqcount_retry(s, start)
#define raw_write_seqcount_begin(s) pfl_seq_write_begin(pfl_seqcount_ptr(s))
#define raw_write_seqcount_end(s) pfl_seq_write_end(pfl_seqcount_ptr(s))
#define write_seqcount_begin(s) raw_write_seqcount_begin(s)
#define write_seqcount_end(s) raw_write_seqcount_end(s)
#define write_seqcount_invalidate(s) do { pfl_seq_write_begin(pfl_seqcount_ptr(s)); pfl_seq_write_end(pfl_seqcount_ptr(s)); } while (0)

typedef struct {
	seqcount_spinlock_t seqcount;
	spinlock_t lock;
} seqlock_t;
#define seqlock_init(sl) do { spin_lock_init(&(sl)->lock); seqcount_spinlock_init(&(sl)->seqcount, &(sl)->lock); } while (0)
#define DEFINE_SEQLOCK(sl) seqlock_t sl = { .seqcount = { SEQCNT_ZERO(sl), &sl.lock }, .lock = __SPIN_LOCK_UNLOCKED(sl) }
#define read_seqbegin(sl) read_seqcount_begin(&(sl)->seqcount)
#define read_seqretry(sl, start) read_seqcount_retry(&(sl)->seqcount, (start))
#define write_seqlock(sl) do { spin_lock(&(sl)->lock); write_seqcount_begin(&(sl)->seqcount); } while (0)
#define write_sequnlock(sl) do { write_seqcount_end(&(sl)->seqcount); spin_unlock(&(sl)->lock); } while (0)
#define write_seqlock_irq(sl) write_seqlock(sl)
#define write_sequnlock_irq(sl) write_sequnlock(sl)
#define write_seqlock_irqsave(sl, f) do { (f) = 0; write_seqlock(sl); } while (0)
#define write_sequnlock_irqrestore(sl, f) do { (void)(f); write_sequnlock(sl); } while (0)
#define read_seqlock_excl(sl) spin_lock(&(sl)->lock)
#define read_sequnlock_excl(sl) spin_unlock(&(sl)->lock)
#endif
