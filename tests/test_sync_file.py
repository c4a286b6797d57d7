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
