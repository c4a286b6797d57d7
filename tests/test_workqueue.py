"""pyforlinux.workqueue over the runtime's C workqueue (issue 13)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyforlinux import workqueue as wq
from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync.completion import Completion
from pyforlinux.sync.lock.mutex import new_mutex
from pyforlinux.time import Delta


class Item(wq.WorkItem):
    def __init__(self, name: str = "Item::work") -> None:
        self.runs = 0
        self.threads: list[str] = []
        self.started = Completion()
        self.release = Completion()
        self.block = False
        self.work = wq.new_work(name)

    def run(self) -> None:
        self.runs += 1
        self.threads.append(threading.current_thread().name)
        self.started.complete()
        if self.block:
            self.release.wait_for_completion()


def test_enqueue_runs_once_on_a_worker_and_returns_whether_queued() -> None:
    it = Item()
    it.block = True
    assert wq.system().enqueue(it) is True
    it.started.wait_for_completion()
    assert it.work.is_running()
    # Running is not pending: queued again, it runs once more afterwards.
    assert wq.system().enqueue(it) is True
    assert wq.system().enqueue(it) is False  # pending: queued once
    it.block = False
    it.release.complete_all()
    it.work.flush()  # True if it still had to wait
    assert it.runs == 2
    assert threading.current_thread().name not in it.threads
    assert it.work.flush() is False  # idle


def test_a_pending_work_is_queued_once() -> None:
    q = wq.Queue.alloc_ordered("wq-once")
    blocker = Item("blocker")
    blocker.block = True
    it = Item()
    try:
        q.enqueue(blocker)
        blocker.started.wait_for_completion()
        assert q.enqueue(it) is True
        assert q.enqueue(it) is False
        assert it.work.is_pending()
        blocker.release.complete_all()
        q.flush()
        assert it.runs == 1 and not it.work.is_pending()
    finally:
        blocker.release.complete_all()
        q.destroy()


def test_ordered_queue_runs_in_queueing_order_one_at_a_time() -> None:
    order: list[int] = []
    running = [0]
    peak = [0]
    lock = threading.Lock()

    class Step(wq.WorkItem):
        def __init__(self, i: int) -> None:
            self.i = i
            self.work = wq.new_work("Step::work")

        def run(self) -> None:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            order.append(self.i)
            with lock:
                running[0] -= 1

    with wq.Queue.alloc_ordered("wq-ordered") as q:
        steps = [Step(i) for i in range(50)]
        for s in steps:
            assert q.enqueue(s)
        q.flush()
    assert order == list(range(50))
    assert peak[0] == 1


def test_unbound_queue_runs_works_concurrently() -> None:
    a, b = Item("a"), Item("b")
    a.block = b.block = True
    with wq.Queue.alloc("wq-unbound", wq.WQ_UNBOUND, 4) as q:
        q.enqueue(a)
        q.enqueue(b)
        a.started.wait_for_completion()
        b.started.wait_for_completion()  # both running at once
        a.release.complete_all()
        b.release.complete_all()


def test_destroy_drains_and_later_enqueue_is_enodev() -> None:
    q = wq.Queue.alloc("wq-destroy")
    items = [Item() for _ in range(10)]
    for it in items:
        q.enqueue(it)
    q.destroy()
    assert all(it.runs == 1 for it in items)
    with pytest.raises(Error) as e:
        q.enqueue(Item())
    assert e.value.errno == code.ENODEV
    q.destroy()  # idempotent


def test_destroy_accepts_works_queued_by_its_own_works() -> None:
    q = wq.Queue.alloc("wq-chain")
    second = Item("second")

    class First(wq.WorkItem):
        def run(self) -> None:
            q.enqueue(second)

    q.enqueue(First())
    q.destroy()
    assert second.runs == 1


def test_delayed_work_runs_after_its_delay_and_flush_runs_it_now() -> None:
    it = Item()
    with wq.Queue.alloc("wq-delayed") as q:
        assert q.enqueue_delayed(it, Delta.from_secs(3600)) is True
        assert q.enqueue_delayed(it, Delta.from_millis(1)) is False  # pending
        assert it.work.is_pending() and it.runs == 0
        assert it.work.flush() is True  # queued at once
        assert it.runs == 1
        assert q.enqueue_delayed(it, Delta.from_millis(1))
        it.started.wait_for_completion()
        it.started.wait_for_completion()
        it.work.flush()
        assert it.runs == 2


def test_cancel_takes_a_pending_work_off_its_queue_or_timer() -> None:
    it = Item()
    with wq.Queue.alloc("wq-cancel") as q:
        q.enqueue_delayed(it, Delta.from_secs(3600))
        assert it.work.cancel() is True
        assert not it.work.is_pending()
        assert it.work.cancel() is False
        q.enqueue_delayed(it, Delta.from_secs(3600))
        assert it.work.cancel_sync() is True
    assert it.runs == 0


def test_destroy_cancels_works_still_waiting_for_their_delay() -> None:
    it = Item()
    q = wq.Queue.alloc("wq-destroy-delayed")
    q.enqueue_delayed(it, Delta.from_secs(3600))
    q.destroy()
    assert not it.work.is_pending() and it.runs == 0


def test_cancel_sync_waits_for_a_running_self_requeueing_work() -> None:
    q = wq.Queue.alloc("wq-requeue")
    started = Completion()
    runs = [0]

    class Again(wq.WorkItem):
        def run(self) -> None:
            runs[0] += 1
            started.complete()
            q.enqueue(self)  # re-queues itself forever

    a = Again()
    q.enqueue(a)
    started.wait_for_completion()
    a.work.cancel_sync()
    n = runs[0]
    assert not a.work.is_pending() and not a.work.is_running()
    q.destroy()
    assert runs[0] == n


def test_try_spawn_runs_a_closure() -> None:
    done = Completion()
    wq.system_unbound().try_spawn(done.complete)
    done.wait_for_completion()


def test_system_queues_exist_and_cannot_be_destroyed() -> None:
    for f in (wq.system, wq.system_highpri, wq.system_long, wq.system_unbound,
              wq.system_freezable, wq.system_power_efficient,
              wq.system_freezable_power_efficient, wq.system_bh, wq.system_bh_highpri,
              wq.system_percpu, wq.system_dfl):
        assert f().as_raw() != ffi.NULL
    assert wq.system_percpu().as_raw() == wq.system().as_raw()
    assert wq.system_dfl().as_raw() == wq.system_unbound().as_raw()
    with pytest.raises(Error) as e:
        wq.system().destroy()
    assert e.value.errno == code.EPERM


@pytest.mark.kernel_warns
def test_run_exception(kernel_clean: Any) -> None:
    class Boom(wq.WorkItem):
        def run(self) -> None:
            raise ValueError("boom")

    b = Boom()
    wq.system().enqueue(b)
    with pytest.raises(ValueError, match="boom"):
        b.work.flush()
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1


@pytest.mark.lockdep_reports
def test_flush_under_a_lock_the_work_takes_is_reported() -> None:
    m = new_mutex(0, "wq-test-lock")
    ran = Completion()

    class Locker(wq.WorkItem):
        def __init__(self) -> None:
            self.work = wq.new_work("Locker::work")

        def run(self) -> None:
            with m.lock():
                pass
            ran.complete()

    it = Locker()
    before = lockdep.counts()["inversion"]
    wq.system().enqueue(it)
    ran.wait_for_completion()
    it.work.flush()
    with m.lock():
        it.work.flush()  # work -> lock known; lock -> work now: a cycle
    assert lockdep.counts()["inversion"] == before + 1
    assert "Locker::work" in lockdep.last_report()
    m.close()


def test_flush_from_inside_its_own_work_is_edeadlk() -> None:
    got: list[BaseException] = []

    class Self(wq.WorkItem):
        def run(self) -> None:
            for op in (self.work.flush, self.work.cancel_sync):
                try:
                    op()
                except Error as e:
                    got.append(e)

    s = Self()
    wq.system().enqueue(s)
    s.work.flush()
    assert [e.errno for e in got] == [code.EDEADLK, code.EDEADLK]


def test_flushing_a_queue_from_its_own_work_is_edeadlk() -> None:
    got: list[int] = []
    q = wq.Queue.alloc("wq-self")

    class W(wq.WorkItem):
        def run(self) -> None:
            for op in (q.flush, q.drain, q.destroy):
                try:
                    op()
                except Error as e:
                    got.append(e.errno)

    w = W()
    q.enqueue(w)
    w.work.flush()
    q.destroy()
    assert got == [code.EDEADLK] * 3


def test_bad_delays_and_items() -> None:
    it = Item()
    for d, err in ((Delta(-1), code.EINVAL), (Delta.from_secs(1 << 62), code.ERANGE)):
        with pytest.raises(Error) as e:
            wq.system().enqueue_delayed(it, d)
        assert e.value.errno == err
    with pytest.raises(TypeError):
        wq.system().enqueue(object())  # type: ignore[arg-type]
    other = Item()
    other.work = it.work
    wq.system().enqueue(it)
    it.work.flush()
    with pytest.raises(Error) as e:
        wq.system().enqueue(other)
    assert e.value.errno == code.EINVAL
    for bad in ((("",), {}), (("x",), {"max_active": -1}), (("x",), {"max_active": 100000})):
        with pytest.raises(Error):
            wq.Queue.alloc(*bad[0], **bad[1])  # type: ignore[arg-type]


def test_docs_sample() -> None:
    """The example of docs/rust-to-python.md, section kernel::workqueue."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parent.parent / "docs" / "rust-to-python.md").read_text()
    section = text[text.index("## `kernel::workqueue`"):text.index("## `kernel::time`")]
    code_block = re.search(r"```python\n(.*?)```", section, re.S)
    assert code_block is not None
    exec(compile(code_block.group(1), "rust-to-python.md", "exec"), {})


def test_a_finished_item_is_not_kept_alive() -> None:
    import gc
    import weakref

    it = Item()
    wq.system().enqueue(it)
    it.work.flush()
    ref = weakref.ref(it)
    del it
    gc.collect()
    assert ref() is None


@pytest.mark.kernel_warns
@pytest.mark.lockdep_reports
def test_c_callers_waiting_for_themselves_get_a_warn_not_a_hang(kernel_clean: Any) -> None:
    """The raw C calls, bypassing the safe layer's EDEADLK: where the kernel
    would wait for itself forever, the runtime WARNs (and the validator
    reports the self-flush as lockdep does) and returns."""
    out: dict[str, Any] = {}
    q = wq.Queue.alloc("wq-raw-self")

    class Raw(wq.WorkItem):
        def run(self) -> None:
            w = self.work._work()
            out["flush"] = bool(lib.flush_work(w))
            out["cancel"] = bool(lib.cancel_work_sync(w))
            getattr(lib, "__flush_workqueue")(q.as_raw())
            lib.destroy_workqueue(q.as_raw())  # returns: still alive afterwards

    before = lockdep.counts()["recursion"]
    r = Raw()
    q.enqueue(r)
    r.work.flush()
    q.destroy()
    assert out == {"flush": False, "cancel": False}
    assert lib.pfl_warn_count() == kernel_clean.warnings + 4
    assert lockdep.counts()["recursion"] >= before + 1
    assert lib.pfl_lockdep_depth() == 0


@pytest.mark.kernel_warns
def test_c_hrtimer_cancel_from_its_callback_warns_and_returns(kernel_clean: Any) -> None:
    from pyforlinux.time.hrtimer import HrTimer

    out: list[int] = []
    done = Completion()

    def cb(ctx: Any) -> None:
        out.append(int(lib.hrtimer_cancel(t._raw_timer())))
        done.complete()

    t = HrTimer(cb)
    t.start(Delta.ZERO)
    done.wait_for_completion()
    t.close()
    assert out == [-1]
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1


def test_c_disable_enable_and_mod_delayed_work() -> None:
    """disable_work()/enable_work() and mod_delayed_work() of the C API
    (used by drivers/gpu/drm): a disabled work is not queued."""
    it = Item()
    q = wq.Queue.alloc("wq-disable")
    try:
        dw = it.work._raw()
        w = it.work._work()
        cpu = lib.WORK_CPU_UNBOUND
        assert lib.queue_delayed_work_on(cpu, q.as_raw(), dw, 3_600_000)
        assert lib.disable_delayed_work_sync(dw) is True  # was pending: cancelled
        assert lib.queue_work_on(cpu, q.as_raw(), w) is False
        assert not it.work.is_pending()
        assert lib.disable_work(w) is False  # depth 2
        assert lib.enable_work(w) is False
        assert lib.mod_delayed_work_on(cpu, q.as_raw(), dw, 0) is False
        assert lib.enable_work(w) is True
        assert q.enqueue_delayed(it, Delta.from_secs(3600))
        assert lib.mod_delayed_work_on(cpu, q.as_raw(), dw, 0) is True  # re-timed: now
        it.started.wait_for_completion()
        it.work.flush()
        assert it.runs == 1
    finally:
        q.destroy()


def test_a_declare_work_static_work_runs_and_is_validated_as_its_own_class() -> None:
    """DECLARE_WORK() gives the lockdep map a static object as key; the
    runtime keys it on first use instead of writing into that object."""
    w = lib.pfl_static_work_get()
    n = lib.pfl_static_work_runs()
    sysq = wq.system().as_raw()
    for _ in range(3):
        assert lib.queue_work_on(lib.WORK_CPU_UNBOUND, sysq, w)
        lib.flush_work(w)
    assert lib.pfl_static_work_runs() == n + 3
    assert lib.pfl_work_pending(w) == 0


@pytest.mark.lockdep_reports
def test_flush_workqueue_under_a_lock_a_work_takes_is_reported() -> None:
    m = new_mutex(0, "wq-test-qlock")

    class Locker(wq.WorkItem):
        def __init__(self) -> None:
            self.work = wq.new_work("QLocker::work")

        def run(self) -> None:
            with m.lock():
                pass

    before = lockdep.counts()["inversion"]
    with wq.Queue.alloc("wq-flush-lock") as q:
        it = Locker()
        q.enqueue(it)
        q.flush()
        with m.lock():
            q.flush()  # queue -> work -> lock known; lock -> queue now
    assert lockdep.counts()["inversion"] == before + 1
    assert "wq-flush-lock" in lockdep.last_report()
    m.close()
