"""pyforlinux.sync.lock: Mutex, SpinLock, guards, GlobalLock, LockedBy, over the
runtime's real C locks."""

from __future__ import annotations

import errno
import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock import Guard, Lock
from pyforlinux.sync.lock.global_lock import GlobalLock, GlobalLockedBy
from pyforlinux.sync.lock.mutex import Mutex, MutexBackend, new_mutex
from pyforlinux.sync.lock.spinlock import SpinLock, SpinLockBackend, new_spinlock
from pyforlinux.sync.locked_by import LockedBy
from tests.conftest import last_warning
from tests.threads import run_in_thread

NEW_LOCK: list[Callable[[Any], Lock[Any, Any]]] = [new_mutex, new_spinlock]
IDS = ["mutex", "spinlock"]


@pytest.fixture
def c_int() -> Iterator[Any]:
    """A kmalloc'd, zeroed C ``int``."""
    raw = lib.pfl_kmalloc(ffi.sizeof("int"), lib.GFP_KERNEL | lib.__GFP_ZERO, 0)
    assert raw != ffi.NULL
    yield ffi.cast("int *", raw)
    lib.pfl_kfree(raw, 0)


def c_is_locked(lock: Lock[Any, Any]) -> bool:
    """What kernel C sees: mutex_is_locked()/spin_is_locked()."""
    if lock.backend is MutexBackend:
        return bool(lib.pfl_sync_mutex_is_locked(lock.as_ptr()))
    return bool(lib.pfl_sync_spin_is_locked(lock.as_ptr()))


def c_assert_held(lock: Lock[Any, Any]) -> bool:
    """Kernel C's lockdep_assert_held() (WARNs if not held) and lockdep_is_held()."""
    if lock.backend is MutexBackend:
        return bool(lib.pfl_sync_mutex_assert_held(lock.as_ptr()))
    return bool(lib.pfl_sync_spin_assert_held(lock.as_ptr()))


# ---------------------------------------------------------------- mutual exclusion


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_threads_hammering_a_c_counter_reach_the_exact_total(
    make: Callable[[Any], Lock[Any, Any]], c_int: Any
) -> None:
    threads, rounds = 4, 300
    with make(None) as lock:
        seen_unheld = []

        def worker() -> None:
            for _ in range(rounds):
                with lock.lock():
                    v = c_int[0]
                    # Let the other threads run between the read and the
                    # write: without the lock, most increments are lost.
                    time.sleep(0)
                    if not c_assert_held(lock) or not c_is_locked(lock):
                        seen_unheld.append(v)
                    c_int[0] = v + 1

        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not any(t.is_alive() for t in ts)
        assert c_int[0] == threads * rounds
        assert seen_unheld == []
        assert not c_is_locked(lock)


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_the_protected_value_is_reached_through_the_guard(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    with make([1]) as lock:
        with lock.lock() as g:
            g.value.append(2)
            g.value = [*g.value, 3]
            assert lock.is_held() and lock.is_locked()
        assert not lock.is_held() and not lock.is_locked()
        with lock.lock() as g:
            assert g.value == [1, 2, 3]


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_kernel_c_sees_the_lock_held_only_while_the_guard_lives(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    with make(0) as lock:
        with lock.lock():
            assert c_is_locked(lock) and c_assert_held(lock)
            lock.assert_is_held()
        assert not c_is_locked(lock)
        with pytest.raises(Error) as e:
            lock.assert_is_held()
        assert e.value.errno == errno.EPERM


@pytest.mark.kernel_warns
def test_c_lockdep_assert_held_warns_when_not_held(kernel_clean: Any) -> None:
    with new_mutex(0) as m:
        assert c_assert_held(m) is False
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    assert "lockdep_assert_held" in last_warning()


def test_a_spinlock_makes_the_task_atomic_while_held() -> None:
    with new_spinlock(0) as s:
        with s.lock():
            assert lockdep.held_depth() >= 1
            # msleep() here would be a might_sleep report: see test_lockdep.
        assert lockdep.held_depth() == 0


# ---------------------------------------------------------------- misuse


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_recursive_locking_raises_edeadlk_before_c(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    # C would BUG (abort the process); the safe layer refuses first, and
    # nothing is reported (the autouse fixture checks the counters).
    with make(0) as lock:
        with lock.lock():
            with pytest.raises(Error) as e:
                lock.lock()
            assert e.value.errno == errno.EDEADLK
            assert "recursive locking" in str(e.value)
            assert lock.try_lock() is None
        assert not lock.is_locked()


class Holder:
    """A thread that takes ``lock`` and holds it until :meth:`release`."""

    def __init__(self, lock: Lock[Any, Any]) -> None:
        self.lock = lock
        self.taken = threading.Event()
        self.go = threading.Event()
        self.guard: Guard[Any, Any] | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        assert self.taken.wait(30)

    def _run(self) -> None:
        with self.lock.lock() as g:
            self.guard = g
            self.taken.set()
            self.go.wait(30)

    def release(self) -> None:
        self.go.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_try_lock_fails_while_another_thread_holds_it(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    with make(0) as lock:
        h = Holder(lock)
        try:
            assert lock.try_lock() is None
            assert lock.is_locked() and not lock.is_held()
            g = h.guard
            assert g is not None
            # The holder's guard is proof for its thread only.
            for use in (g.unlock, lambda: g.value):
                with pytest.raises(Error) as e:
                    use()
                assert e.value.errno == errno.EPERM
        finally:
            h.release()
        g2 = lock.try_lock()
        assert g2 is not None
        g2.unlock()


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_a_guard_used_on_another_thread_raises_eperm(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    with make([]) as lock:
        with lock.lock() as g:
            for use in (lambda: g.value, g.unlock, lambda: g.do_unlocked(lambda: None)):
                with pytest.raises(Error) as e:
                    run_in_thread(use)
                assert e.value.errno == errno.EPERM
            assert lock.is_held()
        with pytest.raises(Error) as e:
            _ = g.value
        assert e.value.errno == errno.EINVAL
        g.unlock()  # idempotent


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_do_unlocked_releases_and_retakes_the_lock(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    with make(0) as lock:
        with lock.lock() as g:

            def other_thread_takes_it() -> int:
                with lock.lock() as g2:
                    g2.value += 1
                    return int(g2.value)

            assert g.do_unlocked(lambda: run_in_thread(other_thread_takes_it)) == 1
            assert lock.is_held() and g.value == 1

            def boom() -> None:
                assert not lock.is_held()
                raise ValueError("boom")

            with pytest.raises(ValueError):
                g.do_unlocked(boom)
            assert lock.is_held()


@pytest.mark.parametrize("make", NEW_LOCK, ids=IDS)
def test_close_refuses_a_held_lock_and_a_closed_lock_refuses_use(
    make: Callable[[Any], Lock[Any, Any]],
) -> None:
    lock = make(0)
    with lock.lock():
        with pytest.raises(Error) as e:
            lock.close()
        assert e.value.errno == errno.EBUSY
    lock.close()
    lock.close()
    assert lock.closed
    for use in (lock.lock, lock.try_lock, lock.as_ptr):
        with pytest.raises(Error) as e:
            use()
        assert e.value.errno == errno.EINVAL


def test_an_unclosed_lock_is_a_reported_leak_and_is_not_freed() -> None:
    m = new_mutex(0)
    ptr = m.as_ptr()
    with pytest.warns(ResourceWarning, match="garbage collected without close"):
        del m
        gc.collect()
    # Reported, not freed (the leak safety net never frees).
    assert lib.pfl_kobj_is_live(ptr)
    lib.pfl_kfree(ptr, 0)


def test_a_dropped_guard_is_reported_and_unlocks_on_its_thread() -> None:
    with new_mutex(0) as m:
        with pytest.warns(ResourceWarning, match="garbage collected with the lock held"):
            m.lock().value = 1  # the guard is dropped at once, still holding
        assert not m.is_locked()
        with m.lock() as g:
            assert g.value == 1


def test_names_default_to_the_callers_file_and_line() -> None:
    line = test_names_default_to_the_callers_file_and_line.__code__.co_firstlineno + 2
    with new_mutex(0) as m, Mutex(0, name="explicit") as n:
        assert m.name == f"test_lock.py:{line}"
        assert m.key is not None and m.key.name == m.name and not m.key.dynamic
        assert n.name == "explicit"
    # One line, one class: locks made at one line share a static key.
    keys = set()
    for _ in range(3):
        with new_spinlock(0) as s:
            assert s.key is not None
            keys.add(id(s.key))
    assert len(keys) == 1


@pytest.mark.parametrize("backend", [MutexBackend, SpinLockBackend], ids=IDS)
def test_from_raw_wraps_a_lock_initialised_in_c(backend: Any) -> None:
    raw = lib.pfl_kmalloc(ffi.sizeof(backend.STATE_TYPE), lib.GFP_KERNEL | lib.__GFP_ZERO, 0)
    name = ffi.new("char[]", b"c_lock")
    ptr = ffi.cast(backend.STATE_TYPE + " *", raw)
    backend.init(ptr, name, ffi.NULL)  # as mutex_init()/spin_lock_init() in C
    try:
        cls = Mutex if backend is MutexBackend else SpinLock
        lock = cls.from_raw(ptr)
        assert lock.name == "c_lock"
        with lock.lock() as g:
            assert g.value is None
            assert backend.dep_map(ptr).owner == lib.pfl_current()
        assert not lock.is_locked()
        lock.close()  # C owns the memory: only forgotten
        assert lib.pfl_kobj_is_live(raw)
        generic = Lock.from_raw(raw, backend, name="generic")
        with generic.lock():
            assert c_is_locked(cls.from_raw(ptr))
        for bad in ((raw, None), (ffi.NULL, backend)):
            with pytest.raises(Error) as e:
                Lock.from_raw(*bad)
            assert e.value.errno == errno.EINVAL
    finally:
        lib.pfl_kfree(raw, 0)


def test_lock_allocation_failure_is_enomem() -> None:
    lib.pfl_fail_nth_set(1)
    with pytest.raises(Error) as e:
        new_mutex(0)
    assert e.value.errno == errno.ENOMEM


# ---------------------------------------------------------------- GlobalLock

COUNTER: GlobalLock[int] = GlobalLock(0, MutexBackend, "COUNTER")
PER_ITEM: GlobalLockedBy[list[int], int] = GlobalLockedBy(COUNTER, [])
OTHER: GlobalLock[int] = GlobalLock(0, SpinLockBackend, "OTHER")


def test_global_lock_must_be_initialised_exactly_once() -> None:
    if not COUNTER.initialized:
        with pytest.raises(Error) as e:
            COUNTER.lock()
        assert e.value.errno == errno.EINVAL and "before init()" in str(e.value)
        COUNTER.init()
    with pytest.raises(Error) as e:
        COUNTER.init()
    assert e.value.errno == errno.EBUSY
    with COUNTER.lock() as g:
        g.value += 1
        PER_ITEM.as_mut(g).append(g.value)
        assert PER_ITEM.as_ref(g)[-1] == g.value
        assert COUNTER.as_lock().is_held()
        assert lib.pfl_sync_mutex_is_locked(COUNTER.as_lock().as_ptr())


def test_global_locked_by_refuses_another_locks_guard() -> None:
    if not OTHER.initialized:
        OTHER.init()
    with OTHER.lock() as g:
        with pytest.raises(Error) as e:
            PER_ITEM.as_ref(g)
        assert e.value.errno == errno.EINVAL and "mismatched owners" in str(e.value)
    with pytest.raises(Error) as e:
        PER_ITEM.set(g, [])
    assert e.value.errno == errno.EINVAL  # released guard


# ---------------------------------------------------------------- LockedBy


class Directory:
    def __init__(self) -> None:
        self.inner: Mutex[dict[str, int]] = new_mutex({"bytes_used": 0})


class File:
    def __init__(self, d: Directory) -> None:
        self.inner: LockedBy[dict[str, int], dict[str, int]] = LockedBy(d.inner, {"bytes": 0})


def test_locked_by_grants_access_only_with_the_owners_guard() -> None:
    d1, d2 = Directory(), Directory()
    f = File(d1)
    try:
        with d1.inner.lock() as g:
            g.value["bytes_used"] += 10
            f.inner.access_mut(g)["bytes"] += 10
            assert f.inner.access(g) == {"bytes": 10}
            with pytest.raises(Error) as e:
                run_in_thread(lambda: f.inner.access(g))
            assert e.value.errno == errno.EPERM
        with pytest.raises(Error) as e:
            f.inner.access(g)
        assert e.value.errno == errno.EINVAL
        with d2.inner.lock() as g2:
            with pytest.raises(Error) as e:
                f.inner.access(g2)
            assert e.value.errno == errno.EINVAL and "mismatched owners" in str(e.value)
    finally:
        d1.inner.close()
        d2.inner.close()


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["lock", "try", "unlock", "value"]), max_size=30))
def test_guard_state_machine_matches_a_model(ops: list[str]) -> None:
    with new_mutex(0) as m:
        guard: Guard[int, Any] | None = None
        model = 0
        for op in ops:
            if op == "lock":
                if guard is not None:
                    with pytest.raises(Error) as e:
                        m.lock()
                    assert e.value.errno == errno.EDEADLK
                else:
                    guard = m.lock()
            elif op == "try":
                g = m.try_lock()
                assert (g is None) == (guard is not None)
                if g is not None:
                    guard = g
            elif op == "unlock":
                if guard is not None:
                    guard.unlock()
                    guard = None
            elif guard is not None:
                guard.value += 1
                model += 1
                assert guard.value == model
            assert m.is_held() == (guard is not None)
            assert c_is_locked(m) == (guard is not None)
        if guard is not None:
            guard.unlock()
