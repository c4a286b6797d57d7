"""The runtime under the kernel C keeps the kernel's semantics.

Raw-binding tests of csrc/runtime: memory accounting and fault injection,
owner-tracking locks and the lock validator, RCU from Python threads,
tasks that sleep and wake. The safe layer's own tests build on these.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pyforlinux._bindings import ffi, lib
from tests.conftest import last_lockdep_report, last_warning

GFP = lib.GFP_KERNEL


def in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run fn in a new thread, return its result (re-raising its exception)."""
    out: dict[str, object] = {}

    def body() -> None:
        try:
            out["r"] = fn(*args)
        except BaseException as e:
            out["e"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join(30)
    assert not t.is_alive(), "thread hung"
    if "e" in out:
        raise out["e"]  # type: ignore[misc]
    return out.get("r")


# ---- memory -------------------------------------------------------------

def test_kmalloc_is_accounted_and_freed() -> None:
    base = lib.pfl_slab_live_objects()
    p = lib.pfl_kmalloc(100, GFP | lib.__GFP_ZERO, 0)
    assert p != ffi.NULL
    assert lib.pfl_kobj_is_live(p)
    assert lib.pfl_slab_live_objects() == base + 1
    assert lib.pfl_ksize(p) == 100
    assert bytes(ffi.buffer(p, 100)) == bytes(100)
    lib.pfl_kfree(p, 0)
    assert not lib.pfl_kobj_is_live(p)
    assert lib.pfl_slab_live_objects() == base


def test_kmalloc_zero_is_zero_size_ptr_and_not_counted() -> None:
    base = lib.pfl_slab_live_objects()
    p = lib.pfl_kmalloc(0, GFP, 0)
    assert int(ffi.cast("uintptr_t", p)) == 16  # ZERO_SIZE_PTR
    lib.pfl_kfree(p, 0)
    assert lib.pfl_slab_live_objects() == base


@pytest.mark.kernel_warns
def test_double_kfree_is_a_warning_not_corruption(kernel_clean) -> None:  # type: ignore[no-untyped-def]
    p = lib.pfl_kmalloc(32, GFP, 0)
    lib.pfl_kfree(p, 0)
    lib.pfl_kfree(p, 0)
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    assert "free of a non-live object" in last_warning()


def test_fail_nth_fails_exactly_the_nth_allocation_of_this_thread() -> None:
    injected = lib.pfl_injected_failures()
    lib.pfl_fail_nth_set(3)
    # Another thread's allocations do not count (fail_nth is per task).
    in_thread(lambda: lib.pfl_kfree(lib.pfl_kmalloc(8, GFP, 0), 0))
    ptrs = [lib.pfl_kmalloc(8, GFP, 0) for _ in range(4)]
    assert [p == ffi.NULL for p in ptrs] == [False, False, True, False]
    assert lib.pfl_fail_nth_get() == 0  # one-shot, as /proc/self/fail-nth
    assert lib.pfl_injected_failures() == injected + 1
    for p in ptrs:
        lib.pfl_kfree(p, 0)


def test_fail_probability_spares_nofail_allocations() -> None:
    lib.pfl_fail_probability_set(1_000_000)
    assert lib.pfl_kmalloc(8, GFP, 0) == ffi.NULL
    p = lib.pfl_kmalloc(8, GFP | lib.__GFP_NOFAIL, 0)
    lib.pfl_fail_probability_set(0)
    assert p != ffi.NULL
    lib.pfl_kfree(p, 0)


def test_per_cache_accounting() -> None:
    cache = lib.pfl_kmem_cache_create(b"pfl_test_cache", 48, 0, 0, ffi.NULL)
    objs = [lib.pfl_kmem_cache_alloc(cache, GFP, 0) for _ in range(3)]
    name = ffi.new("char[64]")
    live, total, size = ffi.new("long *"), ffi.new("unsigned long *"), ffi.new("unsigned int *")
    infos = {}
    for i in range(lib.pfl_slab_nr_caches()):
        assert lib.pfl_slab_cache_info(i, name, 64, live, total, size) == 0
        infos[ffi.string(name).decode()] = (live[0], total[0], size[0])
    assert infos["pfl_test_cache"] == (3, 3, 48)
    assert lib.pfl_slab_cache_info(lib.pfl_slab_nr_caches(), name, 64, live, total, size) == -2
    for o in objs:
        lib.pfl_kmem_cache_free(cache, o)
    lib.pfl_kmem_cache_destroy(cache)


def test_typesafe_by_rcu_cache_frees_after_readers_leave() -> None:
    cache = lib.pfl_kmem_cache_create(b"pfl_rcu_cache", 64, 0, lib.SLAB_TYPESAFE_BY_RCU, ffi.NULL)
    obj = lib.pfl_kmem_cache_alloc(cache, GFP, 0)
    base = lib.pfl_slab_live_objects()
    entered, leave = threading.Event(), threading.Event()
    gp_done = threading.Event()

    def reader() -> None:
        lib.pfl_rcu_read_lock()
        entered.set()
        leave.wait(30)
        lib.pfl_rcu_read_unlock()

    def waiter() -> None:
        lib.synchronize_rcu()
        gp_done.set()

    r = threading.Thread(target=reader)
    r.start()
    assert entered.wait(30)
    lib.pfl_kmem_cache_free(cache, obj)
    assert not lib.pfl_kobj_is_live(obj)  # freed as far as users are concerned
    w = threading.Thread(target=waiter)
    w.start()
    # The grace period cannot end while the reader is inside its section.
    assert not gp_done.wait(0.3)
    assert lib.pfl_slab_live_objects() == base  # memory still there for the reader
    leave.set()
    r.join(30)
    w.join(30)
    assert gp_done.is_set()
    lib.pfl_slab_quiesce()
    assert lib.pfl_slab_live_objects() == base - 1
    lib.pfl_kmem_cache_destroy(cache)


# ---- locks ----------------------------------------------------------------

@pytest.fixture
def spinlocks() -> Iterator[list[object]]:
    keys = [ffi.new("struct lock_class_key *") for _ in range(2)]
    locks = [ffi.new("spinlock_t *") for _ in range(2)]
    # C keeps the name pointer (kernel names are static): keep them alive.
    names = [ffi.new("char[]", f"test_lock_{c}".encode()) for c in "AB"]
    for lock, key, name in zip(locks, keys, names, strict=True):
        lib.pfl_spin_lock_init(lock, name, key)
    yield locks
    for key in keys:
        lib.pfl_lockdep_unregister_key(key)


def test_spinlock_records_its_owner(spinlocks) -> None:  # type: ignore[no-untyped-def]
    a = spinlocks[0]
    lib.pfl_spin_lock(a, 0, 0)
    assert a.dep_map.owner == lib.pfl_current()
    assert lib.pfl_lock_is_held(ffi.addressof(a, "dep_map"))
    assert in_thread(lambda: lib.pfl_lock_is_held(ffi.addressof(a, "dep_map"))) == 0
    assert lib.pfl_spin_trylock(a, 0) == 0
    lib.pfl_spin_unlock(a, 0)
    assert a.dep_map.owner == ffi.NULL


@pytest.mark.lockdep_reports
def test_unlock_by_non_owner_is_reported_and_refused(  # type: ignore[no-untyped-def]
    spinlocks, kernel_clean
) -> None:
    a = spinlocks[0]
    lib.pfl_spin_lock(a, 0, 0)
    in_thread(lambda: lib.pfl_spin_unlock(a, 0))
    assert lib.pfl_lock_is_held(ffi.addressof(a, "dep_map"))  # still ours
    bad_unlocks = lib.pfl_lockdep_count(lib.PFL_LOCKDEP_BAD_UNLOCK)
    assert bad_unlocks == kernel_clean.lockdep["bad_unlock"] + 1
    lib.pfl_spin_unlock(a, 0)


@pytest.mark.lockdep_reports
def test_abba_inversion_detected_without_deadlock(  # type: ignore[no-untyped-def]
    spinlocks, kernel_clean
) -> None:
    a, b = spinlocks

    def order(x, y) -> None:  # type: ignore[no-untyped-def]
        lib.pfl_spin_lock(x, 0, 0)
        lib.pfl_spin_lock(y, 0, 0)
        lib.pfl_spin_unlock(y, 0)
        lib.pfl_spin_unlock(x, 0)

    in_thread(order, a, b)
    assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_INVERSION) == kernel_clean.lockdep["inversion"]
    in_thread(order, b, a)  # never concurrent with the first: no deadlock needed
    assert lib.pfl_lockdep_count(lib.PFL_LOCKDEP_INVERSION) == kernel_clean.lockdep["inversion"] + 1
    report = last_lockdep_report()
    assert "circular locking dependency" in report
    assert "test_lock_A" in report and "test_lock_B" in report


@pytest.mark.lockdep_reports
def test_sleeping_under_a_spinlock_is_reported(spinlocks, kernel_clean) -> None:  # type: ignore[no-untyped-def]
    lib.pfl_spin_lock(spinlocks[0], 0, 0)
    lib.msleep(1)
    lib.pfl_spin_unlock(spinlocks[0], 0)
    sleeps = lib.pfl_lockdep_count(lib.PFL_LOCKDEP_MIGHT_SLEEP)
    assert sleeps == kernel_clean.lockdep["might_sleep"] + 1
    assert "sleeping function called from invalid context" in last_lockdep_report()
    assert "test_lock_A" in last_lockdep_report()


@pytest.mark.lockdep_reports
def test_synchronize_rcu_in_read_section_is_reported_not_deadlocked(  # type: ignore[no-untyped-def]
    kernel_clean,
) -> None:
    lib.pfl_rcu_read_lock()
    lib.synchronize_rcu()  # would deadlock in liburcu; returns with a report
    lib.pfl_rcu_read_unlock()
    sleeps = lib.pfl_lockdep_count(lib.PFL_LOCKDEP_MIGHT_SLEEP)
    assert sleeps == kernel_clean.lockdep["might_sleep"] + 1


@pytest.mark.kernel_warns
def test_lockdep_assert_held_is_a_real_check(spinlocks, kernel_clean) -> None:  # type: ignore[no-untyped-def]
    # lockdep_assert_held(l) in kernel C expands to this call on &l->dep_map.
    a = spinlocks[0]
    map_ = ffi.addressof(a, "dep_map")
    lib.pfl_spin_lock(a, 0, 0)
    lib.pfl_lockdep_assert_held(map_, b"here.c", 1)
    assert lib.pfl_warn_count() == kernel_clean.warnings
    lib.pfl_spin_unlock(a, 0)
    lib.pfl_lockdep_assert_held(map_, b"here.c", 2)
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    assert "here.c:2" in last_warning()


# ---- RCU and tasks --------------------------------------------------------

def test_python_threads_are_registered_and_released_automatically() -> None:
    before = lib.pfl_nr_tasks()

    def reader() -> int:
        lib.pfl_rcu_read_lock()
        lib.pfl_rcu_read_lock()  # nests
        depth = int(lib.pfl_rcu_read_depth())
        lib.pfl_rcu_read_unlock()
        lib.pfl_rcu_read_unlock()
        return depth

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert in_thread(reader) == 2
    # Every thread's task_struct is put when the OS thread exits, which is
    # after threading's join() returns: wait for it (bounded).
    for _ in range(500):
        if lib.pfl_nr_tasks() == before:
            break
        lib.msleep(10)
    assert lib.pfl_nr_tasks() == before


def test_wake_up_state_ends_a_sleep_and_signal_ends_interruptible_sleep() -> None:
    tasks: list[object] = []
    ready = threading.Event()

    def sleeper(state: int) -> tuple[int, bool]:
        tasks.append(lib.pfl_current())
        lib.pfl_set_current_state(state)
        ready.set()
        left = lib.pfl_schedule_timeout(lib.MAX_SCHEDULE_TIMEOUT)
        pending = bool(lib.signal_pending(lib.pfl_current()))
        lib.pfl_task_clear_signal(lib.pfl_current())
        return int(left), pending

    for state, wake in [
        (lib.TASK_UNINTERRUPTIBLE, lambda t: lib.pfl_wake_up_state(t, lib.TASK_UNINTERRUPTIBLE)),
        (lib.TASK_INTERRUPTIBLE, lib.pfl_task_signal),
    ]:
        tasks.clear()
        ready.clear()
        out: list[tuple[int, bool]] = []
        th = threading.Thread(target=lambda s=state, o=out: o.append(sleeper(s)))
        th.start()
        assert ready.wait(30)
        while wake(tasks[0]) == 0:  # 0: not asleep in that state yet
            pass
        th.join(30)
        assert out[0][0] == lib.MAX_SCHEDULE_TIMEOUT
        assert out[0][1] == (state == lib.TASK_INTERRUPTIBLE)


def test_schedule_timeout_times_out_with_zero_left() -> None:
    lib.pfl_set_current_state(lib.TASK_UNINTERRUPTIBLE)
    assert lib.pfl_schedule_timeout(2) == 0


def test_jiffies_are_monotonic() -> None:
    a = lib.pfl_jiffies()
    lib.msleep(2)
    assert lib.pfl_jiffies() >= a + 2
