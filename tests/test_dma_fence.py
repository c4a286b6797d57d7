"""pyforlinux.dma_buf.dma_fence over the real drivers/dma-buf/dma-fence.c.

The series' v2 design: FenceCtx/FenceCtxOps, the fallible allocation and
the infallible creation, DriverFence (signal consumes it, drop unsignalled
WARNs and cancels, data dropped through call_rcu), Fence (shared, only
callbacks), FenceCbRegistration (removed on drop, CallbackError), the lock
rules of callbacks, waits, the signalling annotations in the lock
validator, threads, ForeignOwnable, and the docs sample.
"""

from __future__ import annotations

import copy
import pickle
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL
from pyforlinux.dma_buf import (
    CallbackError,
    DriverFence,
    DriverFenceAllocation,
    Fence,
    FenceCbRegistration,
    FenceCtx,
    FenceCtxOps,
    begin_signalling,
    in_fence_callback,
)
from pyforlinux.error import Error, code
from pyforlinux.sync import rcu
from pyforlinux.sync.aref import ARef
from pyforlinux.time import Delta

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rust-to-python.md"


@pytest.fixture
def ctx() -> FenceCtx[Any]:
    return FenceCtx("pfl_test", "ring0")


def new(ctx: FenceCtx[Any], data: Any = None) -> DriverFence[Any]:
    return ctx.new_fence(ctx.new_fence_allocation(data))


class Record:
    """A FenceCb that records the fence's error when called."""

    def __init__(self, fence: Fence, log: list[Any], tag: Any = None) -> None:
        self.fence, self.log, self.tag = fence, log, tag
        self.closed = 0

    def called(self) -> None:
        self.log.append((self.tag, self.fence.error) if self.tag is not None else self.fence.error)

    def close(self) -> None:
        self.closed += 1


class Call:
    """A FenceCb that runs a function."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def called(self) -> None:
        self.fn()


class Closeable:
    """Driver data that records its drop and the thread it ran on."""

    def __init__(self) -> None:
        self.closed = 0
        self.thread = ""

    def close(self) -> None:
        self.closed += 1
        self.thread = threading.current_thread().name


def errno_of(fn: Any) -> int:
    with pytest.raises(Error) as e:
        fn()
    return e.value.errno


# ---------------------------------------------------------------- the series' example


def test_series_example_signal_runs_the_registered_callback() -> None:
    # rust/kernel/dma_buf/dma_fence.rs (v2), the DriverFence doc example.
    class FenceCtxData(FenceCtxOps[str]):
        FenceDataType = str

    fctx: FenceCtx[str] = FenceCtx.new("dummy_driver", "dummy_timeline", FenceCtxData())
    fence_alloc = fctx.new_fence_allocation("dummy_data")
    fence = fctx.new_fence(fence_alloc)
    assert fence.data == "dummy_data"
    log: list[int] = []
    with ARef.new(fence.as_fence()) as waiting_fence:
        with FenceCbRegistration.new(waiting_fence.deref(), Record(waiting_fence.deref(), log)):
            assert not waiting_fence.deref().is_signaled()
            fence.signal(None)  # Ok(())
            assert waiting_fence.deref().is_signaled()
    assert log == [0]


# ---------------------------------------------------------------- context


def test_context_numbers_seqnos_and_names() -> None:
    a: FenceCtx[int] = FenceCtx("drv", "a")
    b: FenceCtx[Any] = FenceCtx("drv", "b", initial_seqno=100)
    assert a.context != b.context
    fa = [new(a, i) for i in range(3)]
    fb = new(b)
    try:
        assert [f.as_fence().seqno for f in fa] == [0, 1, 2]
        assert {f.as_fence().context for f in fa} == {a.context}
        assert fb.as_fence().seqno == 100 and fb.as_fence().context == b.context
        assert [f.data for f in fa] == [0, 1, 2]
        assert fb.as_fence().driver_name == "drv" and fb.as_fence().timeline_name == "b"
        assert fa[1].as_fence().describe() == "drv a seq 1 unsignalled\n"
    finally:
        for f in [*fa, fb]:
            f.signal()


def test_seqno_wraps_at_u64() -> None:
    c: FenceCtx[Any] = FenceCtx("drv", "wrap", initial_seqno=(1 << 64) - 1)
    f1, f2 = new(c), new(c)
    assert (f1.as_fence().seqno, f2.as_fence().seqno) == ((1 << 64) - 1, 0)
    f1.signal()
    f2.signal()


@pytest.mark.parametrize(
    "args",
    [("", "x" * 64), ("a\0b", "t"), (1, "t"), ("d", "t", None, -1), ("d", "t", None, 1 << 64),
     ("d", "t", object())],
)
def test_bad_context_arguments_are_einval(args: tuple[Any, ...]) -> None:
    assert errno_of(lambda: FenceCtx(*args)) == code.EINVAL


def test_longest_names_fit() -> None:
    c: FenceCtx[Any] = FenceCtx("d" * 63, "é" * 31)  # 62 UTF-8 bytes
    f = new(c)
    assert f.as_fence().describe().startswith("d" * 63 + " " + "é" * 31 + " seq 0")
    f.signal()


def test_fence_data_type_comes_from_the_ctx_ops() -> None:
    class Job:
        pass

    class Ring(FenceCtxOps[Job]):
        FenceDataType = Job

    ring = Ring()
    c = FenceCtx("drv", "ring", ring)
    assert c.data is ring
    assert errno_of(lambda: c.new_fence_allocation("not a job")) == code.EINVAL  # type: ignore[arg-type]
    f = new(c, Job())
    f.signal()


# ---------------------------------------------------------------- allocation and creation


def test_creation_from_an_allocation_allocates_nothing(ctx: FenceCtx[Any]) -> None:
    allocation = ctx.new_fence_allocation("job")  # the only allocations
    lib.pfl_fail_probability_set(1000000)  # every allocation from now on fails
    try:
        before = lib.pfl_task_alloc_count()
        fence = ctx.new_fence(allocation)  # dma_fence_init
        fence.as_fence().describe()
        created = lib.pfl_task_alloc_count() - before
        assert errno_of(lambda: ctx.new_fence_allocation(None)) == code.ENOMEM  # really active
    finally:
        lib.pfl_fail_probability_set(0)
    assert created == 0
    assert fence.data == "job"
    # A callback registered before the injection runs without allocating too.
    log: list[int] = []
    with ARef.new(fence.as_fence()) as f:
        reg = FenceCbRegistration.new(f.deref(), Record(f.deref(), log))
        lib.pfl_fail_probability_set(1000000)
        try:
            before = lib.pfl_task_alloc_count()
            fence.signal(-code.EIO)
            assert lib.pfl_task_alloc_count() == before
        finally:
            lib.pfl_fail_probability_set(0)
        reg.close()
        assert f.deref().error == -code.EIO
    assert log == [-code.EIO]


@pytest.mark.parametrize("nth", [1, 2])  # the C fence, then the data's RcuBox
def test_allocation_failures_are_enomem_and_leak_nothing(ctx: FenceCtx[Any], nth: int) -> None:
    data = Closeable()
    lib.pfl_fail_nth_set(nth)
    assert errno_of(lambda: ctx.new_fence_allocation(data)) == code.ENOMEM
    lib.pfl_fail_nth_set(0)
    assert data.closed == 0  # the caller keeps its data


def test_allocation_is_consumed_once(ctx: FenceCtx[Any]) -> None:
    data = Closeable()
    with ctx.new_fence_allocation(data) as a:
        assert not a.closed
    assert a.closed
    rcu.rcu_barrier()
    assert data.closed == 1 and data.thread == "pfl-rcu-cb"  # dropped through call_rcu
    assert errno_of(lambda: ctx.new_fence(a)) == code.EINVAL
    a.close()  # idempotent
    b = ctx.new_fence_allocation(None)
    f = ctx.new_fence(b)
    assert errno_of(lambda: ctx.new_fence(b)) == code.EINVAL
    b.close()  # no-op: the fence owns the memory now
    assert f.as_fence().seqno == 0  # the freed allocation consumed no seqno
    f.signal()


def test_an_allocation_of_another_context_is_refused(ctx: FenceCtx[Any]) -> None:
    other: FenceCtx[Any] = FenceCtx("pfl_test", "ring1")
    with other.new_fence_allocation(None) as a:
        assert errno_of(lambda: ctx.new_fence(a)) == code.EINVAL
        assert not a.closed  # nothing consumed
    assert errno_of(lambda: ctx.new_fence("x")) == code.EINVAL  # type: ignore[arg-type]


def test_seqno_is_taken_at_creation(ctx: FenceCtx[Any]) -> None:
    early = ctx.new_fence_allocation(None)
    mid = new(ctx)
    late = ctx.new_fence(early)
    assert (mid.as_fence().seqno, late.as_fence().seqno) == (0, 1)
    mid.signal()
    late.signal()


def test_bad_flags_are_einval(ctx: FenceCtx[Any]) -> None:
    bad: Any = lib.GFP_KERNEL
    assert errno_of(lambda: ctx.new_fence_allocation(None, bad)) == code.EINVAL
    f = new(ctx)
    assert errno_of(lambda: FenceCbRegistration.new(f.as_fence(), Call(print), bad)) == code.EINVAL
    f.signal()


def test_constructors_are_not_public() -> None:
    for cls in (DriverFence, DriverFenceAllocation, Fence, FenceCbRegistration):
        with pytest.raises(TypeError):
            cls()


# ---------------------------------------------------------------- signalling


@pytest.mark.parametrize(
    "result,error",
    [(None, 0), (0, 0), (-code.EIO, -code.EIO), (Error(code.ETIMEDOUT), -code.ETIMEDOUT)],
)
def test_signal_with_a_result(ctx: FenceCtx[Any], result: Any, error: int) -> None:
    log: list[int] = []
    f = new(ctx)
    with ARef.new(f.as_fence()) as r, FenceCbRegistration.new(r.deref(), Record(r.deref(), log)):
        f.signal(result)
        assert r.deref().is_signaled()
        assert r.deref().error == error
        assert r.deref().get_status() == (error or 1)
    assert log == [error]  # the error is set before the callbacks run


@pytest.mark.parametrize("bad", [5, -4096, 1.5, True, "EIO", Error])
def test_a_non_errno_result_is_einval_and_consumes_nothing(ctx: FenceCtx[Any], bad: Any) -> None:
    f = new(ctx)
    assert errno_of(lambda: f.signal(bad)) == code.EINVAL
    assert not f.closed and not f.as_fence().is_signaled()
    f.signal()


def test_signal_consumes_the_driver_fence(ctx: FenceCtx[Any]) -> None:
    f = new(ctx, "data")
    fence = ARef.new(f.as_fence())
    f.signal()
    assert f.closed
    for use in (f.signal, lambda: f.data, f.as_fence, f.into_foreign):
        assert errno_of(use) == code.EINVAL
    f.close()  # no-op once consumed
    assert fence.deref().is_signaled()  # the Fence lives on
    fence.close()


def test_the_fence_cannot_signal(ctx: FenceCtx[Any]) -> None:
    assert not hasattr(Fence, "signal")
    f = new(ctx)
    f.signal()


def test_timestamp_is_set_by_signalling(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    with ARef.new(f.as_fence()) as r:
        assert errno_of(r.deref().timestamp_ns) == code.EBUSY
        f.signal()
        assert r.deref().timestamp_ns() > 0


@pytest.mark.kernel_warns
def test_drop_unsignalled_warns_and_cancels(ctx: FenceCtx[Any], kernel_clean: Any) -> None:
    data = Closeable()
    log: list[int] = []
    f = new(ctx, data)
    fence = ARef.new(f.as_fence())
    reg = FenceCbRegistration.new(fence.deref(), Record(fence.deref(), log))
    with f:
        pass  # dropped unsignalled: a driver bug
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    buf = ffi.new("char[512]")
    lib.pfl_last_warning(buf, 512)
    assert "dma_fence.c" in ffi.string(buf).decode()
    assert log == [-code.ECANCELED] and fence.deref().error == -code.ECANCELED
    assert f.closed
    rcu.rcu_barrier()
    assert data.closed == 1 and data.thread == "pfl-rcu-cb"
    reg.close()
    fence.close()


def test_driver_data_is_dropped_through_call_rcu_then_the_reference(ctx: FenceCtx[Any]) -> None:
    data = Closeable()
    f = new(ctx, data)
    fence = ARef.new(f.as_fence())
    assert fence.deref().refcount() == 2  # the DriverFence's and ours, one C refcount
    with rcu.read_lock():
        f.signal()
        # A reader that found the data before the drop may still use it.
        assert data.closed == 0
        assert fence.deref().refcount() == 2
    rcu.rcu_barrier()
    assert data.closed == 1 and data.thread == "pfl-rcu-cb"
    assert fence.deref().refcount() == 1  # the DriverFence's reference went after its data
    fence.close()
    assert errno_of(fence.deref) == code.EINVAL


def test_a_fence_outlives_its_driver_fence_and_context() -> None:
    c: FenceCtx[Any] = FenceCtx("drv", "gone")
    f = new(c)
    fence = ARef.new(f.as_fence())
    view = fence.deref()
    f.signal(-code.EIO)
    del c, f
    rcu.rcu_barrier()
    assert view.describe() == "drv gone seq 0 signalled\n"
    assert view.error == -code.EIO and view.wait(Delta.ZERO)
    fence.close()
    for use in (view.is_signaled, view.describe, view.get_status, view.as_ptr, view.inc_ref):
        assert errno_of(use) == code.EINVAL


def test_owners_cannot_be_copied_or_pickled(ctx: FenceCtx[Any]) -> None:
    a = ctx.new_fence_allocation(None)
    f = new(ctx)
    reg = FenceCbRegistration.new(f.as_fence(), Call(lambda: None))
    for owner in (a, f, reg):
        for op in (copy.copy, copy.deepcopy, pickle.dumps):
            assert errno_of(lambda: op(owner)) == code.EINVAL  # noqa: B023
    reg.close()
    f.signal()
    a.close()


# ---------------------------------------------------------------- callbacks


def test_registrations_run_once_in_order_and_give_back_their_fence(ctx: FenceCtx[Any]) -> None:
    log: list[Any] = []
    f = new(ctx)
    fence = f.as_fence()
    regs = [FenceCbRegistration.new(fence, Record(fence, log, i)) for i in range(3)]
    assert all(r.fence() is fence for r in regs)
    assert regs[1].callback.tag == 1
    f.signal()
    assert log == [(0, 0), (1, 0), (2, 0)]
    for r in regs:
        cb = r.callback
        r.close()
        assert cb.closed == 1  # the callback is dropped with its registration
        r.close()  # idempotent
        assert errno_of(r.fence) == code.EINVAL
        assert errno_of(lambda: r.callback) == code.EINVAL  # noqa: B023


def test_dropping_a_registration_removes_the_callback(ctx: FenceCtx[Any]) -> None:
    log: list[Any] = []
    f = new(ctx)
    keep = FenceCbRegistration.new(f.as_fence(), Record(f.as_fence(), log, "kept"))
    with FenceCbRegistration.new(f.as_fence(), Record(f.as_fence(), log, "dropped")):
        pass
    f.signal()
    assert log == [("kept", 0)]
    keep.close()


def test_dropping_a_registration_waits_for_its_running_callback(ctx: FenceCtx[Any]) -> None:
    # Rust: the drop always calls dma_fence_remove_callback, whose lock round
    # trip orders the free after a callback running on another CPU.
    f = new(ctx)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(30)
        order.append("callback returned")

    reg = FenceCbRegistration.new(f.as_fence(), Call(slow))
    signaller = threading.Thread(target=f.signal)
    signaller.start()
    assert started.wait(30)

    def drop() -> None:
        reg.close()
        order.append("registration dropped")

    closer = threading.Thread(target=drop)
    closer.start()
    lib.msleep(20)  # gives a close that did not wait the time to finish first
    release.set()
    for t in (signaller, closer):
        t.join(30)
        assert not t.is_alive()
    assert order == ["callback returned", "registration dropped"]


def test_registering_on_a_signalled_fence_gives_the_callback_back(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    with ARef.new(f.as_fence()) as r:
        f.signal()
        cb = Call(lambda: None)
        with pytest.raises(CallbackError) as e:
            FenceCbRegistration.new(r.deref(), cb)
        assert e.value.errno == code.ENOENT and e.value.data is cb
        assert r.deref().refcount() == 2  # the failed registration kept no reference


def test_registration_allocation_failure_is_enomem_with_the_callback(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    cb = Call(lambda: None)
    lib.pfl_fail_nth_set(1)
    with pytest.raises(CallbackError) as e:
        FenceCbRegistration.new(f.as_fence(), cb)
    lib.pfl_fail_nth_set(0)
    assert e.value.errno == code.ENOMEM and e.value.data is cb
    f.signal()


def test_a_callback_needs_called(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    bad: Any = lambda: None  # noqa: E731 - a plain function is not a FenceCb
    assert errno_of(lambda: FenceCbRegistration.new(f.as_fence(), bad)) == code.EINVAL
    assert errno_of(lambda: FenceCbRegistration.new("fence", Call(print))) == code.EINVAL  # type: ignore[arg-type]
    f.signal()


def test_callbacks_run_with_the_fence_lock_held(ctx: FenceCtx[Any]) -> None:
    seen: list[Any] = []
    f = new(ctx)
    fence = f.as_fence()

    def inside() -> None:
        seen.append(in_fence_callback())
        seen.append(lib.pfl_dma_fence_lock_map(fence.as_ptr()).owner == lib.pfl_current())
        seen.append(fence.is_signaled())  # lockless here
        for op in (fence.get_status, lambda: fence.wait(Delta.ZERO),
                   lambda: FenceCbRegistration.new(fence, Call(print))):
            seen.append(errno_of(op))

    with FenceCbRegistration.new(fence, Call(inside)):
        assert not in_fence_callback()
        f.signal()
    assert seen == [True, True, True, code.EDEADLK, code.EDEADLK, code.EDEADLK]


def test_callback_exceptions_reach_the_signaller_after_every_callback(ctx: FenceCtx[Any]) -> None:
    log: list[Any] = []
    f = new(ctx)
    fence = f.as_fence()

    def boom() -> None:
        raise RuntimeError("boom")

    regs = [FenceCbRegistration.new(fence, Call(boom)),
            FenceCbRegistration.new(fence, Record(fence, log))]
    with pytest.raises(RuntimeError, match="boom") as e:
        f.signal()
    assert "the fence is signalled" in "".join(e.value.__notes__)
    assert log == [0] and f.closed
    for r in regs:
        r.close()
    g = new(ctx)
    regs = [FenceCbRegistration.new(g.as_fence(), Call(boom)) for _ in range(2)]
    with pytest.raises(BaseExceptionGroup) as eg:
        g.signal()
    assert len(eg.value.exceptions) == 2
    for r in regs:
        r.close()


def test_a_callback_may_signal_another_driver_fence(ctx: FenceCtx[Any]) -> None:
    # b's lock nests inside a's (lockdep subclass): no deadlock, no report.
    a, b = new(ctx), new(ctx)
    log: list[Any] = []
    with ARef.new(b.as_fence()) as rb, \
            FenceCbRegistration.new(rb.deref(), Record(rb.deref(), log, "b")), \
            FenceCbRegistration.new(a.as_fence(), Call(lambda: b.signal(-code.EIO))):
        a.signal()
        assert rb.deref().is_signaled() and log == [("b", -code.EIO)]


def test_a_callback_may_not_touch_other_fence_locks(ctx: FenceCtx[Any]) -> None:
    a, b = new(ctx), new(ctx)
    errs: list[int] = []
    reg_b = FenceCbRegistration.new(b.as_fence(), Call(lambda: None))

    def cb() -> None:
        for op in (b.as_fence().get_status, lambda: b.as_fence().wait(Delta.ZERO),
                   lambda: FenceCbRegistration.new(b.as_fence(), Call(print)), reg_b.close):
            errs.append(errno_of(op))

    with FenceCbRegistration.new(a.as_fence(), Call(cb)):
        a.signal()
    assert errs == [code.EDEADLK] * 4
    assert not reg_b.closed
    reg_b.close()
    b.signal()


@pytest.mark.kernel_warns
def test_dropping_another_driver_fence_from_a_callback_cancels_it(
    ctx: FenceCtx[Any], kernel_clean: Any
) -> None:
    a, b = new(ctx), new(ctx)
    log: list[Any] = []
    with ARef.new(b.as_fence()) as rb, \
            FenceCbRegistration.new(rb.deref(), Record(rb.deref(), log)), \
            FenceCbRegistration.new(a.as_fence(), Call(b.close)):
        a.signal()
        assert log == [-code.ECANCELED] and b.closed
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1


def test_crossed_signalling_from_callbacks_cannot_deadlock(ctx: FenceCtx[Any]) -> None:
    # A's callback signals B while B's signals A, in two threads at once. A
    # DriverFence is consumed before its lock is taken, so each callback's
    # signal finds the other fence consumed (EINVAL): no thread waits for the
    # other's lock, nothing hangs.
    a, b = new(ctx), new(ctx)
    meet = threading.Barrier(2, timeout=30)

    def cross(target: DriverFence[Any]) -> Call:
        def cb() -> None:
            meet.wait()  # both threads hold their own fence's lock now
            target.signal()

        return Call(cb)

    regs = [FenceCbRegistration.new(a.as_fence(), cross(b)),
            FenceCbRegistration.new(b.as_fence(), cross(a))]
    refs = [ARef.new(a.as_fence()), ARef.new(b.as_fence())]
    errnos: list[int] = []
    lock = threading.Lock()

    def signal(f: DriverFence[Any]) -> None:
        try:
            f.signal()
            r = 0
        except Error as e:
            r = e.errno
        with lock:
            errnos.append(r)

    threads = [threading.Thread(target=signal, args=(f,)) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "crossed signalling hung"
    assert errnos == [code.EINVAL, code.EINVAL]
    assert all(r.deref().is_signaled() for r in refs)
    for r in regs:
        r.close()
    for x in refs:
        x.close()


# ---------------------------------------------------------------- waits


def test_wait_timeouts(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    with ARef.new(f.as_fence()) as r:
        fence = r.deref()
        assert fence.wait(Delta.ZERO) is False
        assert fence.wait(Delta.from_millis(2)) is False  # timed out
        assert fence.wait(Delta(1), interruptible=False) is False  # rounded up to a jiffy
        f.signal()
        assert fence.wait(Delta.ZERO) is True
        assert fence.wait(Delta.from_secs(1)) is True
        assert fence.wait() is True


@pytest.mark.parametrize(
    "bad,errno",
    [(Delta(-5), code.EINVAL), (Delta.from_secs(1 << 62), code.ERANGE), (5, code.EINVAL),
     (1.5, code.EINVAL), ("1", code.EINVAL)],
)
def test_bad_timeouts_are_errors(ctx: FenceCtx[Any], bad: Any, errno: int) -> None:
    f = new(ctx)
    assert errno_of(lambda: f.as_fence().wait(bad)) == errno
    f.signal()


def test_wait_is_woken_by_a_signal_from_another_thread(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    waiter = ARef.new(f.as_fence())
    result: dict[str, bool] = {}

    def wait() -> None:
        with waiter:
            result["signalled"] = waiter.deref().wait()

    t = threading.Thread(target=wait)
    t.start()
    f.signal()
    t.join(30)
    assert not t.is_alive()
    assert result == {"signalled": True}


@pytest.mark.parametrize("interruptible", [True, False])
def test_task_signals_end_only_interruptible_waits(ctx: FenceCtx[Any], interruptible: bool) -> None:
    f = new(ctx)
    fence = ARef.new(f.as_fence())
    ready = threading.Event()
    task: dict[str, Any] = {}
    out: dict[str, Any] = {}

    def run() -> None:
        task["t"] = lib.pfl_current()
        ready.set()
        try:
            out["r"] = fence.deref().wait(None, interruptible=interruptible)
        except Error as e:
            out["e"] = e.errno
        finally:
            lib.pfl_task_clear_signal(lib.pfl_current())

    t = threading.Thread(target=run)
    t.start()
    assert ready.wait(30)
    lib.pfl_task_signal(task["t"])  # before or during the wait: both end it
    if interruptible:
        t.join(30)
        assert out == {"e": code.ERESTARTSYS}
        assert not fence.deref().is_signaled()
    f.signal()
    t.join(30)
    assert not t.is_alive()
    if not interruptible:
        assert out == {"r": True}
    fence.close()


@pytest.mark.kernel_warns
def test_dropping_the_driver_fence_wakes_waiters(ctx: FenceCtx[Any], kernel_clean: Any) -> None:
    f = new(ctx)
    fence = ARef.new(f.as_fence())
    view = fence.deref()
    out: dict[str, Any] = {}

    def wait() -> None:
        out["r"] = view.wait()

    t = threading.Thread(target=wait)
    t.start()
    for _ in range(30000):  # until the waiter is inside the C wait (its pin)
        if view.refcount() == 3 or not t.is_alive():
            break
        lib.msleep(1)
    f.close()
    t.join(30)
    assert not t.is_alive(), "waiter hung after the DriverFence was dropped"
    assert out == {"r": True} and view.error == -code.ECANCELED
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    fence.close()


@pytest.mark.lockdep_reports
def test_wait_under_a_spinlock_is_might_sleep(ctx: FenceCtx[Any], kernel_clean: Any) -> None:
    from pyforlinux.sync import lockdep
    from pyforlinux.sync.lock.spinlock import new_spinlock

    f = new(ctx)
    with new_spinlock(None) as lock:
        with lockdep.strict_mode(True), lock.lock():
            assert errno_of(lambda: f.as_fence().wait(Delta.ZERO)) == code.EDEADLK
    f.signal()
    assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_MIGHT_SLEEP) == (
        kernel_clean.lockdep["might_sleep"] + 1
    )


# ---------------------------------------------------------------- signalling annotations


@pytest.fixture
def job_lock() -> Iterator[Any]:
    from pyforlinux.sync.lock.mutex import Mutex
    from pyforlinux.sync.lockdep import LockClassKey

    with LockClassKey.new_dynamic("job_lock") as key:
        m = Mutex(0, "job_lock", key)
        yield m
        m.close()


@pytest.mark.lockdep_reports
@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("signal_first", [True, False])
def test_a_lock_taken_to_signal_and_held_around_a_wait_is_reported(
    ctx: FenceCtx[Any], job_lock: Any, kernel_clean: Any, signal_first: bool, strict: bool
) -> None:
    from pyforlinux.sync import lockdep

    f = new(ctx)
    fence = ARef.new(f.as_fence())

    def signaller() -> None:  # the job's completion path
        with begin_signalling(), job_lock.lock():
            pass

    def waiter() -> None:  # e.g. an ioctl waiting with the lock held
        with job_lock.lock():
            fence.deref().wait(Delta.ZERO)

    first, second = (signaller, waiter) if signal_first else (waiter, signaller)
    with lockdep.strict_mode(strict):
        first()
        assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_INVERSION) == (
            kernel_clean.lockdep["inversion"]
        )
        if strict:  # refused before it waits or takes the lock
            assert errno_of(second) == code.EDEADLK
        else:
            second()
    assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_INVERSION) == (
        kernel_clean.lockdep["inversion"] + 1
    )
    buf = ffi.new("char[4096]")
    lib.pfl_lockdep_last_report(buf, 4096)
    report = ffi.string(buf).decode()
    assert "dma_fence_map" in report and "job_lock" in report
    f.signal()
    fence.close()


def test_signalling_sections_alone_are_clean(ctx: FenceCtx[Any], job_lock: Any) -> None:
    # The lock is taken in a signalling section but never held around a
    # wait; the wait happens with no lock held: no report (fixture checks).
    f = new(ctx)
    fence = ARef.new(f.as_fence())
    with begin_signalling():
        with job_lock.lock():
            pass
        with begin_signalling():  # sections nest
            pass
        f.signal()  # a signal inside a section
    assert fence.deref().wait(Delta.ZERO)
    fence.close()


def test_signalling_guard_is_thread_bound() -> None:
    g = begin_signalling()
    err: list[int] = []
    t = threading.Thread(target=lambda: err.append(errno_of(g.unlock)))
    t.start()
    t.join(30)
    assert err == [code.EPERM]
    g.unlock()
    g.unlock()  # idempotent on its thread
    assert errno_of(g.__enter__) == code.EINVAL


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_registration_and_signal(ctx: FenceCtx[Any], round_: int) -> None:
    f = new(ctx)
    fence = f.as_fence()
    fired: list[int] = []
    returned: list[int] = []
    regs: list[FenceCbRegistration[Any]] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(5, timeout=30)

    class Tag:
        def __init__(self, i: int) -> None:
            self.i = i

        def called(self) -> None:
            fired.append(self.i)

    def register(base: int, ref: ARef[Fence]) -> None:
        with ref:
            start.wait()
            for i in range(base, base + 100):
                try:
                    r = FenceCbRegistration.new(ref.deref(), Tag(i))
                    with lock:
                        regs.append(r)
                except CallbackError as e:
                    with lock:
                        if e.errno == code.ENOENT:
                            returned.append(e.data.i)
                        else:
                            unexpected.append(e)
                except BaseException as e:
                    unexpected.append(e)

    threads = [threading.Thread(target=register, args=(k * 1000, ARef.new(fence)))
               for k in range(4)]
    for t in threads:
        t.start()
    start.wait()
    f.signal()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert unexpected == []
    assert sorted(fired + returned) == sorted(k * 1000 + i for k in range(4) for i in range(100))
    assert len(regs) == len(fired)
    for r in regs:
        r.close()


def test_concurrent_clone_and_drop_of_fence_refs(ctx: FenceCtx[Any]) -> None:
    f = new(ctx)
    refs = [ARef.new(f.as_fence()) for _ in range(64)]

    def churn(rs: list[ARef[Fence]]) -> None:
        for r in rs:
            c = r.clone()
            r.close()
            c.close()

    threads = [threading.Thread(target=churn, args=(refs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert f.as_fence().refcount() == 1
    f.signal()


# ---------------------------------------------------------------- ForeignOwnable


def test_aref_fence_into_foreign_hands_c_the_dma_fence(ctx: FenceCtx[Any]) -> None:
    f = new(ctx, "data")
    view = f.as_fence()
    ptr = ARef.new(view).into_foreign()
    assert ptr == ffi.cast("void *", view.as_ptr())
    raw = ffi.cast("struct dma_fence *", ptr)
    assert raw.context == ctx.context and raw.seqno == 0
    with ARef.borrow(ptr) as borrowed:
        assert borrowed is view
    back = ARef.from_foreign(ptr)
    assert errno_of(lambda: ARef.from_foreign(ptr)) == code.ENOENT
    f.signal()
    back.close()


def test_driver_fence_is_foreign_ownable(ctx: FenceCtx[Any]) -> None:
    f = new(ctx, "data")
    fence_ptr = ARef.new(f.as_fence()).into_foreign()  # both foreign at once
    ptr = f.into_foreign()
    assert ptr != ffi.NULL and ptr != fence_ptr
    for use in (f.signal, lambda: f.data, f.close, f.into_foreign):
        assert errno_of(use) == code.EINVAL  # C owns it
    with DriverFence.borrow(ptr) as b, ARef.borrow(fence_ptr) as shared:
        assert b.data == "data" and b.as_fence() is shared
        assert errno_of(lambda: DriverFence.from_foreign(ptr)) == code.EBUSY
    assert errno_of(lambda: b.data) == code.EINVAL  # the borrow ended
    assert errno_of(lambda: DriverFence.from_foreign(fence_ptr)) == code.EINVAL  # an ARef's
    back = DriverFence.from_foreign(ptr)
    assert back is f and DriverFence.try_from_foreign(ffi.NULL) is None
    assert errno_of(lambda: DriverFence.from_foreign(ptr)) == code.ENOENT
    back.signal()
    ARef.from_foreign(fence_ptr).close()


def test_fences_in_an_xarray(ctx: FenceCtx[Any]) -> None:
    from pyforlinux.xarray import AllocKind, XArray

    drivers = [new(ctx, i) for i in range(3)]
    xa: Any = XArray(AllocKind.Alloc, ARef)
    try:
        with xa.lock() as g:
            for i, d in enumerate(drivers):
                g.store(i, ARef.new(d.as_fence()), GFP_KERNEL)
            got = g.get(1)
            assert got is drivers[1].as_fence()
            removed = g.remove(2)
        assert removed is not None
        drivers[2].signal()
        assert removed.deref().is_signaled()
        removed.close()
    finally:
        xa.close()
        for d in drivers[:2]:
            d.signal()


# ---------------------------------------------------------------- the docs sample


def test_the_docs_sample_runs() -> None:
    text = DOCS.read_text()
    m = re.search(r"<!-- sample: fence-job -->\s*```python\n(.*?)```", text, re.S)
    assert m, "the fence-job sample is missing from docs/rust-to-python.md"
    scope: dict[str, Any] = {}
    exec(compile(m.group(1), str(DOCS), "exec"), scope)
    assert scope["observed"] == [0]


def test_the_lock_held_check_in_c_is_the_owner_check(ctx: FenceCtx[Any]) -> None:
    # _check_may_lock asks C (pfl_dma_fence_lock_held) what it computed in
    # Python before: the fence lock's owner is the calling task.
    from pyforlinux.dma_buf import dma_fence

    f = new(ctx)
    raw = f.as_fence()._raw
    seen: list[tuple[bool, bool]] = []

    def check() -> None:
        seen.append((dma_fence._lock_held_by_me(raw),
                     bool(raw.lock.dep_map.owner == lib.pfl_current())))

    check()
    with FenceCbRegistration.new(f.as_fence(), Call(check)):
        f.signal()
    assert seen == [(False, False), (True, True)]  # outside, then inside the callback


# ---------------------------------------------------------------- the cheaper paths (issue 17)


def test_the_one_c_add_makes_the_checks_of_before(ctx: FenceCtx[Any]) -> None:
    # pfl_dma_fence_cb_add: the lock-holder check (EDEADLK), the node's
    # allocation (ENOMEM) and the add (ENOENT), each leaving nothing
    # allocated and the registration's fence reference given back.
    f = new(ctx)
    fence = f.as_fence()
    raw = fence._raw
    live = lib.pfl_slab_live_objects()
    seen: list[int] = []

    def inside() -> None:  # this task holds the fence lock here
        node = lib.pfl_dma_fence_cb_add(raw, 0, GFP_KERNEL.as_raw())
        seen.append(int(ffi.cast("intptr_t", node)))
        with pytest.raises(Error) as e:
            FenceCbRegistration.new(fence, Call(print))
        seen.append(e.value.errno)
        assert "holds this fence's lock" in str(e.value)

    refs = fence.refcount()
    cb = Call(lambda: None)
    lib.pfl_fail_nth_set(1)
    with pytest.raises(CallbackError) as ce:
        FenceCbRegistration.new(fence, cb)
    lib.pfl_fail_nth_set(0)
    assert ce.value.errno == code.ENOMEM and ce.value.data is cb
    assert fence.refcount() == refs and lib.pfl_slab_live_objects() == live
    with FenceCbRegistration.new(fence, Call(inside)):
        f.signal()
    assert seen == [-code.EDEADLK, code.EDEADLK]
    with pytest.raises(CallbackError) as ce:
        FenceCbRegistration.new(fence, cb)
    assert ce.value.errno == code.ENOENT and ce.value.data is cb
    assert fence.refcount() == refs


def test_concurrent_closes_of_a_registration_remove_it_once(ctx: FenceCtx[Any]) -> None:
    # close() claims the registration without a lock (GIL-serialised): of
    # threads closing one registration, one removes and frees the node and
    # drops the callback and the reference; the others return.
    f = new(ctx)
    fence = ARef.new(f.as_fence())
    refs = fence.deref().refcount()
    for _ in range(20):
        log: list[Any] = []
        cb = Record(fence.deref(), log)
        reg = FenceCbRegistration.new(fence.deref(), cb)
        start = threading.Barrier(4, timeout=30)

        def close(r: FenceCbRegistration[Any] = reg, b: threading.Barrier = start) -> None:
            b.wait()
            r.close()

        threads = [threading.Thread(target=close) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert reg.closed and cb.closed == 1
        assert fence.deref().refcount() == refs
        assert errno_of(reg.fence) == code.EINVAL
    f.signal()
    assert log == []  # removed before the signal: never called
    fence.close()


def test_concurrent_signals_consume_once_and_seqnos_stay_unique(ctx: FenceCtx[Any]) -> None:
    # DriverFence consumption and the context's seqno are GIL-serialised
    # claims (no lock): one signaller wins, the others get EINVAL; fences
    # made on several threads get distinct seqnos.
    made: list[DriverFence[Any]] = []
    start = threading.Barrier(4, timeout=30)

    def make() -> None:
        start.wait()
        for _ in range(50):
            made.append(new(ctx))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(d.as_fence().seqno for d in made) == list(range(200))
    data = Closeable()
    f = new(ctx, data)
    results: list[int] = []
    go = threading.Barrier(4, timeout=30)

    def signal() -> None:
        go.wait()
        try:
            f.signal()
            results.append(0)
        except Error as e:
            results.append(e.errno)

    threads = [threading.Thread(target=signal) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, code.EINVAL, code.EINVAL, code.EINVAL]
    for d in made:
        d.signal()
    rcu.rcu_barrier()
    assert data.closed == 1


def test_leak_reports_name_the_fence(ctx: FenceCtx[Any]) -> None:
    # The owners' names are formatted only when shown, with the same text.
    from pyforlinux import _owner

    a = ctx.new_fence_allocation(None)
    f = new(ctx)
    reg = FenceCbRegistration.new(f.as_fence(), Call(lambda: None))
    names = {what for what, _ in _owner.live_owners().values()}
    ptr, node = a._ptr, a._box._node  # type: ignore[union-attr]
    assert f"DriverFenceAllocation at {int(ffi.cast('uintptr_t', ptr)):#x}" in names
    seq = f.as_fence().seqno
    assert f"DriverFence {ctx.context}:{seq} (never signalled or dropped)" in names
    assert f"FenceCbRegistration on fence {ctx.context}:{seq}" in names
    f.signal()
    reg.close()
    with pytest.warns(ResourceWarning, match="DriverFenceAllocation at 0x"):
        del a
    # SAFETY (test): the leaked allocation was never armed; its data box
    # (no report of its own: the allocation's covers it) leaked with it.
    lib.pfl_dma_fence_free_unarmed(ptr)
    lib.pfl_kfree(node, 0)
