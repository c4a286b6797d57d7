/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: kmalloc and slab caches on the runtime allocator
 * (runtime/slab.c): every object is accounted (total and per cache),
 * double frees are caught, allocations can be failed on purpose
 * (fail_nth), and SLAB_TYPESAFE_BY_RCU caches free through a grace period.
 * C header: include/linux/slab.h
 */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/gfp.h>
#include <linux/overflow.h>
#include <linux/compiler.h>
#include <linux/rcupdate.h>
#include <pfl/runtime.h>

#define SLAB_HWCACHE_ALIGN	0x00002000U
#define SLAB_PANIC		0x00040000U
#define SLAB_TYPESAFE_BY_RCU	0x00080000U
#define SLAB_ACCOUNT		0x04000000U
#define SLAB_RECLAIM_ACCOUNT	0x00020000U
#define SLAB_NO_MERGE		0x01000000U
#define SLAB_POISON		0x00000800U
#define SLAB_RED_ZONE		0x00000400U

#define ARCH_KMALLOC_MINALIGN 8
#define ZERO_SIZE_PTR ((void *)16)
#define ZERO_OR_NULL_PTR(x) ((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)
#define KMALLOC_MAX_SIZE (1UL << 30)

#define kmalloc(size, gfp) pfl_kmalloc((size), (gfp), _RET_IP_)
#define kzalloc(size, gfp) kmalloc((size), (gfp) | __GFP_ZERO)
#define kmalloc_node(s, g, n) kmalloc(s, g)
#define kzalloc_node(s, g, n) kzalloc(s, g)
#define kmalloc_array(n, size, gfp) ({ size_t __b; \
	check_mul_overflow((size_t)(n), (size_t)(size), &__b) ? NULL : kmalloc(__b, gfp); })
#define kcalloc(n, size, gfp) kmalloc_array(n, size, (gfp) | __GFP_ZERO)
#define kmalloc_array_node(n, s, g, node) kmalloc_array(n, s, g)
#define kcalloc_node(n, s, g, node) kcalloc(n, s, g)
#define krealloc(p, size, gfp) pfl_krealloc((p), (size), (gfp), _RET_IP_)
#define krealloc_array(p, n, size, gfp) ({ size_t __b; \
	check_mul_overflow((size_t)(n), (size_t)(size), &__b) ? NULL : krealloc(p, __b, gfp); })
#define kfree(p) pfl_kfree((p), _RET_IP_)
#define kfree_sensitive(p) kfree(p)
#define ksize(p) pfl_ksize(p)
#define kmemdup(src, len, gfp) ({ void *__d = kmalloc((len), (gfp)); \
	if (__d) memcpy(__d, (src), (len)); __d; })
#define kvmalloc(size, gfp) kmalloc(size, gfp)
#define kvzalloc(size, gfp) kzalloc(size, gfp)
#define kvmalloc_array(n, s, g) kmalloc_array(n, s, g)
#define kvcalloc(n, s, g) kcalloc(n, s, g)
#define kvfree(p) kfree(p)
#define kvfree_sensitive(p, l) kfree(p)
#define vmalloc(size) pfl_vmalloc((size), GFP_KERNEL, _RET_IP_)
#define vzalloc(size) pfl_vmalloc((size), GFP_KERNEL | __GFP_ZERO, _RET_IP_)
#define vfree(p) kfree(p)

#define kmem_cache_create(name, size, align, flags, ctor) \
	pfl_kmem_cache_create((name), (size), (align), (flags), (ctor))
#define KMEM_CACHE(__struct, __flags) \
	kmem_cache_create(#__struct, sizeof(struct __struct), __alignof__(struct __struct), (__flags), NULL)
#define kmem_cache_destroy(s) pfl_kmem_cache_destroy(s)
#define kmem_cache_alloc(s, gfp) pfl_kmem_cache_alloc((s), (gfp), _RET_IP_)
#define kmem_cache_zalloc(s, gfp) kmem_cache_alloc((s), (gfp) | __GFP_ZERO)
#define kmem_cache_alloc_node(s, g, n) kmem_cache_alloc(s, g)
#define kmem_cache_alloc_lru(s, lru, gfp) kmem_cache_alloc(s, gfp)
#define kmem_cache_free(s, p) pfl_kmem_cache_free((s), (p))

/* __free(kfree) scope cleanup, as the kernel's slab.h declares it. */
#include <linux/cleanup.h>
DEFINE_FREE(kfree, void *, if (!IS_ERR_OR_NULL(_T)) kfree(_T))
DEFINE_FREE(kvfree, void *, if (!IS_ERR_OR_NULL(_T)) kvfree(_T))

/* x86: no DMA alignment beyond the natural one (slab.h's default). */
#ifndef ARCH_DMA_MINALIGN
#define ARCH_DMA_MINALIGN __alignof__(unsigned long long)
#endif
/* Every size is allocated exactly by the runtime. */
#define kmalloc_size_roundup(size) ((size_t)(size))
#define kmalloc_track_caller(size, gfp) pfl_kmalloc((size), (gfp), _RET_IP_)
#define kmalloc_node_track_caller(size, gfp, node) kmalloc_track_caller(size, gfp)

#endif
