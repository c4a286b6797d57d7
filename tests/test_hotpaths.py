"""The per-operation fast paths added for ``pyforlinux bench`` keep their meaning.

Each fast path replaces something slower that must give the same answer:
the cheap Finalizer behind the leak safety net, the cached acquisition
site of the lock validator, the ioctl number encoding of command
numbers, the cached member offsets of CList; for issue 17: lock() in one
C call, guards entered and exited without a check call when none fails,
acquisition sites formatted lazily by the validator, the ForeignOwnable
registry without a Python lock, borrows ended by ``__del__``, owner names
formatted when shown.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import Finalizer
from pyforlinux.drm import ioctl
from pyforlinux.error import Error, code
from pyforlinux.interop import CListHead, clist_create
from pyforlinux.interop.list import entry_ptr
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock.mutex import Mutex
from pyforlinux.sync.lock.spinlock import SpinLock
from pyforlinux.sync.lockdep import LockClassKey
from tests.threads import run_in_thread


class Obj:
    """Something to finalize."""


def test_finalizer_runs_once_when_collected() -> None:
    calls: list[str] = []
    o = Obj()
    fin = Finalizer(o, calls.append, "gone")
    assert isinstance(fin, weakref.finalize) and fin.alive and fin.atexit is False
    peek = fin.peek()
    assert peek is not None and peek[0] is o and peek[2] == ("gone",)
    del o, peek
    gc.collect()
    assert calls == ["gone"] and not fin.alive
    assert fin() is None and calls == ["gone"]


def test_finalizer_detach_and_call() -> None:
    calls: list[int] = []
    o = Obj()
    fin = Finalizer(o, calls.append, 1)
    detached = fin.detach()
    assert detached is not None and detached[0] is o and not fin.alive
    assert fin.detach() is None and fin.peek() is None
    del o, detached
    gc.collect()
    assert calls == []
    o2 = Obj()
    fin2 = Finalizer(o2, lambda: calls.append(2) or "ran")
    assert fin2() == "ran" and fin2() is None and calls == [2]
    with pytest.raises(ValueError):
        fin2.atexit = True
    fin2.atexit = False


def test_finalizer_of_an_unhashable_object() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

    calls: list[int] = []
    u = Unhashable()
    Finalizer(u, calls.append, 3)
    del u
    gc.collect()
    assert calls == [3]


def _site_here() -> tuple[str, bytes]:
    return lockdep.acquire_site(), lockdep.acquire_site_bytes()


def _other_site() -> bytes:
    return lockdep.acquire_site_bytes()


def test_cached_acquire_site_equals_the_formatted_one() -> None:
    for _ in range(3):  # the second and third come from the cache
        text, raw = _site_here()
        assert raw == text.encode() and raw.startswith(b"test_hotpaths.py:")
    assert _other_site() != raw
    assert _other_site() == _other_site()


def test_ioctl_encoding_agrees_with_the_c_macros() -> None:
    # Decoding is the C drm_ioctl()'s now; what Python still does is build
    # numbers (IO/IOR/IOW/IOWR) and the ioctl table from the uapi.
    from pyforlinux.drivers.nova.driver import NovaDrmDriver

    cmds = [int(lib.DRM_IOCTL_VERSION), int(lib.DRM_IOCTL_GEM_CLOSE),
            int(lib.DRM_IOCTL_MODE_MAP_DUMB)] + [d.cmd for d in NovaDrmDriver.IOCTLS]
    for cmd in cmds:
        cmd &= 0xFFFFFFFF
        assert ioctl._ioc(ioctl.ioc_dir(cmd), ioctl.ioc_nr(cmd), ioctl.ioc_size(cmd)) == cmd
    for d in NovaDrmDriver.IOCTLS:
        assert ffi.sizeof(d.struct) == ioctl.ioc_size(d.cmd)
        assert d.ptr_type.item.cname == d.struct


def test_member_offsets_are_cached_and_errors_still_raised() -> None:
    head = CListHead.new()
    a = clist_create(head, entry_ptr, "struct gpu_buddy_block", "link")
    b = clist_create(head, entry_ptr, "struct gpu_buddy_block", "link")
    assert a._offset == b._offset and list(a) == list(b) == []
    for _ in range(2):
        with pytest.raises(Error) as info:
            clist_create(head, entry_ptr, "struct gpu_buddy_block", "nope")
        assert info.value.errno == code.EINVAL


# ---------------------------------------------------------------- one C call per lock()


def _line_of(fn: Any, text: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def _hold_python_then_c(m: Mutex[int], raw: Any) -> None:
    with m.lock():  # site: python lock held
        lib.pfl_mutex_lock(raw, 0, 0)  # a C acquisition (no Python site of its own)
        lib.pfl_mutex_unlock(raw, 0)


@pytest.mark.lockdep_reports
def test_lazy_site_of_a_held_python_lock_is_formatted_for_a_c_acquisition(
    kernel_clean: Any,
) -> None:
    # The safe layer names its site by reference; the edge the C
    # acquisition records must still carry the Python line where the held
    # lock was taken (formatted then, through the validator's hook, while
    # that frame has moved on to another line).
    with LockClassKey.new_dynamic("lazy_py") as kp, LockClassKey.new_dynamic("lazy_c") as kc:
        name = ffi.new("char[]", b"lazy_c")
        raw = ffi.new("struct mutex *")
        lib.pfl_mutex_init(raw, name, kc.as_ptr())
        with Mutex(0, "lazy_py", kp) as m:
            run_in_thread(lambda: _hold_python_then_c(m, raw))
            lib.pfl_mutex_lock(raw, 0, 0)  # the reverse order, here
            try:
                with lockdep.strict_mode(True), pytest.raises(Error) as e:
                    m.lock()
            finally:
                lib.pfl_mutex_unlock(raw, 0)
            lib.mutex_destroy(raw)
    assert e.value.errno == code.EDEADLK
    report = str(e.value)
    held = _line_of(_hold_python_then_c, "site: python lock held")
    assert f"test_hotpaths.py:{held} in _hold_python_then_c" in report  # formatted lazily
    here = _line_of(test_lazy_site_of_a_held_python_lock_is_formatted_for_a_c_acquisition,
                    "m.lock()")
    assert f"test_hotpaths.py:{here} in " in report  # the refused acquisition
    assert "\x01" not in report and "\x01" not in lockdep.last_report()


def _take_in_a_helper(m: Mutex[int]) -> Any:
    return m.lock()  # site: escaped


@pytest.mark.lockdep_reports
def test_lazy_site_of_a_guard_that_outlived_its_frame(kernel_clean: Any) -> None:
    # The frame that took the lock returned (the guard was handed out): the
    # new edge names it as such, never reads a stale frame.
    with LockClassKey.new_dynamic("esc_a") as ka, LockClassKey.new_dynamic("esc_b") as kb, \
            Mutex(0, "esc_a", ka) as a, Mutex(0, "esc_b", kb) as b:
        g = _take_in_a_helper(a)
        with b.lock():  # new edge esc_a -> esc_b
            pass
        g.unlock()
        with b.lock(), lockdep.strict_mode(True), pytest.raises(Error) as e:
            a.lock()  # the reverse: reported with the edge's sites
    assert e.value.errno == code.EDEADLK
    assert "(a frame that has returned)" in str(e.value)


def test_one_call_lock_keeps_the_checks_it_replaces() -> None:
    # pfl_sync_mutex_take/pfl_sync_spin_take fold the checks Python made one
    # by one: each still refuses as before, and nothing stays held.
    for lock in (Mutex(0, "one_call"), SpinLock(0, "one_call")):
        with lock:
            with lock.lock() as g:
                with pytest.raises(Error) as e:
                    lock.lock()
                assert e.value.errno == code.EDEADLK and "recursive locking" in str(e.value)
                assert lock.try_lock() is None  # a trylock of a held lock: None, not an error
                assert g.held and lock.is_held()
            assert not lock.is_locked() and lock._users == 0
            t = lock.try_lock()
            assert t is not None and lock._users == 1
            t.unlock()
            assert lock._users == 0
        with pytest.raises(Error) as e:
            lock.lock()
        assert e.value.errno == code.EINVAL  # closed


def test_guard_enter_and_exit_fast_paths_keep_the_checks_they_skip() -> None:
    # ThreadBoundGuard.__enter__ calls _check() only when a check fails, and
    # __exit__ is unlock() itself: each refusal is still _check()'s/unlock()'s.
    def errno_of(fn: Any) -> int | None:
        try:
            fn()
        except Error as e:
            return e.errno
        return None

    with Mutex(0, "fast_enter") as m:
        g = m.lock()
        assert g.__enter__() is g  # the owner, held: no call to _check()
        on_other = run_in_thread(lambda: (errno_of(g.__enter__), errno_of(g._check),
                                          errno_of(lambda: g.__exit__(None, None, None))))
        assert on_other == (code.EPERM, code.EPERM, code.EPERM)
        assert g.held and m.is_held()

        def inside() -> tuple[int | None, int | None, int | None]:
            return (errno_of(g.__enter__), errno_of(g._check),
                    errno_of(lambda: g.__exit__(None, None, None)))

        assert g.do_unlocked(inside) == (code.EBUSY, code.EBUSY, code.EBUSY)
        assert g.held and m.is_held()
        g.__exit__(RuntimeError, RuntimeError("x"), None)  # releases, ignores the exception
        assert not g.held and not m.is_locked() and m._users == 0
        g.__exit__(None, None, None)  # idempotent on the owner, as unlock()
        assert errno_of(g.__enter__) == errno_of(g._check) == code.EINVAL


def test_registry_without_a_lock_keeps_its_errors() -> None:
    # The ForeignOwnable registry's look-ups are inline now; every refusal
    # of the table in pyforlinux/_owner.py still has its errno.
    from pyforlinux._owner import ForeignRegistry

    class A:
        pass

    class B:
        pass

    r = ForeignRegistry()
    r.register(0x1000, A, "pa", shareable=False)
    with pytest.raises(Error) as e:
        r.register(0x1000, A, "again", shareable=False)
    assert e.value.errno == code.EEXIST
    for fn, errno_ in ((lambda: r.take(0x1000, B), code.EINVAL),
                       (lambda: r.take(0x2000, A), code.ENOENT),
                       (lambda: r.take(0, A), code.EINVAL),
                       (lambda: r.borrow(0x1000, B, False), code.EINVAL)):
        with pytest.raises(Error) as e:
            fn()
        assert e.value.errno == errno_
    assert r.borrow(0x1000, A, False) == "pa"
    with pytest.raises(Error) as e:
        r.borrow(0x1000, A, True)
    assert e.value.errno == code.EBUSY
    with pytest.raises(Error) as e:
        r.take(0x1000, A)
    assert e.value.errno == code.EBUSY
    r.unborrow(0x1000, False)
    assert r.take(0x1000, A) == "pa" and not r.contains(0x1000)
    with pytest.raises(Error) as e:
        r.take(0x1000, A)
    assert e.value.errno == code.ENOENT


def test_a_dropped_borrow_ends_and_box_names_are_formatted_when_shown() -> None:
    from pyforlinux._owner import REGISTRY, addr_of, live_owners
    from pyforlinux.alloc import GFP_KERNEL, KBox

    box = KBox.new("u64", GFP_KERNEL, 7)
    what = f"KBox<{box._ct.name}> at {addr_of(box._ptr):#x}"
    assert box._what == what and what in repr(box)
    assert what in [w for w, _ in live_owners().values()]
    ptr = box.into_foreign()
    b = KBox.borrow(ptr)
    assert REGISTRY.is_borrowed(addr_of(ptr))
    del b  # dropped without release(): the borrow ends (CPython collects it at once)
    assert not REGISTRY.is_borrowed(addr_of(ptr))
    back = KBox.from_foreign(ptr)
    with pytest.raises(Error) as e:
        back.close()
        back.read()
    assert e.value.errno == code.EINVAL and what in str(e.value)


@pytest.mark.lockdep_reports
def test_strict_mode_is_read_by_the_one_call_take(kernel_clean: Any) -> None:
    # lock() no longer passes the strict flag: the C take reads the mode
    # lockdep.set_strict() mirrors into it. An inverted acquisition is
    # refused (nothing held) when strict, taken (and only reported) when not.
    with LockClassKey.new_dynamic("mir_a") as ka, LockClassKey.new_dynamic("mir_b") as kb, \
            Mutex(0, "mir_a", ka) as a, Mutex(0, "mir_b", kb) as b:
        with a.lock(), b.lock():  # the edge mir_a -> mir_b
            pass
        with lockdep.strict_mode(True):
            assert lib.pfl_sync_strict == 1
            with b.lock(), pytest.raises(Error) as e:
                a.lock()
            assert e.value.errno == code.EDEADLK and not a.is_locked()
        with lockdep.strict_mode(False):
            assert lib.pfl_sync_strict == 0
            with b.lock(), a.lock() as g:
                assert g.held and a.is_held()
    assert lockdep.is_strict() == bool(lib.pfl_sync_strict)


# ---------------------------------------------------------------- issue 17, part 3: owners, XArray


def test_finalizer_is_its_own_weakref_and_compares_by_identity() -> None:
    from pyforlinux._owner import _armed, leak_finalizer

    o, o2 = Obj(), Obj()
    a, b = Finalizer(o, print), Finalizer(o, print)
    assert isinstance(a, weakref.ref) and isinstance(a, weakref.finalize)
    assert a != b and a == a and len({a, b}) == 2  # weakref.ref would compare the objects
    assert a.detach() is not None and b.detach() is not None
    calls: list[int] = []
    c = Finalizer(o2, calls.append, 4)
    assert c.detach() is not None
    del o2  # a detached Finalizer outliving its object: its callback does nothing
    gc.collect()
    assert calls == [] and not c.alive and c() is None
    # leak_finalizer() arms the same thing, reporting a leak
    leak = leak_finalizer(o, "thing")
    assert isinstance(leak, Finalizer) and leak.alive and _armed[leak] is leak
    with pytest.warns(ResourceWarning, match="thing was garbage collected"):
        del o
        gc.collect()
    assert not leak.alive


def test_addr_of_in_one_c_call_equals_the_cast() -> None:
    from pyforlinux._owner import addr_of, addr_of_ptr

    arr = ffi.new("u64[4]")
    p = ffi.cast("void *", arr)
    for x in (p, arr, ffi.cast("u64 *", arr) + 1, ffi.NULL, lib.LIST_POISON1):
        assert addr_of(x) == addr_of_ptr(x) == int(ffi.cast("uintptr_t", x))
    assert addr_of(0x1000) == 0x1000  # an int is its own address, as before
    with pytest.raises(TypeError):
        addr_of_ptr(0x1000)


def test_registry_counts_live_borrows() -> None:
    from pyforlinux._owner import ForeignRegistry

    class A:
        pass

    r = ForeignRegistry()
    r.register(0x1000, A, "pa", shareable=True)
    r.register(0x2000, A, "pb", shareable=False)
    assert r.live_borrows == 0
    r.borrow(0x1000, A, False)
    r.borrow(0x1000, A, False)
    r.borrow(0x2000, A, True)
    assert r.live_borrows == 3
    with pytest.raises(Error):
        r.borrow(0x2000, A, False)  # refused: not counted
    assert r.live_borrows == 3
    r.unborrow(0x1000, False)
    r.unborrow(0x2000, True)
    assert r.live_borrows == 1 and r.is_borrowed(0x1000) and not r.is_borrowed(0x2000)
    r.unborrow(0x1000, False)
    assert r.live_borrows == 0 and not r.is_borrowed(0x1000)


def test_xarray_store_over_an_entry_borrowed_anywhere_is_ebusy() -> None:
    # The store looks the current entry up only while some borrow is live:
    # a borrow taken outside the guard (KBox.borrow) still makes it EBUSY.
    from pyforlinux._owner import REGISTRY
    from pyforlinux.alloc import GFP_KERNEL, KBox
    from pyforlinux.xarray import AllocKind, StoreError, XArray

    with XArray(AllocKind.Alloc, KBox) as xa:
        with xa.lock() as g:
            g.store(1, KBox.new("u64", GFP_KERNEL, 1), GFP_KERNEL)
            g.store(2, KBox.new("u64", GFP_KERNEL, 2), GFP_KERNEL)
            ptr = xa.as_raw()
            raw = lib.xa_load(ptr, 1)
        before = REGISTRY.live_borrows
        outside = KBox.borrow(raw)
        assert REGISTRY.live_borrows == before + 1
        with xa.lock() as g:
            new = KBox.new("u64", GFP_KERNEL, 3)
            with pytest.raises(StoreError) as e:
                g.store(1, new, GFP_KERNEL)
            assert e.value.errno == code.EBUSY and e.value.value.read() == 3
            old = g.store(2, e.value.value, GFP_KERNEL)  # another entry: stored
            assert old is not None and old.read() == 2
            old.close()
        outside.release()
        assert REGISTRY.live_borrows == before
        with xa.lock() as g:
            replaced = g.store(1, KBox.new("u64", GFP_KERNEL, 4), GFP_KERNEL)
            assert replaced is not None and replaced.read() == 1
            replaced.close()
            view = g.get(1)
            assert REGISTRY.live_borrows == before + 1 and view.read() == 4
        assert REGISTRY.live_borrows == before  # ended with the guard


def test_xarray_guard_checks_inline_give_the_same_errors() -> None:
    from pyforlinux.alloc import GFP_KERNEL, KBox
    from pyforlinux.xarray import ULONG_MAX, AllocKind, StoreError, XArray

    class Idx:
        def __index__(self) -> int:
            return 5

    with XArray(AllocKind.Alloc, KBox) as xa:
        g = xa.lock()
        for bad in (True, -1, ULONG_MAX + 1, 1.0, "1"):
            with pytest.raises(Error) as e:
                g.get(bad)  # type: ignore[arg-type]
            assert e.value.errno == code.EINVAL
            v = KBox.new("u64", GFP_KERNEL, 0)
            with pytest.raises(StoreError) as se:
                g.store(bad, v, GFP_KERNEL)  # type: ignore[arg-type]
            assert se.value.errno == code.EINVAL and se.value.value is v
            v.close()
        assert g.store(Idx(), KBox.new("u64", GFP_KERNEL, 5), GFP_KERNEL) is None  # type: ignore[arg-type]
        assert g.get(ULONG_MAX) is None and g.get(5).read() == 5
        v6 = KBox.new("u64", GFP_KERNEL, 6)
        for fn in (g.__enter__, lambda: g.get(5), lambda: g.store(6, v6, GFP_KERNEL)):
            with pytest.raises(Error) as e:
                run_in_thread(fn)
            assert e.value.errno == code.EPERM
        assert not v6.closed  # refused before it was handed over
        v6.close()
        with g:
            pass  # __exit__ releases
        assert not g.held
        g.__exit__(None, None, None)  # a released guard's __exit__: nothing
        for fn in (g.__enter__, g.release, lambda: g.get(5)):
            with pytest.raises(Error) as e:
                fn()
            assert e.value.errno == code.EINVAL
        v = KBox.new("u64", GFP_KERNEL, 7)
        with pytest.raises(Error) as e:
            g.store(7, v, GFP_KERNEL)
        assert e.value.errno == code.EINVAL and not v.closed
        v.close()


def test_xarray_guard_dropped_or_collected_while_held() -> None:
    from pyforlinux.alloc import KBox
    from pyforlinux.xarray import AllocKind, XArray

    class Cycle:
        pass

    with XArray(AllocKind.Alloc, KBox) as xa:
        g = xa.lock()
        with pytest.warns(ResourceWarning,
                          match=r"XArray guard was garbage collected with xa_lock"):
            del g  # dropped on its task: reported as a lock guard is, and released
        g2 = xa.try_lock()
        assert g2 is not None
        c = Cycle()
        c.self, c.guard = c, g2  # type: ignore[attr-defined]
        del c, g2
        with pytest.warns(ResourceWarning, match=r"XArray guard \(xa_lock still held\)"):
            gc.collect()  # collected in a cycle: reported, then released
        g3 = xa.try_lock()
        assert g3 is not None
        g3.release()


def test_detached_owner_finalizers_are_freed_not_called_back() -> None:
    from pyforlinux._owner import DETACHED, REGISTRY, addr_of
    from pyforlinux.alloc import GFP_KERNEL, KBox
    from pyforlinux.xarray import AllocKind, XArray

    box = KBox.new("u64", GFP_KERNEL, 1)
    assert weakref.getweakrefcount(box) == 1 and box._fin.alive
    ptr = box.into_foreign()  # moved out: its leak report disarmed and dropped
    assert box._fin is DETACHED and weakref.getweakrefcount(box) == 0
    assert not DETACHED.alive and DETACHED.detach() is None and DETACHED() is None
    assert REGISTRY.contains(addr_of(ptr))
    KBox.from_foreign(ptr).close()
    with XArray(AllocKind.Alloc, KBox) as xa:
        g = xa.lock()
        assert g._fin.alive and weakref.getweakrefcount(g) == 1
        g.release()
        assert g._fin is DETACHED and weakref.getweakrefcount(g) == 0
