"""pyforlinux.dma_buf.dma_resv over the real drivers/dma-buf/dma-resv.c."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyforlinux.dma_buf import FenceCtx
from pyforlinux.dma_buf.dma_resv import DmaResv, Usage
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef
from pyforlinux.time import Delta


def new_fence(ctx: FenceCtx[Any]) -> Any:
    return ctx.new_fence(ctx.new_fence_allocation(None))


def test_fences_by_usage_test_and_wait() -> None:
    ctx: FenceCtx[Any] = FenceCtx("resv", "t")
    write, read = new_fence(ctx), new_fence(FenceCtx("resv", "u"))
    with DmaResv() as resv:
        assert resv.test_signaled(Usage.BOOKKEEP)  # empty
        with resv.lock() as g:
            g.add_fence(write.as_fence(), Usage.WRITE)
            g.add_fence(read.as_fence(), Usage.READ)
        # a query covers its usage and the ones before it
        assert resv.test_signaled(Usage.KERNEL)
        assert not resv.test_signaled(Usage.WRITE)
        assert not resv.wait(Usage.WRITE, Delta.ZERO)
        write.signal()
        assert resv.test_signaled(Usage.WRITE)
        assert not resv.test_signaled(Usage.READ)
        assert resv.wait(Usage.WRITE, Delta.ZERO)
        read.signal()
        assert resv.wait(Usage.BOOKKEEP, None)


def test_the_object_holds_its_own_fence_reference() -> None:
    ctx: FenceCtx[Any] = FenceCtx("resv", "t")
    f = new_fence(ctx)
    with DmaResv() as resv:
        with ARef.new(f.as_fence()) as ref, resv.lock() as g:
            g.add_fence(ref.deref(), Usage.KERNEL)
        f.signal()  # our references are gone; the object's keeps the C fence
        assert resv.test_signaled(Usage.KERNEL)


def test_misuse_is_an_errno() -> None:
    resv = DmaResv()
    ctx: FenceCtx[Any] = FenceCtx("resv", "t")
    f = new_fence(ctx)
    try:
        g = resv.lock()
        with pytest.raises(Error) as e:
            resv.lock()  # self-deadlock refused
        assert e.value.errno == code.EDEADLK
        with pytest.raises(Error) as e:
            resv.wait(Usage.READ, Delta.ZERO)  # waiting under the lock
        assert e.value.errno == code.EBUSY
        with pytest.raises(Error) as e:
            resv.close()
        assert e.value.errno == code.EBUSY
        with pytest.raises(Error) as e:
            g.add_fence(f.as_fence(), 1)  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL
        errs: list[int] = []

        def other() -> None:
            try:
                g.add_fence(f.as_fence(), Usage.READ)
            except Error as err:
                errs.append(int(err.errno or 0))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert errs == [code.EPERM]
        g.unlock()
        with pytest.raises(Error) as e:
            g.add_fence(f.as_fence(), Usage.READ)
        assert e.value.errno == code.EINVAL
    finally:
        f.signal()
        resv.close()
    resv.close()  # idempotent
    with pytest.raises(Error) as e:
        resv.test_signaled(Usage.READ)
    assert e.value.errno == code.EINVAL


def test_lock_is_exclusive_between_threads() -> None:
    with DmaResv() as resv:
        g = resv.lock()
        order: list[str] = []

        def other() -> None:
            with resv.lock():
                order.append("other")

        t = threading.Thread(target=other)
        t.start()
        order.append("main")
        g.unlock()
        t.join()
        assert order == ["main", "other"]
