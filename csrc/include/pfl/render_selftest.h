/* SPDX-License-Identifier: GPL-2.0 */
/* pyforlinux helpers: shmem GEM, syncobj and sync_file end to end in C
 * over the compiled kernel code (helpers/render_selftest.c). */
#ifndef _PFL_RENDER_SELFTEST_H
#define _PFL_RENDER_SELFTEST_H
enum pfl_render_selftest_step {
	PFL_RST_SHMEM_CREATE,		/* drm_gem_shmem_create(): 0 */
	PFL_RST_VMAP,			/* drm_gem_shmem_vmap(): 0 */
	PFL_RST_PAGES_ALIAS_VMAP,	/* a write through vaddr is in pages[1]: 1 */
	PFL_RST_PAGES_LIVE,		/* pool pages in use while mapped: 3 */
	PFL_RST_MMAP,			/* mmap of the handle's offset (drm_gem_shmem_mmap): 0 */
	PFL_RST_MMAP_READ_SEES_VMAP,	/* user read through the fault handler: 1 */
	PFL_RST_MMAP_WRITE_SEEN,	/* user write visible through vaddr: 1 */
	PFL_RST_MMAP_PFNMAP,		/* VM_PFNMAP | VM_DONTEXPAND set by the helper: 1 */
	PFL_RST_MMAP_PAST_END,		/* access past the mapping: -EFAULT */
	PFL_RST_PAGES_FREED,		/* all pool pages back after the last put: 1 */
	PFL_RST_SYNCOBJ_CREATE,		/* SYNCOBJ_CREATE ioctl: 0 */
	PFL_RST_SYNCOBJ_WAIT_NO_FENCE,	/* WAIT with no fence, no WAIT_FOR_SUBMIT: -EINVAL */
	PFL_RST_SYNCOBJ_WAIT_TIMEOUT,	/* WAIT on an unsignalled fence: -ETIME */
	PFL_RST_SYNCOBJ_WAIT_SIGNALED,	/* WAIT after dma_fence_signal(): 0 */
	PFL_RST_SYNCOBJ_EXPORT_SYNC_FILE, /* HANDLE_TO_FD(EXPORT_SYNC_FILE): an fd >= 0 -> 1 */
	PFL_RST_SYNC_FILE_FENCE,	/* sync_file_get_fence(fd) is the fence: 1 */
	PFL_RST_SYNCOBJ_DESTROY,	/* SYNCOBJ_DESTROY: 0 */
	PFL_RST_SYNCOBJ_GONE,		/* WAIT on the destroyed handle: -ENOENT */
	PFL_RST_NR,
};
int pfl_render_selftest(long *out, int n);
#endif
