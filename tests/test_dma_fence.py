"""pyforlinux.dma_buf.dma_fence over the real drivers/dma-buf/dma-fence.c.

The Rust doctest, signalling and its errors, callbacks and their data,
pre-allocated fences under fault injection, signal-on-drop, the re-entry
rules of callbacks (which run with the fence lock held), waits (timeouts,
interruption by a task signal), threads, and ForeignOwnable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL
from pyforlinux.dma_buf import (
    MAX_SCHEDULE_TIMEOUT,
    CallbackError,
    DmaFence,
    DmaFenceCtx,
    in_fence_callback,
)
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef

Fence = ARef[DmaFence[Any]]


@pytest.fixture
def ctx() -> DmaFenceCtx:
    return DmaFenceCtx("pfl_test", "ring0")


def in_thread(fn: Callable[[], Any]) -> Any:
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["r"] = fn()
        except BaseException as e:
            out["e"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join(30)
    assert not t.is_alive(), "thread hung"
    if "e" in out:
        raise out["e"]
    return out.get("r")


@pytest.fixture
def fences(ctx: DmaFenceCtx) -> Iterator[list[Fence]]:
    """Fences the test creates; closed at the end if the test did not."""
    made: list[Fence] = []
    yield made
    for f in made:
        if not f.closed:
            f.close()


# ---------------------------------------------------------------- the doctest


def test_rust_doctest_callback_runs_on_signal(ctx: DmaFenceCtx) -> None:
    # rust/kernel/sync/dma_fence.rs: DriverData { i: 5 }, CallbackData { i: 9 }.
    checker: list[int] = []
    with ctx.new_fence({"i": 5}) as fence:
        f = fence.deref()
        assert f.data == {"i": 5}
        f.register_callback({"i": 9}, lambda cb, _f: checker.append(cb["i"]))
        assert not f.is_signaled()
        f.signal()
        assert checker == [9]
        assert f.is_signaled()
        assert f.get_status() == 1


# ---------------------------------------------------------------- context


def test_context_numbers_and_seqnos() -> None:
    a = DmaFenceCtx("drv", "a")
    b = DmaFenceCtx("drv", "b", initial_seqno=100)
    assert a.context != b.context
    fa = [a.new_fence(i) for i in range(3)]
    fb = b.new_fence(None)
    try:
        assert [f.deref().seqno for f in fa] == [0, 1, 2]
        assert {f.deref().context for f in fa} == {a.context}
        assert fb.deref().seqno == 100 and fb.deref().context == b.context
        assert [f.deref().data for f in fa] == [0, 1, 2]
        assert fb.deref().driver_name == "drv" and fb.deref().timeline_name == "b"
        assert fa[1].deref().describe() == "drv a seq 1 unsignalled\n"
    finally:
        for f in [*fa, fb]:
            f.close()


def test_seqno_wraps_at_u64() -> None:
    c = DmaFenceCtx("drv", "wrap", initial_seqno=(1 << 64) - 1)
    with c.new_fence(None) as f1, c.new_fence(None) as f2:
        assert (f1.deref().seqno, f2.deref().seqno) == ((1 << 64) - 1, 0)


@pytest.mark.parametrize(
    "args",
    [("", "x" * 64), ("a\0b", "t"), (1, "t"), ("d", "t", -1), ("d", "t", 1 << 64)],
)
def test_bad_context_arguments_are_einval(args: tuple[Any, ...]) -> None:
    with pytest.raises(Error) as e:
        DmaFenceCtx(*args)
    assert e.value.errno == code.EINVAL


def test_longest_names_fit(ctx: DmaFenceCtx) -> None:
    c = DmaFenceCtx("d" * 63, "é" * 31)  # 62 UTF-8 bytes
    with c.new_fence(None) as f:
        assert f.deref().describe().startswith("d" * 63 + " " + "é" * 31 + " seq 0")


# ---------------------------------------------------------------- signalling


def test_second_signal_is_einval(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        f.deref().signal()
        with pytest.raises(Error) as e:
            f.deref().signal()
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            f.deref().signal_with_error(-code.EIO)
        assert e.value.errno == code.EINVAL
        assert f.deref().error == 0  # the failed second signal changed nothing


def test_signal_with_error(ctx: DmaFenceCtx) -> None:
    seen: list[int] = []
    with ctx.new_fence(None) as f:
        f.deref().register_callback(None, lambda _d, fence: seen.append(fence.error))
        f.deref().signal_with_error(-code.EIO)
        assert seen == [-code.EIO]
        assert f.deref().error == -code.EIO
        assert f.deref().get_status() == -code.EIO
    with ctx.new_fence(None) as f:
        f.deref().signal_with_error(Error(code.ETIMEDOUT))
        assert f.deref().get_status() == -code.ETIMEDOUT


@pytest.mark.parametrize("bad", [0, 5, -4096, True, "EIO", None])
def test_signal_with_error_needs_a_negative_errno(ctx: DmaFenceCtx, bad: Any) -> None:
    with ctx.new_fence(None) as f:
        with pytest.raises(Error) as e:
            f.deref().signal_with_error(bad)
        assert e.value.errno == code.EINVAL
        assert not f.deref().is_signaled()  # nothing happened
        f.deref().signal()


def test_timestamp_is_set_by_signalling(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        with pytest.raises(Error) as e:
            f.deref().timestamp_ns()
        assert e.value.errno == code.EBUSY
        before = int(lib.pfl_ktime_get_ns())
        f.deref().signal()
        assert before <= f.deref().timestamp_ns() <= int(lib.pfl_ktime_get_ns())


# ---------------------------------------------------------------- callbacks


def test_callbacks_get_their_data_back_once_in_registration_order(ctx: DmaFenceCtx) -> None:
    got: list[tuple[object, bool, bool]] = []
    items = [object() for _ in range(5)]
    with ctx.new_fence(None) as f:
        for it in items:
            f.deref().register_callback(
                it, lambda d, fence: got.append((d, fence.is_signaled(), in_fence_callback()))
            )
        assert got == []
        f.deref().signal()
    assert [g[0] for g in got] == items  # the same objects, in order
    assert all(sig and inside for _d, sig, inside in got)
    assert not in_fence_callback()


def test_register_on_signalled_fence_gives_data_back_with_enoent(ctx: DmaFenceCtx) -> None:
    data = ["owned"]
    with ctx.new_fence(None) as f:
        f.deref().signal()
        with pytest.raises(CallbackError) as e:
            f.deref().register_callback(data, lambda _d, _f: None)
        assert e.value.errno == code.ENOENT
        assert e.value.data is data


def test_callback_runs_with_the_fence_lock_held(ctx: DmaFenceCtx) -> None:
    seen: list[bool] = []

    def cb(_d: None, fence: DmaFence[None]) -> None:
        ptr = ffi.cast("struct dma_fence *", fence.as_ptr())
        seen.append(lib.pfl_dma_fence_lock_map(ptr).owner == lib.pfl_current())

    with ctx.new_fence(None) as f:
        f.deref().register_callback(None, cb)
        f.deref().signal()
        ptr = f.deref().as_ptr()
        assert lib.pfl_dma_fence_lock_map(ptr).owner == ffi.NULL
    assert seen == [True]


def test_callback_exceptions_reach_the_signaller_after_all_callbacks_ran(
    ctx: DmaFenceCtx,
) -> None:
    ran: list[int] = []

    def boom(d: int, _f: DmaFence[None]) -> None:
        ran.append(d)
        raise ValueError(f"callback {d}")

    with ctx.new_fence(None) as f:
        f.deref().register_callback(1, boom)
        f.deref().register_callback(2, lambda d, _f: ran.append(d))
        with pytest.raises(ValueError, match="callback 1"):
            f.deref().signal()
        assert ran == [1, 2] and f.deref().is_signaled()
    with ctx.new_fence(None) as f:
        f.deref().register_callback(3, boom)
        f.deref().register_callback(4, boom)
        with pytest.raises(ExceptionGroup) as eg:
            f.deref().signal()
        assert [str(x) for x in eg.value.exceptions] == ["callback 3", "callback 4"]


def test_register_callback_misuse(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        with pytest.raises(Error) as e:
            f.deref().register_callback(None, "not callable")  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            f.deref().register_callback(None, lambda _d, _f: None, flags=0)  # type: ignore[arg-type]
        assert e.value.errno == code.EINVAL


# ---------------------------------------------------------------- re-entry


@pytest.mark.parametrize(
    "reenter",
    [
        lambda f: f.signal(),
        lambda f: f.signal_with_error(-code.EIO),
        lambda f: f.get_status(),
        lambda f: f.register_callback(None, lambda _d, _f: None),
        lambda f: f.wait(0),
        lambda f: f.wait(),
    ],
    ids=["signal", "signal_with_error", "get_status", "register_callback", "wait0", "wait"],
)
def test_reentering_the_fence_from_its_callback_raises_edeadlk(
    ctx: DmaFenceCtx, reenter: Callable[[DmaFence[None]], object]
) -> None:
    after: list[str] = []
    with ctx.new_fence(None) as f:
        f.deref().register_callback(None, lambda _d, fence: reenter(fence))
        f.deref().register_callback(None, lambda _d, fence: after.append(fence.describe()))
        with pytest.raises(Error) as e:
            f.deref().signal()
        assert e.value.errno == code.EDEADLK
        assert after == ["pfl_test ring0 seq 0 signalled\n"]  # lockless calls still work
        assert f.deref().get_status() == 1


def test_a_callback_may_signal_another_fence(ctx: DmaFenceCtx) -> None:
    # Chained signalling takes the second fence's lock nested (subclass 1):
    # no deadlock and no lock-validator report (the fixture checks).
    order: list[str] = []
    other = DmaFenceCtx("pfl_test", "ring1")
    with ctx.new_fence(None) as a, other.new_fence(None) as b, ctx.new_fence(None) as c:
        c.deref().register_callback("c", lambda d, _f: order.append(d))
        b.deref().register_callback("b", lambda d, _f: (order.append(d), c.deref().signal()))
        a.deref().register_callback("a", lambda d, _f: (order.append(d), b.deref().signal()))
        a.deref().signal()
        assert order == ["a", "b", "c"]
        assert all(x.deref().is_signaled() for x in (a, b, c))


def test_a_callback_may_not_register_on_or_wait_for_another_fence(ctx: DmaFenceCtx) -> None:
    errs: list[int] = []

    def cb(_d: None, _f: DmaFence[None]) -> None:
        for op in (
            lambda: b.deref().register_callback(None, lambda _d, _f: None),
            lambda: b.deref().get_status(),
            lambda: b.deref().wait(0),
        ):
            try:
                op()
            except Error as e:
                errs.append(e.errno)

    with ctx.new_fence(None) as a, ctx.new_fence(None) as b:
        a.deref().register_callback(None, cb)
        a.deref().signal()
        assert errs == [code.EDEADLK] * 3
        assert not b.deref().is_signaled()
        b.deref().signal()


def test_dropping_another_fence_from_a_callback_signals_it_afterwards(
    ctx: DmaFenceCtx,
) -> None:
    seen: list[int] = []
    during: list[bool] = []
    a = ctx.new_fence(None)
    b = ctx.new_fence(None)
    b_view = b.deref()
    b_view.register_callback(None, lambda _d, fence: seen.append(fence.error))

    def drop_b(ref: Fence, _f: DmaFence[None]) -> None:
        ref.close()  # the last reference; b is unsignalled
        during.append(b_view.is_signaled())  # the drop waits until no fence lock is held

    a.deref().register_callback(b, drop_b)  # the data owns b
    a.deref().signal()
    assert during == [False]
    assert seen == [-code.ECANCELED]  # completed before signal() returned
    assert b.closed
    with pytest.raises(Error) as e:
        b_view.is_signaled()
    assert e.value.errno == code.EINVAL
    a.close()


def test_crossed_nested_signalling_in_two_threads_is_edeadlk_not_a_hang(
    ctx: DmaFenceCtx,
) -> None:
    # A's callback signals B while B's callback signals A, in two threads at
    # once: each holds one fence lock and waits for the other's. The wait-for
    # check refuses the second wait (EDEADLK); the other thread then finds the
    # fence signalled (EINVAL). Neither hangs, both fences end signalled.
    other = DmaFenceCtx("pfl_test", "ring1")
    meet = threading.Barrier(2, timeout=30)
    with ctx.new_fence(None) as a, other.new_fence(None) as b:

        def cross(target: Fence) -> Callable[[None, DmaFence[None]], None]:
            def cb(_d: None, _f: DmaFence[None]) -> None:
                meet.wait()  # both threads hold their own fence's lock now
                target.deref().signal()

            return cb

        a.deref().register_callback(None, cross(b))
        b.deref().register_callback(None, cross(a))
        errnos: list[int] = []
        lock = threading.Lock()

        def signal(f: Fence) -> None:
            try:
                f.deref().signal()
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
        assert not any(t.is_alive() for t in threads), "crossed nested signalling hung"
        assert sorted(errnos) == sorted([code.EDEADLK, code.EINVAL])
        assert a.deref().is_signaled() and b.deref().is_signaled()


# ---------------------------------------------------------------- signal on drop


class Closeable:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_drop_unsignalled_signals_ecanceled_and_drops_data(ctx: DmaFenceCtx) -> None:
    seen: list[tuple[object, int, str]] = []
    token = object()
    data = Closeable()
    f = ctx.new_fence(data)
    view = f.deref()
    view.register_callback(
        token, lambda d, fence: seen.append((d, fence.error, fence.describe()))
    )
    f.close()
    assert seen == [(token, -code.ECANCELED, "pfl_test ring0 seq 0 signalled\n")]
    assert data.closed == 1
    # The view is unusable once the last reference is gone (no use-after-free).
    for op in (view.is_signaled, view.signal, view.describe, view.inc_ref, lambda: view.data):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        f.close()  # ARef: released twice
    assert e.value.errno == code.EINVAL


def test_drop_of_a_signalled_fence_keeps_its_status(ctx: DmaFenceCtx) -> None:
    seen: list[int] = []
    f = ctx.new_fence(Closeable())
    data = f.deref().data
    f.deref().register_callback(None, lambda _d, fence: seen.append(fence.error))
    f.deref().signal_with_error(-code.EIO)
    f.close()
    assert seen == [-code.EIO] and data.closed == 1


def test_only_the_last_reference_signals(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        g = f.clone()
        assert f.deref().refcount() == 2
        g.close()
        assert f.deref().refcount() == 1
        assert not f.deref().is_signaled()
        f.deref().signal()


def test_a_callback_raising_during_drop_still_completes_the_drop(ctx: DmaFenceCtx) -> None:
    data = Closeable()
    f = ctx.new_fence(data)

    def boom(_d: None, _f: DmaFence[Closeable]) -> None:
        raise RuntimeError("boom")

    f.deref().register_callback(None, boom)
    with pytest.raises(RuntimeError, match="boom"):
        f.close()
    assert f.closed and data.closed == 1  # the fixture checks the C fence was freed


# ---------------------------------------------------------------- pre-allocation


def test_preallocated_fence_is_armed_and_signalled_without_allocating(ctx: DmaFenceCtx) -> None:
    seen: list[int] = []
    alloc = ctx.new_fence_allocation("job")  # the only allocation
    lib.pfl_fail_probability_set(1000000)  # every allocation from now on fails
    try:
        before = lib.pfl_task_alloc_count()
        fence = alloc.new_fence()  # dma_fence_init
        fence.deref().signal_with_error(-code.EIO)
        fence.deref().describe()
        armed_and_signalled = lib.pfl_task_alloc_count() - before
        # The injection really is active: a fresh allocation fails.
        with pytest.raises(Error) as e:
            ctx.new_fence_allocation(None)
        assert e.value.errno == code.ENOMEM
    finally:
        lib.pfl_fail_probability_set(0)
    assert armed_and_signalled == 0
    assert fence.deref().data == "job" and fence.deref().error == -code.EIO
    # Callbacks registered before the injection run without allocating too.
    f2 = ctx.new_fence(None)
    f2.deref().register_callback(1, lambda d, _f: seen.append(d))
    lib.pfl_fail_probability_set(1000000)
    try:
        before = lib.pfl_task_alloc_count()
        f2.deref().signal()
        f2.close()
        fence.close()
        assert lib.pfl_task_alloc_count() == before
    finally:
        lib.pfl_fail_probability_set(0)
    assert seen == [1]


def test_allocation_failures_are_enomem(ctx: DmaFenceCtx) -> None:
    lib.pfl_fail_nth_set(1)
    with pytest.raises(Error) as e:
        ctx.new_fence(None)
    assert e.value.errno == code.ENOMEM
    data = object()
    with ctx.new_fence(None) as f:
        lib.pfl_fail_nth_set(1)
        with pytest.raises(CallbackError) as ce:
            f.deref().register_callback(data, lambda _d, _f: None)
        assert ce.value.errno == code.ENOMEM and ce.value.data is data
        f.deref().signal()


def test_allocation_is_consumed_once(ctx: DmaFenceCtx) -> None:
    data = Closeable()
    with ctx.new_fence_allocation(data) as a:
        assert not a.closed
    assert a.closed and data.closed == 1  # freed unarmed, data dropped
    with pytest.raises(Error) as e:
        a.new_fence()
    assert e.value.errno == code.EINVAL
    a.close()  # idempotent
    b = ctx.new_fence_allocation(None)
    f = b.new_fence()
    with pytest.raises(Error) as e:
        b.new_fence()
    assert e.value.errno == code.EINVAL
    b.close()  # no-op: the fence owns the memory now
    assert f.deref().seqno == 0  # the freed allocation consumed no seqno
    f.close()


def test_seqno_is_taken_when_armed(ctx: DmaFenceCtx) -> None:
    early = ctx.new_fence_allocation(None)
    with ctx.new_fence(None) as mid:
        late = early.new_fence()
        assert (mid.deref().seqno, late.deref().seqno) == (0, 1)
        late.close()


def test_bad_flags_are_einval(ctx: DmaFenceCtx) -> None:
    with pytest.raises(Error) as e:
        ctx.new_fence(None, flags=lib.GFP_KERNEL)  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL


# ---------------------------------------------------------------- waits


def test_wait_timeouts(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        assert f.deref().wait(0) == 0
        assert f.deref().wait(5) == 0  # timed out: 0 jiffies left
        assert f.deref().wait(5, interruptible=False) == 0
        f.deref().signal()
        assert f.deref().wait(0) == 1  # C: 1 for a zero timeout on a signalled fence
        assert f.deref().wait(100) == 100
        assert f.deref().wait() == MAX_SCHEDULE_TIMEOUT


@pytest.mark.parametrize("bad", [-1, MAX_SCHEDULE_TIMEOUT + 1, 1.5, None])
def test_bad_timeouts_are_einval(ctx: DmaFenceCtx, bad: Any) -> None:
    with ctx.new_fence(None) as f:
        with pytest.raises(Error) as e:
            f.deref().wait(bad)
        assert e.value.errno == code.EINVAL
        f.deref().signal()


def test_wait_is_woken_by_signal_from_another_thread(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        waiter = f.clone()
        result: dict[str, int] = {}

        def wait() -> None:
            with waiter:
                result["left"] = waiter.deref().wait()

        t = threading.Thread(target=wait)
        t.start()
        f.deref().signal()
        t.join(30)
        assert not t.is_alive()
        assert result["left"] == MAX_SCHEDULE_TIMEOUT


def test_interruptible_wait_ends_with_erestartsys(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        task: dict[str, Any] = {}
        ready = threading.Event()

        def wait() -> int:
            task["t"] = lib.pfl_current()
            ready.set()
            try:
                return f.deref().wait(MAX_SCHEDULE_TIMEOUT, interruptible=True)
            finally:
                lib.pfl_task_clear_signal(lib.pfl_current())

        th: dict[str, Any] = {}

        def run() -> None:
            try:
                th["r"] = wait()
            except Error as e:
                th["e"] = e

        t = threading.Thread(target=run)
        t.start()
        assert ready.wait(30)
        lib.pfl_task_signal(task["t"])  # before or during the wait: both end it
        t.join(30)
        assert not t.is_alive()
        assert th["e"].errno == code.ERESTARTSYS
        assert not f.deref().is_signaled()
        f.deref().signal()


def test_uninterruptible_wait_ignores_task_signals(ctx: DmaFenceCtx) -> None:
    with ctx.new_fence(None) as f:
        task: dict[str, Any] = {}
        ready = threading.Event()

        def wait() -> int:
            task["t"] = lib.pfl_current()
            ready.set()
            try:
                return f.deref().wait(MAX_SCHEDULE_TIMEOUT, interruptible=False)
            finally:
                lib.pfl_task_clear_signal(lib.pfl_current())

        out: dict[str, Any] = {}
        t = threading.Thread(target=lambda: out.setdefault("r", wait()))
        t.start()
        assert ready.wait(30)
        lib.pfl_task_signal(task["t"])
        f.deref().signal()
        t.join(30)
        assert not t.is_alive()
        assert out["r"] == MAX_SCHEDULE_TIMEOUT


def test_drop_wakes_a_waiter_that_holds_no_reference(ctx: DmaFenceCtx) -> None:
    f = ctx.new_fence(None)
    view = f.deref()  # shared with the waiter; only the main thread owns a reference
    out: dict[str, Any] = {}

    def wait() -> None:
        try:
            out["left"] = view.wait()
        except Error as e:
            out["e"] = e

    t = threading.Thread(target=wait)
    t.start()
    # Wait until the waiter is inside dma_fence_wait_timeout (its pin is the
    # second C reference), then drop the only owned reference.
    for _ in range(30000):
        if view.refcount() == 2 or not t.is_alive():
            break
        lib.msleep(1)
    f.close()
    t.join(30)
    assert not t.is_alive(), "waiter hung after the fence was dropped"
    assert out == {"left": MAX_SCHEDULE_TIMEOUT}


@pytest.mark.lockdep_reports
def test_wait_under_a_spinlock_is_might_sleep(ctx: DmaFenceCtx, kernel_clean: Any) -> None:
    from pyforlinux.sync import lockdep
    from pyforlinux.sync.lock.spinlock import new_spinlock

    with ctx.new_fence(None) as f, new_spinlock(None) as lock:
        with lockdep.strict_mode(True), lock.lock():
            with pytest.raises(Error) as e:
                f.deref().wait(0)
        assert e.value.errno == code.EDEADLK
        f.deref().signal()
    assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_MIGHT_SLEEP) == (
        kernel_clean.lockdep["might_sleep"] + 1
    )


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("round_", range(10))
def test_concurrent_signal_exactly_one_wins(ctx: DmaFenceCtx, round_: int) -> None:
    n_threads, n_callbacks = 8, 16
    runs: list[int] = []
    f = ctx.new_fence(None)
    for i in range(n_callbacks):
        f.deref().register_callback(i, lambda d, _f: runs.append(d))
    barrier = threading.Barrier(n_threads)
    results: list[str] = []
    res_lock = threading.Lock()

    def signal(ref: Fence) -> None:
        with ref:
            barrier.wait()
            try:
                ref.deref().signal()
                r = "ok"
            except Error as e:
                r = "EINVAL" if e.errno == code.EINVAL else repr(e)
            with res_lock:
                results.append(r)

    threads = [threading.Thread(target=signal, args=(f.clone(),)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(results) == ["EINVAL"] * (n_threads - 1) + ["ok"]
    assert sorted(runs) == list(range(n_callbacks))  # each callback ran exactly once
    f.close()


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_register_and_signal_returns_every_data_once(
    ctx: DmaFenceCtx, round_: int
) -> None:
    f = ctx.new_fence(None)
    fired: list[int] = []
    returned: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(5)

    def register(base: int, ref: Fence) -> None:
        with ref:
            start.wait()
            for i in range(base, base + 200):
                try:
                    ref.deref().register_callback(i, lambda d, _f: fired.append(d))
                except CallbackError as e:
                    with lock:
                        if e.errno == code.ENOENT:
                            returned.append(e.data)
                        else:
                            unexpected.append(e)
                except BaseException as e:
                    unexpected.append(e)

    threads = [threading.Thread(target=register, args=(k * 1000, f.clone())) for k in range(4)]
    for t in threads:
        t.start()
    start.wait()
    f.deref().signal()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert unexpected == []
    expected = sorted(k * 1000 + i for k in range(4) for i in range(200))
    assert sorted(fired + returned) == expected  # every datum came back exactly once
    f.close()


def test_concurrent_clone_and_drop(ctx: DmaFenceCtx) -> None:
    seen: list[int] = []
    f = ctx.new_fence(None)
    f.deref().register_callback(None, lambda _d, fence: seen.append(fence.error))
    refs = [f.clone() for _ in range(64)]

    def churn(rs: list[Fence]) -> None:
        for r in rs:
            c = r.clone()
            r.close()
            c.close()

    threads = [threading.Thread(target=churn, args=(refs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert f.deref().refcount() == 1 and seen == []
    f.close()
    assert seen == [-code.ECANCELED]


# ---------------------------------------------------------------- ForeignOwnable


def test_aref_into_foreign_hands_c_the_dma_fence(ctx: DmaFenceCtx) -> None:
    f = ctx.new_fence("data")
    view = f.deref()
    ptr = f.into_foreign()
    assert ptr == ffi.cast("void *", view.as_ptr())
    raw = ffi.cast("struct dma_fence *", ptr)
    assert raw.context == ctx.context and raw.seqno == 0
    assert lib.dma_fence_is_signaled(raw) is False
    with ARef.borrow(ptr) as borrowed:
        assert borrowed is view and borrowed.data == "data"
    back = ARef.from_foreign(ptr)
    with pytest.raises(Error) as e:
        ARef.from_foreign(ptr)
    assert e.value.errno == code.ENOENT
    back.deref().signal()
    back.close()


def test_fences_in_an_xarray(ctx: DmaFenceCtx) -> None:
    xarray = pytest.importorskip("pyforlinux.xarray")
    xa = xarray.XArray(xarray.AllocKind.Alloc, ARef)
    try:
        with xa.lock() as g:
            for i in range(3):
                g.store(i, ctx.new_fence(i), GFP_KERNEL)
            got = g.get(1)
            assert got is not None and got.data == 1
            removed = g.remove(2)
        assert removed is not None
        removed.deref().signal()
        removed.close()
        with xa.lock() as g:
            view = g.get(0)
            assert view is not None
        seen: list[int] = []
        view.register_callback(None, lambda _d, fence: seen.append(fence.error))
    finally:
        xa.close()  # the fences left are dropped: signalled with ECANCELED and freed
    assert seen == [-code.ECANCELED]
