"""pyforlinux.sync.rcu: read guards, grace periods, call_rcu, RcuBox, on liburcu."""

from __future__ import annotations

import errno
import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyforlinux import types
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_ATOMIC
from pyforlinux.error import Error
from pyforlinux.sync import lockdep, rcu
from pyforlinux.sync.lock.mutex import new_mutex
from pyforlinux.sync.rcu import RcuBox


class Reader(threading.Thread):
    """A thread inside an RCU read section until :meth:`leave`."""

    def __init__(self, body: Callable[[rcu.Guard], Any] | None = None) -> None:
        super().__init__()
        self.body = body
        self.inside = threading.Event()
        self.go = threading.Event()
        self.result: Any = None
        self.start()
        assert self.inside.wait(30)

    def run(self) -> None:
        with rcu.read_lock() as g:
            if self.body is not None:
                self.result = self.body(g)
            self.inside.set()
            self.go.wait(30)

    def leave(self) -> Any:
        self.go.set()
        self.join(30)
        assert not self.is_alive()
        return self.result


def blocked_grace_period() -> threading.Thread:
    """A thread in synchronize_rcu(), shown to be still waiting (bounded)."""
    t = threading.Thread(target=rcu.synchronize_rcu)
    t.start()
    t.join(0.1)
    assert t.is_alive()
    return t


# ---------------------------------------------------------------- read side


def test_guards_nest_and_are_counted() -> None:
    assert not rcu.read_lock_held()
    with rcu.read_lock() as a:
        with rcu.Guard() as b:
            assert lib.pfl_rcu_read_depth() == 2
            assert a.held and b.held
        assert lib.pfl_rcu_read_depth() == 1 and not b.held
        b.unlock()  # idempotent
    assert not rcu.read_lock_held()


def test_a_guard_cannot_move_to_another_thread() -> None:
    out: list[int | None] = []
    with RcuBox(1) as box, rcu.read_lock() as g:

        def other() -> None:
            for use in (g.unlock, lambda: box.with_rcu(g)):
                try:
                    use()
                except Error as e:
                    out.append(e.errno)

        t = threading.Thread(target=other)
        t.start()
        t.join(30)
        assert g.held and rcu.read_lock_held()
    assert out == [errno.EPERM, errno.EPERM]
    with pytest.raises(Error) as e:
        box.with_rcu(g)  # released guard (and closed box)
    assert e.value.errno == errno.EINVAL
    rcu.rcu_barrier()


def test_a_dropped_guard_is_reported_and_unlocked_on_its_thread() -> None:
    with pytest.warns(ResourceWarning, match="RCU read guard"):
        rcu.read_lock()
    assert not rcu.read_lock_held()


# ---------------------------------------------------------------- grace periods


def test_synchronize_rcu_waits_for_a_reader_of_another_thread() -> None:
    r = Reader()
    t = blocked_grace_period()
    r.leave()
    t.join(30)
    assert not t.is_alive()


def test_call_rcu_runs_only_after_the_readers_leave() -> None:
    ran: list[str] = []
    r = Reader()
    rcu.call_rcu(lambda: ran.append("cb"))
    t = blocked_grace_period()
    assert ran == []  # the grace period cannot have ended
    r.leave()
    t.join(30)
    rcu.rcu_barrier()
    assert ran == ["cb"]


def test_callbacks_run_in_queue_order() -> None:
    seen: list[tuple[int, bool]] = []

    def record(i: int) -> None:
        seen.append((i, rcu.read_lock_held()))

    for i in range(5):
        rcu.call_rcu(functools.partial(record, i))
    rcu.rcu_barrier()
    assert seen == [(i, False) for i in range(5)]


@pytest.mark.kernel_warns
def test_a_raising_callback_is_a_warn_and_others_still_run(kernel_clean: Any) -> None:
    ran: list[int] = []

    def bad() -> None:
        raise RuntimeError("callback bug")

    errors = rcu.callback_errors()
    rcu.call_rcu(bad)
    rcu.call_rcu(lambda: ran.append(1))
    rcu.rcu_barrier()
    assert ran == [1]
    assert rcu.callback_errors() == errors + 1
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1


@pytest.mark.kernel_warns
@pytest.mark.lockdep_reports
def test_a_callback_that_sleeps_is_a_might_sleep(kernel_clean: Any) -> None:
    with new_mutex(0) as m:
        rcu.call_rcu(lambda: m.lock().unlock())  # softirq context: must not sleep
        rcu.rcu_barrier()
        assert not m.is_locked()
    ms = lockdep.count(lockdep.ReportKind.MIGHT_SLEEP) - kernel_clean.lockdep["might_sleep"]
    assert ms == 1
    # Strict mode (on under pytest) made the lock raise: a WARN.
    assert lib.pfl_warn_count() == kernel_clean.warnings + int(lockdep.is_strict())


@pytest.mark.lockdep_reports
def test_rcu_barrier_in_a_read_section_raises(kernel_clean: Any) -> None:
    with rcu.read_lock(), pytest.raises(Error) as e:
        rcu.rcu_barrier()
    assert e.value.errno == errno.EDEADLK
    ms = lockdep.count(lockdep.ReportKind.MIGHT_SLEEP) - kernel_clean.lockdep["might_sleep"]
    assert ms == 1


def test_call_rcu_allocation_failure_is_enomem() -> None:
    lib.pfl_fail_nth_set(1)
    with pytest.raises(Error) as e:
        rcu.call_rcu(lambda: None)
    assert e.value.errno == errno.ENOMEM


# ---------------------------------------------------------------- RcuBox


def test_rcu_box_is_freed_only_after_a_reader_of_another_thread_leaves() -> None:
    live = lib.pfl_slab_live_objects()
    dropped: list[list[int]] = []
    box = RcuBox([1, 2, 3], drop=dropped.append)
    node = box.as_ptr()
    assert lib.pfl_slab_live_objects() == live + 1 and lib.pfl_kobj_is_live(node)

    r = Reader(lambda g: box.with_rcu(g))  # found the value in its section
    box.close()  # the owner drops the box: returns at once (call_rcu)
    t = blocked_grace_period()
    rcu.call_rcu(lambda: None)
    # The reader is still inside: neither the node nor the value is freed.
    assert lib.pfl_kobj_is_live(node) and dropped == []
    assert r.result == [1, 2, 3]
    r.leave()
    t.join(30)
    rcu.rcu_barrier()
    assert not lib.pfl_kobj_is_live(node)
    assert lib.pfl_slab_live_objects() == live
    assert dropped == [[1, 2, 3]]


def test_rcu_box_closes_an_owning_value_after_the_grace_period() -> None:
    inner = new_mutex(0)  # a kernel object that the box owns
    with RcuBox(inner) as box:
        assert box.value is inner
    assert not inner.closed  # not yet: after the grace period
    rcu.rcu_barrier()
    assert inner.closed


def test_rcu_box_use_after_close_raises() -> None:
    box = RcuBox("v")
    box.close()
    box.close()
    with pytest.raises(Error) as e:
        _ = box.value
    assert e.value.errno == errno.EINVAL
    with rcu.read_lock() as g, pytest.raises(Error) as e:
        box.with_rcu(g)
    assert e.value.errno == errno.EINVAL
    rcu.rcu_barrier()


def test_rcu_box_foreign_ownership_and_rcu_borrow() -> None:
    box = RcuBox({"k": 1}, GFP_ATOMIC)
    ptr = box.into_foreign()
    assert ffi.typeof(ptr) is ffi.typeof("void *")
    assert types.from_foreign(RcuBox, ptr) is box  # the generic protocol
    ptr = box.into_foreign()
    for use in (lambda: box.value, box.close, box.into_foreign):
        with pytest.raises(Error) as e:
            use()  # C owns it now
        assert e.value.errno == errno.EINVAL
    with RcuBox.borrow(ptr) as v:
        assert v == {"k": 1}
        with pytest.raises(Error) as e:
            RcuBox.borrow_mut(ptr)
        assert e.value.errno == errno.EBUSY
    b = RcuBox.borrow(ptr)
    with pytest.raises(Error) as e:
        RcuBox.from_foreign(ptr)  # still borrowed
    assert e.value.errno == errno.EBUSY
    b.release()

    r = Reader(lambda g: RcuBox.rcu_borrow(ptr, g))
    back = RcuBox.try_from_foreign(ptr)
    assert back is box and RcuBox.try_from_foreign(ffi.NULL) is None
    with pytest.raises(Error) as e:
        RcuBox.from_foreign(ptr)  # not foreign any more
    assert e.value.errno == errno.ENOENT
    back.close()
    with rcu.read_lock() as g:
        # Within the grace period, a reader holding the pointer may still borrow.
        assert RcuBox.rcu_borrow(ptr, g) == {"k": 1}
    assert r.leave() == {"k": 1}
    rcu.rcu_barrier()
    with rcu.read_lock() as g, pytest.raises(Error) as e:
        RcuBox.rcu_borrow(ptr, g)
    assert e.value.errno == errno.EINVAL
    for bad, err in ((ffi.NULL, errno.EINVAL), (0x1230, errno.ENOENT)):
        with pytest.raises(Error) as e:
            RcuBox.from_foreign(bad)
        assert e.value.errno == err


def test_rcu_box_flags_and_allocation_failure() -> None:
    with pytest.raises(Error) as e:
        RcuBox(1, 0)  # type: ignore[arg-type]
    assert e.value.errno == errno.EINVAL
    lib.pfl_fail_nth_set(1)
    with pytest.raises(Error) as e:
        RcuBox(1)
    assert e.value.errno == errno.ENOMEM


def test_an_unclosed_rcu_box_is_a_reported_leak() -> None:
    box = RcuBox(1)
    node = box.as_ptr()
    with pytest.warns(ResourceWarning, match="RcuBox"):
        del box
    assert lib.pfl_kobj_is_live(node)  # reported, not freed
    lib.pfl_kfree(node, 0)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8))
def test_no_box_closed_during_a_read_section_is_freed_before_it_ends(
    close_early: list[bool],
) -> None:
    """Boxes closed while a reader is inside (True) stay allocated until it
    leaves; the others (closed after it left) are freed after a barrier."""
    live = lib.pfl_slab_live_objects()
    boxes = [RcuBox(i) for i in range(len(close_early))]
    nodes = [b.as_ptr() for b in boxes]
    r = Reader()
    for b, early in zip(boxes, close_early, strict=True):
        if early:
            b.close()
    t = blocked_grace_period()
    assert all(lib.pfl_kobj_is_live(n) for n in nodes)
    r.leave()
    t.join(30)
    for b in boxes:
        b.close()
    rcu.rcu_barrier()
    assert not any(lib.pfl_kobj_is_live(n) for n in nodes)
    assert lib.pfl_slab_live_objects() == live


@pytest.mark.lockdep_reports
def test_every_callback_of_a_batch_runs_with_preemption_disabled(kernel_clean: Any) -> None:
    # The callback thread runs a batch of cookies (up to 64) in one
    # preempt-disabled section: each callable, the last of a batch
    # included, is still in atomic context (a sleep is reported).
    n = 150
    threads: set[str] = set()

    def sleepy() -> None:
        threads.add(threading.current_thread().name)
        try:
            lockdep.might_sleep("an RCU callback")
        except Error as e:  # strict mode: reported and raised
            assert e.errno == errno.EDEADLK

    for _ in range(n):
        rcu.call_rcu(sleepy)
    rcu.rcu_barrier()
    ms = lockdep.count(lockdep.ReportKind.MIGHT_SLEEP) - kernel_clean.lockdep["might_sleep"]
    assert ms == n and threads == {"pfl-rcu-cb"}
    # Preemption is enabled again between batches: nothing leaks to the
    # next callback's context beyond its own section.
    rcu.call_rcu(lambda: None)
    rcu.rcu_barrier()


def test_rcu_borrow_finds_a_box_once_its_address_was_handed_out() -> None:
    # A box enters rcu_borrow()'s table when its address leaves it
    # (as_ptr, into_foreign), not at creation; a box never exposed costs no
    # table entry, and one exposed is found until its grace period ends.
    quiet = RcuBox("quiet")
    assert not quiet._exposed and all(b is not quiet for b in rcu._boxes.values())
    quiet.close()
    box = RcuBox("seen")
    ptr = box.as_ptr()
    assert box._exposed and rcu._boxes[int(ffi.cast("uintptr_t", ptr))] is box
    with rcu.read_lock() as g:
        assert RcuBox.rcu_borrow(ptr, g) == "seen"
        box.close()
        assert RcuBox.rcu_borrow(ptr, g) == "seen"  # within the grace period
    rcu.rcu_barrier()
    with rcu.read_lock() as g, pytest.raises(Error) as e:
        RcuBox.rcu_borrow(ptr, g)
    assert e.value.errno == errno.EINVAL


def test_rcu_box_close_and_into_foreign_claim_once() -> None:
    # The claims (no lock, GIL-serialised): a closed box cannot go to C, a
    # foreign box cannot be closed, and a refused claim changes nothing.
    box = RcuBox(1)
    box.close()
    with pytest.raises(Error) as e:
        box.into_foreign()
    assert e.value.errno == errno.EINVAL and box.closed
    box.close()  # idempotent
    other = RcuBox(2)
    ptr = other.into_foreign()
    with pytest.raises(Error) as e:
        other.close()
    assert e.value.errno == errno.EINVAL and not other.closed
    assert RcuBox.from_foreign(ptr) is other
    other.close()
    rcu.rcu_barrier()


def test_a_box_part_of_another_owner_has_no_leak_report_of_its_own() -> None:
    # RcuBox._part_of: the owner (a fence allocation) reports the leak.
    import gc
    import warnings

    box = RcuBox._part_of(1)
    node = box.as_ptr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del box
        gc.collect()
    lib.pfl_kfree(node, 0)
    closed = RcuBox._part_of(Closer())
    value = closed.value
    closed.close()
    rcu.rcu_barrier()
    assert value.closed


class Closer:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True
