"""pyforlinux.dma_buf.sync_file over the real drivers/dma-buf/sync_file.c."""

from __future__ import annotations

from typing import Any

import pytest

from pyforlinux._bindings import lib
from pyforlinux.dma_buf import FenceCtx, sync_file
from pyforlinux.error import Error, code
from pyforlinux.uaccess import UserSpace


def test_export_installs_a_sync_file_holding_the_fence() -> None:
    ctx: FenceCtx[Any] = FenceCtx("sf", "t")
    f = ctx.new_fence(ctx.new_fence_allocation(None))
    other = ctx.new_fence(ctx.new_fence_allocation(None))
    space = UserSpace()
    try:
        fd = sync_file.export(f.as_fence(), space)
        fd2 = sync_file.export(f.as_fence(), space, cloexec=False)
        assert fd >= 0 and fd2 != fd
        raw = f.as_fence()._raw
        with space.use():
            assert lib.pfl_sync_file_is(fd, raw) == 1
            assert lib.pfl_sync_file_is(fd, other.as_fence()._raw) == 0
            assert lib.pfl_sync_file_is(fd + 100, raw) == -code.EINVAL  # no such fd
            assert lib.close_fd(fd) == 0
            assert lib.pfl_sync_file_is(fd, raw) == -code.EINVAL  # closed
    finally:
        f.signal()
        other.signal()
        space.close()  # closes fd2: the sync_file's fence reference goes


def test_export_refuses_wrong_arguments() -> None:
    space = UserSpace()
    try:
        with pytest.raises(Error) as e:
            sync_file.export(object(), space)  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL
    finally:
        space.close()


def test_get_fence_imports_the_fence_behind_a_sync_file_fd() -> None:
    ctx: FenceCtx[Any] = FenceCtx("sf", "import")
    f = ctx.new_fence(ctx.new_fence_allocation(None))
    space = UserSpace()
    signalled = False
    try:
        fd = sync_file.export(f.as_fence(), space)
        got = sync_file.get_fence(fd, space)
        fence = got.deref()
        assert fence.as_ptr() == f.as_fence()._raw  # the same C fence
        assert (fence.context, fence.seqno) == (f.as_fence().context, f.as_fence().seqno)
        assert (fence.driver_name, fence.timeline_name) == ("sf", "import")
        # references: the DriverFence's, the sync_file's, the imported one
        assert fence.refcount() == 3
        assert not fence.is_signaled()
        f.signal()  # the DriverFence signals and lets its reference go
        signalled = True
        assert fence.is_signaled() and fence.error == 0
        refs = fence.refcount()
        with space.use():
            assert lib.close_fd(fd) == 0  # the sync_file goes; the import stays
        assert fence.refcount() == refs - 1 and fence.is_signaled()
        got.close()
        with pytest.raises(Error) as e:
            fence.is_signaled()  # no reference left through this Fence
        assert e.value.errno == code.EINVAL
    finally:
        if not signalled:
            f.signal()
        space.close()


def test_get_fence_of_what_is_not_a_sync_file_is_einval() -> None:
    ctx: FenceCtx[Any] = FenceCtx("sf", "t")
    f = ctx.new_fence(ctx.new_fence_allocation(None))
    space, other = UserSpace(), UserSpace()
    try:
        fd = sync_file.export(f.as_fence(), space)
        for bad_fd in (fd + 1, -1, 10**6):  # not open, negative, past the table
            with pytest.raises(Error) as e:
                sync_file.get_fence(bad_fd, space)
            assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            sync_file.get_fence(fd, other)  # another client's table
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            sync_file.get_fence("3", space)  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            sync_file.get_fence(fd, object())  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL
    finally:
        f.signal()
        space.close()
        other.close()
