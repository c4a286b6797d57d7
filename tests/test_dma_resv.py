"""pyforlinux.dma_buf.dma_resv over the real drivers/dma-buf/dma-resv.c."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyforlinux.dma_buf import FenceCtx
from pyforlinux.dma_buf.dma_resv import DmaResv, Usage, WwAcquireCtx
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


def test_ww_acquire_ctx_backs_off_on_edeadlk_and_retries() -> None:
    """Wait-die with the real ww_mutex: the younger context that already
    holds a lock dies with EDEADLK, drops its locks, sleeps in lock_slow()
    for the contended one and then takes the rest."""
    a, b = DmaResv(), DmaResv()
    older_has_a, younger_has_b, older_done = (threading.Event() for _ in range(3))
    log: list[str] = []

    def older() -> None:
        with WwAcquireCtx() as ctx:
            ga = a.lock(ctx=ctx)
            older_has_a.set()
            younger_has_b.wait()
            gb = b.lock(ctx=ctx)  # the older one waits for the younger's back-off
            log.append("older: a, b")
            ctx.done()
            gb.unlock()
            ga.unlock()
        older_done.set()

    def younger() -> None:
        older_has_a.wait()
        with WwAcquireCtx() as ctx:
            gb = b.lock(ctx=ctx)
            younger_has_b.set()
            with pytest.raises(Error) as e:
                a.lock(ctx=ctx)  # held by an older context: die
            assert e.value.errno == code.EDEADLK
            log.append("younger: EDEADLK")
            with pytest.raises(Error) as e:
                a.lock_slow(ctx)  # still holding b: the back-off is not done
            assert e.value.errno == code.EINVAL
            gb.unlock()
            ga = a.lock_slow(ctx)  # sleeps until the older one is through
            gb = b.lock(ctx=ctx)
            log.append("younger: a, b")
            assert ctx.acquired == 2
            gb.unlock()
            ga.unlock()

    t1 = threading.Thread(target=older)
    t1.start()
    older_has_a.wait()  # the older context's stamp is taken first
    t2 = threading.Thread(target=younger)
    t2.start()
    t1.join()
    t2.join()
    assert log == ["younger: EDEADLK", "older: a, b", "younger: a, b"]
    a.close()
    b.close()


def test_ww_acquire_ctx_misuse_is_an_errno() -> None:
    a, b = DmaResv(), DmaResv()
    ctx = WwAcquireCtx()
    ga = a.lock(ctx=ctx)
    with pytest.raises(Error) as e:
        a.lock(ctx=ctx)  # the context holds it already (the kernel's -EALREADY)
    assert e.value.errno == code.EALREADY
    with pytest.raises(Error) as e:
        ctx.fini()  # still holding a lock
    assert e.value.errno == code.EBUSY
    errs: list[int] = []

    def other() -> None:
        try:
            b.lock(ctx=ctx)
        except Error as err:
            errs.append(int(err.errno or 0))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errs == [code.EPERM]  # a context belongs to its thread
    ctx.done()
    with pytest.raises(Error) as e:
        b.lock(ctx=ctx)  # no locks after done()
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        ctx.done()
    assert e.value.errno == code.EINVAL
    ga.unlock()
    assert ctx.acquired == 0
    ctx.fini()
    ctx.fini()  # idempotent
    with pytest.raises(Error) as e:
        a.lock(ctx=ctx)
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        a.lock(ctx="ctx")  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL
    with WwAcquireCtx() as ctx2:
        a.lock(ctx=ctx2)  # left held: the end of the block drops it
    a.lock().unlock()  # free again (EDEADLK if this thread still held it)
    a.close()
    b.close()
