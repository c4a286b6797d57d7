"""gem.shmem.Object: shmem-backed GEM objects over the real
drm_gem_shmem_helper.c -- vmap, sg table, mmap through drm_gem_shmem_mmap()
and its fault handler, handles, the free path and the page pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux._bindings import lib
from pyforlinux.drm import gem
from pyforlinux.drm.client import Client, pack_struct, unpack_struct
from pyforlinux.drm.file import OpenFile, open_node
from pyforlinux.drm.gem import shmem
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef
from tests.shmem_driver import FREED, PAGE, Bo, ShmemDrm, errno_of, shmem_node


@pytest.fixture
def node() -> Iterator[str]:
    with shmem_node() as n:
        yield n



def new(c: Client, size: int) -> ARef[shmem.Object[Any]]:
    return shmem.Object.new(c.file.dev, size)


def test_driver_declares_shmem_objects(node: str) -> None:
    with Client(node) as c:
        assert gem.alloc_impl(ShmemDrm) is shmem.Object
        assert gem.driver_object_type(ShmemDrm) is Bo
        with new(c, 2 * PAGE) as ref:
            obj = ref.deref()
            assert isinstance(obj, shmem.Object) and isinstance(obj.inner, Bo)
            assert obj.size() == 2 * PAGE and obj.refcount() == 1
            assert obj.mmap_offset  # drm_gem_shmem_create() made it
            assert not obj.map_wc
        assert FREED == [2 * PAGE]  # the last put ran the driver's free
        assert errno_of(gem.Object.new, c.file.dev, PAGE) == code.EINVAL  # not shmem
        assert errno_of(shmem.Object.new, c.file.dev, PAGE + 1) == code.EINVAL
        assert errno_of(shmem.Object.new, c.file.dev, 0) == code.EINVAL
        assert errno_of(shmem.Object.new, c.file.dev, 13 * PAGE) == code.ENOSPC
        with shmem.Object.new(c.file.dev, PAGE, shmem.ObjectConfig(map_wc=True)) as ref:
            assert ref.deref().map_wc


def test_vmap_reads_and_writes_the_pages(node: str) -> None:
    with Client(node) as c, new(c, 3 * PAGE) as ref:
        obj = ref.deref()
        before = int(lib.pfl_shmem_nr_pages())
        with obj.vmap() as v:
            assert len(v) == 3 * PAGE and v.owner() is obj
            assert obj.vmap_use_count == 1 and obj.refcount() == 2  # the VMap's ref
            assert int(lib.pfl_shmem_nr_pages()) == before + 3  # allocated on vmap
            assert v.read(PAGE - 2, 4) == b"\0" * 4  # new shmem pages are zeroes
            v.write(PAGE - 2, b"span")  # across a page boundary
            with obj.vmap() as v2:  # a second vmap is the same mapping, counted
                assert obj.vmap_use_count == 2
                assert v2.read(PAGE - 2, 4) == b"span"
            assert errno_of(v.read, 3 * PAGE - 1, 2) == code.EINVAL
            assert errno_of(v.write, -1, b"x") == code.EINVAL
            assert errno_of(v.read, "0", 1) == code.EINVAL
        assert obj.vmap_use_count == 0 and obj.refcount() == 1
        assert errno_of(v.read, 0, 1) == code.EINVAL  # after close
        v.close()  # idempotent
        with obj.vmap() as v:  # the pages stayed in the object's shmem file
            assert v.read(PAGE - 2, 4) == b"span"


def test_a_vmap_keeps_its_object(node: str) -> None:
    with Client(node) as c:
        ref = new(c, PAGE)
        v = ref.deref().vmap()
        ref.close()
        v.write(0, b"alive")
        assert v.read(0, 5) == b"alive" and FREED == []
        v.close()
        assert FREED == [PAGE]


def test_sg_table_pins_the_pages(node: str) -> None:
    with Client(node) as c, new(c, 2 * PAGE) as ref:
        obj = ref.deref()
        sgt = obj.sg_table()
        entries = list(sgt)
        # the pages of the pool (the runtime's direct map): one or two entries
        assert sum(e.dma_len() for e in entries) == 2 * PAGE
        assert obj.pages_use_count == 1
        assert obj.sg_table().as_raw() == sgt.as_raw()  # made once, kept by the object
        with obj.vmap() as v:
            v.write(0, b"via vmap")
        assert obj.pages_use_count == 1


def test_handles_and_lookup(node: str) -> None:
    with Client(node) as c:
        with new(c, PAGE) as ref:
            h = ref.deref().create_handle(c.file)
        with shmem.Object.lookup_handle(c.file, h) as ref:
            assert ref.deref().handle_count == 1
        assert errno_of(shmem.Object.lookup_handle, c.file, h + 1) == code.ENOENT
        gem.handle_delete(c.file, h)
        assert FREED == [PAGE]


def test_mmap_faults_through_the_shmem_helper(node: str) -> None:
    with Client(node) as c, Client(node) as other:
        with new(c, 2 * PAGE) as ref:
            obj = ref.deref()
            h = obj.create_handle(c.file)
            off = obj.mmap_offset
            assert off is not None
            with obj.vmap() as v:
                v.write(PAGE + 8, b"from the kernel")
                with c.mmap(off, 2 * PAGE) as m:
                    assert m.read(PAGE + 8, 15) == b"from the kernel"
                    m.write(PAGE - 3, b"user!!")  # two pages, two faults
                    assert v.read(PAGE - 3, 6) == b"user!!"
                    assert errno_of(m.read, 2 * PAGE - 1, 2) == code.EFAULT
                assert errno_of(m.read, 0, 1) == code.EFAULT  # unmapped
            assert errno_of(c.mmap, off, 3 * PAGE) == code.EINVAL  # past the object
            assert errno_of(other.mmap, off, PAGE) == code.EACCES  # no handle there
        m = c.mmap(off, PAGE)
        gem.handle_delete(c.file, h)
        assert m.read(0, 1) == b"\0" and FREED == []  # the mapping holds the object
        m.close()
        assert FREED == [2 * PAGE]


def test_read_only_mapping_refuses_writes(node: str) -> None:
    with Client(node) as c, new(c, PAGE) as ref:
        obj = ref.deref()
        obj.create_handle(c.file)
        off = obj.mmap_offset
        assert off is not None
        with c.acting():
            m = c.fd.mmap(off, PAGE, writable=False)
        with m:
            assert errno_of(m.write, 0, b"x") == code.EFAULT
            assert m.read(0, 1) == b"\0"


def test_vmap_and_close_race_without_crashing(node: str) -> None:
    with Client(node) as c, new(c, PAGE) as ref:
        v = ref.deref().vmap()
        errs: list[int] = []

        def reader() -> None:
            for _ in range(2000):
                try:
                    v.read(0, 64)
                except Error as e:
                    errs.append(int(e.errno or 0))
                    return

        t = threading.Thread(target=reader)
        t.start()
        v.close()
        t.join()
        assert set(errs) <= {code.EINVAL}
        assert ref.deref().vmap_use_count == 0


H2FD = (lib.DRM_IOCTL_PRIME_HANDLE_TO_FD, "struct drm_prime_handle")
FD2H = (lib.DRM_IOCTL_PRIME_FD_TO_HANDLE, "struct drm_prime_handle")
O_RDWR, O_CLOEXEC = 0o2, 0o2000000


def ioctl_on(c: Client, f: OpenFile, cmd: int, ctype: str, **fields: int) -> Any:
    """``ioctl`` on another open file of the client's process (its memory)."""
    arg = pack_struct(ctype, **fields)
    addr = c.mm.alloc(len(arg))
    try:
        c.mm.write(addr, arg)
        with c.acting():
            ret = f.ioctl(cmd, addr)
        if ret < 0:
            raise Error(-ret)
        return unpack_struct(ctype, c.mm.read(addr, len(arg)))
    finally:
        c.mm.free(addr)


def test_prime_between_two_files_of_a_process_and_dma_buf_mmap(node: str) -> None:
    """Export a shmem object of one file to a dma-buf fd (the core's
    PRIME_HANDLE_TO_FD: drm_gem_prime_handle_to_fd), import it in another
    file of the same process (the same object, a handle there) and map the
    dma-buf (dma_buf_mmap -> drm_gem_prime_mmap -> drm_gem_shmem_mmap)."""
    with Client(node) as c:
        with c.acting():
            other = open_node(node)
        with new(c, 2 * PAGE) as ref:
            obj = ref.deref()
            h = obj.create_handle(c.file)
        fd = c.call(*H2FD, handle=h, flags=O_RDWR | O_CLOEXEC).fd
        h2 = ioctl_on(c, other, *FD2H, fd=fd).handle
        with shmem.Object.lookup_handle(other.file, h2) as ref2:
            assert ref2.deref() is obj and obj.handle_count == 2
        with c.acting():
            buf = gem.Mapping.of_fd(fd, 0, 2 * PAGE)
            assert errno_of(gem.Mapping.of_fd, fd, 0, 3 * PAGE) == code.EINVAL
            assert errno_of(gem.Mapping.of_fd, 99, 0, PAGE) == code.EBADF
        with buf, obj.vmap() as v:
            assert buf.obj is obj
            buf.write(PAGE - 1, b"shared")  # faults through the shmem helper
            assert v.read(PAGE - 1, 6) == b"shared"
            off = obj.mmap_offset
            assert off is not None
            with c.acting(), other.mmap(off, 2 * PAGE) as m2:  # the importer's mmap
                assert m2.read(PAGE - 1, 6) == b"shared"
        # the exporting file closes; the importer's handle and the fd keep it
        gem.handle_delete(c.file, h)
        with c.acting():
            assert lib.close_fd(fd) == 0
        assert FREED == []
        ioctl_on(c, other, lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h2)
        assert FREED == [2 * PAGE]
        with c.acting():
            other.close()
