"""The render-driver parts over real C, end to end in C
(csrc/helpers/render_selftest.c): shmem GEM objects of the unmodified
drm_gem_shmem_helper.c over the runtime's shmem pool (vmap aliasing the
pages, mmap faulting through drm_gem_shmem_fault), and the unmodified
drm_syncobj.c/sync_file.c serving SYNCOBJ_* ioctls for a DRIVER_SYNCOBJ
device."""

from __future__ import annotations

import errno

from pyforlinux._bindings import ffi, lib

EXPECTED = {
    "SHMEM_CREATE": 0,
    "VMAP": 0,
    "PAGES_ALIAS_VMAP": 1,
    "PAGES_LIVE": 3,  # drm_gem_shmem_vmap() pinned all three pages
    "MMAP": 0,
    "MMAP_READ_SEES_VMAP": 1,
    "MMAP_WRITE_SEEN": 1,
    "MMAP_PFNMAP": 1,
    "MMAP_PAST_END": -errno.EFAULT,
    "PAGES_FREED": 1,
    "SYNCOBJ_CREATE": 0,
    "SYNCOBJ_WAIT_NO_FENCE": -errno.EINVAL,  # no fence and no WAIT_FOR_SUBMIT
    "SYNCOBJ_WAIT_TIMEOUT": -errno.ETIME,
    "SYNCOBJ_WAIT_SIGNALED": 0,
    "SYNCOBJ_EXPORT_SYNC_FILE": 1,
    "SYNC_FILE_FENCE": 1,
    "SYNCOBJ_DESTROY": 0,
    "SYNCOBJ_GONE": -errno.ENOENT,
}


def test_every_step_is_checked() -> None:
    assert len(EXPECTED) == lib.PFL_RST_NR


def test_render_parts_end_to_end_in_c() -> None:
    out = ffi.new("long[]", lib.PFL_RST_NR)
    before = lib.pfl_shmem_nr_pages()
    assert lib.pfl_render_selftest(out, lib.PFL_RST_NR) == 0
    got = {k: out[getattr(lib, f"PFL_RST_{k}")] for k in EXPECTED}
    assert got == EXPECTED
    assert lib.pfl_shmem_nr_pages() == before
