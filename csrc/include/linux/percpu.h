/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux: one "CPU" per thread, so per-CPU data is thread-local. */
#ifndef __LINUX_PERCPU_H
#define __LINUX_PERCPU_H
#include <linux/preempt.h>
#define DECLARE_PER_CPU(type, name) extern __thread type name
#define DEFINE_PER_CPU(type, name) __thread type name
#define this_cpu_ptr(ptr) (ptr)
#define raw_cpu_ptr(ptr) (ptr)
#define per_cpu_ptr(ptr, cpu) ({ (void)(cpu); (ptr); })
#define per_cpu(var, cpu) (*per_cpu_ptr(&(var), cpu))
#define get_cpu_ptr(ptr) (ptr)
#define put_cpu_ptr(ptr) do { (void)(ptr); } while (0)
#define this_cpu_read(v) (v)
#define this_cpu_write(v, x) ((v) = (x))
#define this_cpu_inc(v) ((v)++)
#define this_cpu_xchg(v, n) ({ __typeof__(v) __o = (v); (v) = (n); __o; })
#define this_cpu_cmpxchg(v, o, n) ({ __typeof__(v) __c = (v); if (__c == (o)) (v) = (n); __c; })
#define smp_processor_id() 0
#define raw_smp_processor_id() 0
#define get_cpu() 0
#define put_cpu() do { } while (0)
#define num_possible_cpus() 1
#define num_online_cpus() 1
#define for_each_possible_cpu(c) for ((c) = 0; (c) < 1; (c)++)
#define for_each_online_cpu(c) for_each_possible_cpu(c)
/* Dynamic per-CPU memory: one possible CPU, so one zeroed copy. */
#include <linux/slab.h>
#define __alloc_percpu(size, align) kzalloc((size), GFP_KERNEL)
#define __alloc_percpu_gfp(size, align, gfp) kzalloc((size), (gfp) | __GFP_ZERO)
#define alloc_percpu(type) ((type *)__alloc_percpu(sizeof(type), __alignof__(type)))
#define free_percpu(p) kfree(p)

#endif
