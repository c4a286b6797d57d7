"""The lock-order validator, driven through the safe layer: inversions found
without a deadlock, both Python acquisition sites in the report, strict
mode, recursion, might_sleep, lock classes."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error
from pyforlinux.sync import lockdep, rcu
from pyforlinux.sync.condvar import CondVar
from pyforlinux.sync.lock import Lock
from pyforlinux.sync.lock.mutex import Mutex, new_mutex
from pyforlinux.sync.lock.spinlock import SpinLock, new_spinlock
from pyforlinux.sync.lockdep import LockClassKey, ReportKind
from tests.threads import run_in_thread

K = ReportKind


def delta(before: Any, kind: ReportKind) -> int:
    """How many reports of ``kind`` since the fixture's snapshot."""
    return lockdep.count(kind) - int(before.lockdep[kind.name.lower()])


class Pair:
    """Two mutexes with their own dynamic classes, released afterwards."""

    def __init__(self) -> None:
        self.ka = LockClassKey.new_dynamic("lock_A")
        self.kb = LockClassKey.new_dynamic("lock_B")
        self.a: Mutex[int] = Mutex(0, "A", self.ka)
        self.b: Mutex[int] = Mutex(0, "B", self.kb)

    def close(self) -> None:
        self.a.close()
        self.b.close()
        self.ka.close()
        self.kb.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    p = Pair()
    yield p
    p.close()


def take_ab(p: Pair) -> None:
    with p.a.lock():
        with p.b.lock():  # site: take_ab, B
            pass


def take_ba(p: Pair) -> None:
    with p.b.lock():
        with p.a.lock():  # site: take_ba, A
            pass


def line_of(fn: Callable[..., Any], text: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ---------------------------------------------------------------- inversions


@pytest.mark.lockdep_reports
def test_abba_is_found_without_a_deadlock_and_names_both_python_sites(
    kernel_clean: Any, pair: Pair
) -> None:
    with lockdep.strict_mode(True):
        run_in_thread(lambda: take_ab(pair))  # A then B, finished
        with pytest.raises(Error) as e:
            run_in_thread(lambda: take_ba(pair))  # B then A, later, another thread
    assert e.value.errno == errno.EDEADLK
    assert delta(kernel_clean, K.INVERSION) == 1
    report = str(e.value)
    assert "possible circular locking dependency" in report
    ab = line_of(take_ab, "site: take_ab")
    ba = line_of(take_ba, "site: take_ba")
    assert f"test_lockdep.py:{ba} in take_ba" in report  # the new acquisition
    assert f"test_lockdep.py:{ab} in take_ab" in report  # the known reverse order
    assert f"test_lockdep.py:{ab - 1} in take_ab" in report  # where A was held
    assert "lock_A" in report and "lock_B" in report
    assert report.endswith(lockdep.last_report())
    # Refused before blocking: nothing stays held, the locks are usable.
    assert not pair.a.is_locked() and not pair.b.is_locked()


@pytest.mark.lockdep_reports
def test_without_strict_mode_an_inversion_is_reported_and_the_lock_taken(
    kernel_clean: Any, pair: Pair
) -> None:
    with lockdep.strict_mode(False):
        take_ab(pair)
        take_ba(pair)  # no exception: only the report
    assert delta(kernel_clean, K.INVERSION) == 1
    assert "take_ba" in lockdep.thread_last_report()


def test_consistent_order_is_never_reported(pair: Pair) -> None:
    with lockdep.strict_mode(True):
        for _ in range(3):
            run_in_thread(lambda: take_ab(pair))
            take_ab(pair)


def test_disabled_validation_records_no_order(pair: Pair) -> None:
    lockdep.set_enabled(False)
    try:
        take_ab(pair)
        take_ba(pair)
    finally:
        lockdep.set_enabled(True)
    assert lockdep.is_enabled()


@pytest.mark.lockdep_reports
def test_an_inversion_through_three_classes(kernel_clean: Any) -> None:
    keys = [LockClassKey.new_dynamic(f"chain{i}") for i in range(3)]
    locks = [Mutex(0, f"L{i}", k) for i, k in enumerate(keys)]
    try:

        def nest(i: int, j: int) -> None:
            with locks[i].lock(), locks[j].lock():
                pass

        nest(0, 1)
        nest(1, 2)
        with pytest.raises(Error) as e:
            nest(2, 0)  # closes 0 -> 1 -> 2 -> 0
        assert e.value.errno == errno.EDEADLK
        assert str(e.value).count("and then took") == 2  # both known edges listed
        assert delta(kernel_clean, K.INVERSION) == 1
    finally:
        for lock in locks:
            lock.close()
        for k in keys:
            k.close()


@pytest.mark.lockdep_reports
def test_strict_mode_does_not_raise_for_another_threads_report(
    kernel_clean: Any, pair: Pair
) -> None:
    with lockdep.strict_mode(False):
        take_ab(pair)
        run_in_thread(lambda: take_ba(pair))  # the report is the other thread's
    with lockdep.strict_mode(True):
        with new_mutex(0) as m, m.lock():
            pass
    assert delta(kernel_clean, K.INVERSION) == 1


# ---------------------------------------------------------------- recursion


def test_locking_a_held_lock_again_is_refused_in_python() -> None:
    with new_spinlock(0) as s, s.lock():
        with pytest.raises(Error) as e:
            s.lock()
        assert e.value.errno == errno.EDEADLK


@pytest.mark.lockdep_reports
def test_nesting_two_locks_of_one_class_is_reported(kernel_clean: Any) -> None:
    locks = [new_mutex(i) for i in range(2)]  # one line: one class
    try:
        assert locks[0].key is locks[1].key
        with locks[0].lock():
            with pytest.raises(Error) as e:
                locks[1].lock()
        assert e.value.errno == errno.EDEADLK
        assert "possible recursive locking" in str(e.value)
        assert delta(kernel_clean, K.RECURSION) == 1
        # Distinct keys make it legal.
        with LockClassKey.new_dynamic() as k, Mutex(0, "other", k) as other:
            with locks[0].lock(), other.lock():
                pass
    finally:
        for lock in locks:
            lock.close()


# ---------------------------------------------------------------- might_sleep


@pytest.mark.lockdep_reports
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_taking_a_mutex_under_a_spinlock_is_a_might_sleep(
    kernel_clean: Any, strict: bool
) -> None:
    with new_spinlock(0) as s, new_mutex(0) as m, lockdep.strict_mode(strict):
        with s.lock():
            if strict:
                with pytest.raises(Error) as e:
                    m.lock()
                assert e.value.errno == errno.EDEADLK
                assert "sleeping function called from invalid context" in str(e.value)
                assert "test_lockdep.py" in str(e.value)  # the Python site
                assert not m.is_locked()
            else:
                with m.lock():
                    pass
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 1


@pytest.mark.lockdep_reports
def test_msleep_under_a_spinlock_is_reported_by_c(kernel_clean: Any) -> None:
    with new_spinlock(0) as s:
        with s.lock():
            lib.msleep(1)
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 1
    assert "spinlocks held: test_lockdep.py" in lockdep.last_report()


@pytest.mark.lockdep_reports
def test_synchronize_rcu_in_a_read_section_raises_in_any_mode(kernel_clean: Any) -> None:
    for strict in (True, False):
        with lockdep.strict_mode(strict), rcu.read_lock():
            with pytest.raises(Error) as e:
                rcu.synchronize_rcu()
            assert e.value.errno == errno.EDEADLK
            assert "rcu_read_lock depth: 1" in str(e.value)
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 2


@pytest.mark.lockdep_reports
def test_a_mutex_in_an_rcu_read_section_is_a_might_sleep(kernel_clean: Any) -> None:
    with new_mutex(0) as m, lockdep.strict_mode(True):
        with rcu.read_lock():
            with pytest.raises(Error) as e:
                m.lock()
        assert e.value.errno == errno.EDEADLK
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 1


@pytest.mark.lockdep_reports
def test_waiting_on_a_condvar_in_an_rcu_read_section_is_refused(kernel_clean: Any) -> None:
    with new_spinlock(0) as s, CondVar() as cv, lockdep.strict_mode(True):
        with s.lock() as g, rcu.read_lock():
            with pytest.raises(Error) as e:
                cv.wait_interruptible_timeout(g, 1)
            assert e.value.errno == errno.EDEADLK
            assert "waiting on CondVar" in str(e.value)
            assert s.is_held()  # re-taken after the refusal
        assert cv.waiters == 0
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 1


@pytest.mark.lockdep_reports
def test_might_sleep_helper(kernel_clean: Any) -> None:
    lockdep.might_sleep()  # fine here
    with new_spinlock(0) as s, s.lock(), lockdep.strict_mode(True):
        with pytest.raises(Error) as e:
            lockdep.might_sleep("sleeping on purpose")
        assert "sleeping on purpose" in str(e.value)
    assert delta(kernel_clean, K.MIGHT_SLEEP) == 1


# ---------------------------------------------------------------- classes and API


def test_dynamic_keys_are_unregistered_on_close_and_refuse_while_used() -> None:
    key = LockClassKey.new_dynamic("dyn")
    before = lib.pfl_slab_live_objects()
    m = Mutex(0, "m", key)
    with pytest.raises(Error) as e:
        key.close()
    assert e.value.errno == errno.EBUSY
    with m.lock():
        pass
    m.close()
    assert lib.pfl_slab_live_objects() == before
    key.close()
    key.close()
    assert lib.pfl_slab_live_objects() == before - 1  # the kmalloc'd key
    with pytest.raises(Error) as e:
        Mutex(0, "late", key)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(Error) as e:
        lockdep.static_lock_class().close()
    assert e.value.errno == errno.EINVAL


@pytest.mark.lockdep_reports
def test_unregistering_a_key_forgets_its_order(kernel_clean: Any) -> None:
    ka = LockClassKey.new_dynamic("forget_A")
    with new_mutex(0) as b:
        a = Mutex(0, "a", ka)
        with a.lock(), b.lock():
            pass  # a -> b
        a.close()
        ka.close()  # forgets a's class and its edge
        with LockClassKey.new_dynamic("forget_A2") as ka2, Mutex(0, "a2", ka2) as a2:
            with lockdep.strict_mode(True), b.lock(), a2.lock():
                pass  # b -> a2: no inversion, a's edge is gone
    assert delta(kernel_clean, K.INVERSION) == 0


def test_counts_and_switches() -> None:
    assert set(lockdep.counts()) == {"inversion", "recursion", "might_sleep", "bad_unlock"}
    assert lockdep.nr_classes() > 0
    old = lockdep.is_strict()
    lockdep.set_strict(not old)
    assert lockdep.is_strict() is (not old)
    lockdep.set_strict(old)
    assert lockdep.is_strict() is old
    with new_mutex(0) as m, m.lock():
        assert lockdep.held_depth() == 1
    assert lockdep.held_depth() == 0


def test_acquire_site_names_the_user_frame() -> None:
    site = lockdep.acquire_site()
    assert site.startswith("test_lockdep.py:")
    assert " in test_acquire_site_names_the_user_frame" in site
    assert len(site.encode()) <= 159


# ---------------------------------------------------------------- the validator as a model


def reaches(edges: set[tuple[int, int]], src: int, dst: int) -> bool:
    todo, seen = [src], {src}
    while todo:
        n = todo.pop()
        if n == dst:
            return True
        for a, b in edges:
            if a == n and b not in seen:
                seen.add(b)
                todo.append(b)
    return False


@pytest.mark.lockdep_reports
@settings(max_examples=40, deadline=None)
@given(
    strict=st.booleans(),
    nestings=st.lists(
        st.lists(st.integers(0, 3), min_size=2, max_size=4, unique=True), max_size=8
    ),
)
def test_the_validator_reports_exactly_the_cycles_of_a_model(
    strict: bool, nestings: list[list[int]]
) -> None:
    """Each nesting takes its locks in order, then releases them. The model
    replays runtime/lockdep.c's rule: taking c while holding h1..hk, for each
    h: a known edge h->c is skipped; if c already reaches h it is an
    inversion report (and no edge); else the edge h->c is recorded."""
    keys = [LockClassKey.new_dynamic(f"model{i}") for i in range(4)]
    locks: list[Lock[int, Any]] = [
        (Mutex if i % 2 else SpinLock)(0, f"m{i}", keys[i]) for i in range(4)
    ]
    edges: set[tuple[int, int]] = set()
    try:
        with lockdep.strict_mode(strict):
            for order in nestings:
                held: list[int] = []
                guards = []
                for c in order:
                    reports = 0
                    for h in held:
                        if (h, c) in edges:
                            continue
                        if reaches(edges, c, h):
                            reports += 1
                        else:
                            edges.add((h, c))
                    before = lockdep.thread_count(K.INVERSION)
                    sleeping_under_spin = isinstance(locks[c], Mutex) and any(
                        isinstance(locks[h], SpinLock) for h in held
                    )
                    ms_before = lockdep.thread_count(K.MIGHT_SLEEP)
                    try:
                        guards.append(locks[c].lock())
                        took = True
                    except Error as e:
                        assert e.errno == errno.EDEADLK
                        took = False
                    assert lockdep.thread_count(K.INVERSION) - before == reports
                    assert lockdep.thread_count(K.MIGHT_SLEEP) - ms_before == int(
                        sleeping_under_spin
                    )
                    # Strict mode refuses exactly the reported acquisitions.
                    assert took == (not strict or (reports == 0 and not sleeping_under_spin))
                    if not took:
                        break
                    held.append(c)
                for g in reversed(guards):
                    g.unlock()
    finally:
        for lock in locks:
            lock.close()
        for k in keys:
            k.close()


# ---------------------------------------------------------------- subclasses (kernel C)


@pytest.mark.lockdep_reports
def test_a_held_lock_keeps_the_subclass_it_was_taken_with(kernel_clean: Any) -> None:
    """spin_lock_nested() in C: a lock held as K/1 stays K/1. Holding b as K/1
    and then taking c as K/0, after a (K/0) then b (K/1) was seen, closes
    K/0 -> K/1 -> K/0: an inversion, as in the kernel (not a recursion)."""
    with LockClassKey.new_dynamic("nested_K") as key:
        names = [ffi.new("char[]", n) for n in (b"a", b"b", b"c")]
        a, b, c = (ffi.new("spinlock_t *") for _ in range(3))
        for lock, name in zip((a, b, c), names, strict=True):
            lib.pfl_spin_lock_init(lock, name, key.as_ptr())
        lib.pfl_spin_lock(a, 0, 0)
        lib.pfl_spin_lock(b, 1, 0)  # spin_lock_nested(b, SINGLE_DEPTH_NESTING)
        lib.pfl_spin_unlock(a, 0)
        lib.pfl_spin_lock(c, 0, 0)  # holding b (K/1): K/1 -> K/0 closes the cycle
        lib.pfl_spin_unlock(c, 0)
        lib.pfl_spin_unlock(b, 0)
    assert delta(kernel_clean, K.RECURSION) == 0
    assert delta(kernel_clean, K.INVERSION) == 1
    assert "nested_K/1" in lockdep.last_report()
