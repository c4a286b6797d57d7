/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pyforlinux: the headers the cffi extension is compiled against, like
 * rust/bindings/bindings_helper.h. The declarations Python sees are in
 * the csrc/bindings .cdef files; every function there is checked against these
 * headers at build time (scripts/build_ext.py), so they cannot drift.
 */
#undef static_assert	/* <assert.h>, again via Python.h; build_bug.h defines it */
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/klist.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <linux/delay.h>
#include <linux/seq_file.h>
#include <linux/scatterlist.h>
#include <linux/gpu_buddy.h>
#include <linux/dma-fence.h>
#include <linux/xarray.h>
#include <linux/idr.h>
#include <pfl/runtime.h>
#include <pfl/bindings.h>
#include <pfl/owner.h>
#include <pfl/scatterlist.h>
#include <uapi/drm/drm.h>
#include <uapi/drm/nova_drm.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_drv.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_vma_manager.h>
#include <drm/drm_mm.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/srcu.h>
#include <linux/ww_mutex.h>
#include <linux/uaccess.h>
#include <pfl/vfs.h>
#include <pfl/drm_core.h>
#include <pfl/sync.h>
#include <pfl/dma_fence.h>
#include <pfl/list_walk.h>
#include <pfl/gpu_buddy.h>
#include <pfl/bench.h>
#include <linux/device.h>
#include <linux/auxiliary_bus.h>
#include <pfl/device.h>
#include <pfl/workqueue.h>
#include <pfl/drm_driver.h>
#include <pfl/render_selftest.h>
#include <linux/dma-resv.h>
#include <pfl/dma_resv.h>
#include <linux/sync_file.h>
#include <uapi/linux/sync_file.h>
#include <uapi/linux/dma-buf.h>
#include <drm/drm_syncobj.h>
#include <linux/shmem_fs.h>
#include <pfl/shmem.h>
#include <drm/drm_exec.h>
#include <pfl/drm_exec.h>
