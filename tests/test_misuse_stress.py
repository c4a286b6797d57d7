"""Stress tests for the classes of misuse of issue 16, written from the class.

The misuse table (tests/test_misuse.py) has one case per documented misuse;
these drive each class across the whole safe API: every owning type, every
argument a caller supplies, many threads, fork(). Nothing here may crash,
hang or leak; under ``make check SANITIZE=1`` nothing may be reported.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import gc
import importlib
import inspect
import os
import pathlib
import pickle
import pkgutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pyforlinux
from pyforlinux import faux, module
from pyforlinux._owner import ArgTypeError, CopyError, NoCopy, task_identity
from pyforlinux.alloc import GFP_KERNEL, KBox, KVec
from pyforlinux.error import Error, code
from pyforlinux.gpu.buddy import GpuBuddy, GpuBuddyAllocMode
from pyforlinux.list import List, ListArc, ListItem, ListLinks
from pyforlinux.page import PAGE_SIZE, Page, PageBuffer, Pages
from pyforlinux.revocable import Revocable
from pyforlinux.sync import lockdep, rcu
from pyforlinux.sync.lock.mutex import new_mutex
from pyforlinux.sync.lock.spinlock import new_spinlock
from pyforlinux.task import current
from pyforlinux.xarray import AllocKind, XArray
from tests.threads import run_in_thread

# ---------------------------------------------------------------- 1. check-then-use


class Hook:
    """A value whose every conversion first runs ``fn`` (which frees an owner)."""

    def __init__(self, fn: Callable[[], object], value: Any) -> None:
        self.fn, self.value = fn, value

    def __index__(self) -> int:
        self.fn()
        return int(self.value)

    def __float__(self) -> float:
        self.fn()
        return float(self.value)

    def __bytes__(self) -> bytes:
        self.fn()
        return bytes(self.value)

    def __len__(self) -> int:
        self.fn()
        return 1

    def __getitem__(self, i: int) -> int:
        self.fn()
        raise IndexError(i)


class SneakyInt(int):
    """An int whose comparisons would free an owner (they must never be called)."""

    calls = 0
    fn: Callable[[], object] = staticmethod(lambda: None)

    def _cmp(self, other: object) -> bool:
        type(self).calls += 1
        type(self).fn()
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _cmp  # type: ignore[assignment]


def _owners() -> Iterator[tuple[str, Callable[[], Any], Callable[[Any, Any], object], Any]]:
    """(name, make the owner, use it with one caller-supplied argument, argument value)."""
    yield "KBox.set", lambda: KBox.new("u64", GFP_KERNEL, 1), lambda o, a: o.set(a), 5
    yield "KBox.set(double)", lambda: KBox.new("double", GFP_KERNEL, 1.0), \
        lambda o, a: o.set(a), 2.0
    yield "KVec[]=", lambda: KVec.from_elem("u32", 0, 4, GFP_KERNEL), \
        lambda o, a: o.__setitem__(a, 1), 2
    yield "KVec.insert", lambda: KVec.with_capacity("u32", 4, GFP_KERNEL), \
        lambda o, a: o.insert_within_capacity(0, a), 3
    yield "KVec.truncate", lambda: KVec.from_elem("u32", 0, 4, GFP_KERNEL), \
        lambda o, a: o.truncate(a), 1
    yield "KVec.resize", lambda: KVec.new("u32"), lambda o, a: o.resize(a, 1, GFP_KERNEL), 3
    yield "Page.write", lambda: Page.alloc_page(GFP_KERNEL), lambda o, a: o.write(a, b"x"), 7
    yield "Page.read", lambda: Page.alloc_page(GFP_KERNEL), lambda o, a: o.read(0, a), 9
    yield "Page.fill_zero", lambda: Page.alloc_page(GFP_KERNEL), \
        lambda o, a: o.fill_zero(a, 8), 4
    yield "Pages.write", lambda: Pages.alloc(GFP_KERNEL, 1), \
        lambda o, a: o.write(a, b"abc"), PAGE_SIZE
    yield "PageBuffer.write", lambda: PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL), \
        lambda o, a: o.write(a, b"abc"), 8
    yield "PageBuffer.page", lambda: PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL), \
        lambda o, a: o.page(a).write(0, b"q"), 0
    yield "GpuBuddy.alloc_blocks", lambda: GpuBuddy(0, 1 << 20, 4096), \
        lambda o, a: o.alloc_blocks(GpuBuddyAllocMode.Simple, a, 4096).close(), 8192


@pytest.mark.parametrize("name", [n for n, *_ in _owners()])
def test_an_argument_that_frees_its_owner_while_converted_is_seen(name: str) -> None:
    """Class 1: the owner is checked after the conversion, never before it."""
    _, make, use, value = next(o for o in _owners() if o[0] == name)
    for _ in range(20):
        owner = make()
        with pytest.raises(Error) as e:
            use(owner, Hook(owner.close, value))
        assert e.value.errno == code.EINVAL, e.value
        owner.close()  # idempotent: released exactly once


@pytest.mark.parametrize("name", [n for n, *_ in _owners()])
def test_int_subclass_comparisons_never_run(name: str) -> None:
    """Class 1: arguments become exact ints; a subclass's comparisons are never called."""
    _, make, use, value = next(o for o in _owners() if o[0] == name)
    owner = make()
    SneakyInt.calls = 0
    SneakyInt.fn = owner.close
    try:
        use(owner, SneakyInt(value))
    finally:
        SneakyInt.fn = staticmethod(lambda: None)  # type: ignore[assignment]
        owner.close()
    assert SneakyInt.calls == 0


def test_xarray_index_and_bounds_run_no_user_code_after_the_check() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa:
        for _ in range(50):
            g = xa.lock()
            b = KBox.new("u64", GFP_KERNEL, 1)
            with pytest.raises(Error) as e:
                g.store(Hook(g.release, 5), b, GFP_KERNEL)
            assert e.value.errno == code.EINVAL
            b.close()
            g = xa.lock()
            b = KBox.new("u64", GFP_KERNEL, 2)
            with pytest.raises(Error):
                g.alloc(b, GFP_KERNEL, Hook(g.release, 0), 10)
            b.close()
            assert not g.held
            SneakyInt.calls = 0
            with xa.lock() as g2:
                old = g2.store(SneakyInt(7), KBox.new("u64", GFP_KERNEL, 3), GFP_KERNEL)
                assert old is None and g2.indices() == [7]
                g2.remove(7).close()  # type: ignore[union-attr]
            assert SneakyInt.calls == 0


def test_bytes_are_copied_once_with_their_real_length() -> None:
    class Liar(bytearray):
        def __len__(self) -> int:
            return 2

    with PageBuffer.with_capacity(2 * PAGE_SIZE, GFP_KERNEL) as buf:
        buf.write(0, Liar(b"0123456789"))
        assert buf.read(0, 10) == b"0123456789"  # ten bytes written, not two
        with pytest.raises(Error) as e:
            buf.write(2 * PAGE_SIZE - 2, Liar(b"0123456789"))
        assert e.value.errno == code.EINVAL  # bounded by the real length
        for bad in ("text", 5, None, Hook(lambda: None, b"x"), [1, 2]):
            with pytest.raises(ArgTypeError) as e2:
                buf.write(0, bad)  # type: ignore[arg-type]
            assert e2.value.errno == code.EINVAL and isinstance(e2.value, TypeError)


# ---------------------------------------------------------------- 2. copies


_VALUE_TYPES = {
    # Values, backends and protocols: nothing of theirs is owned.
    "pyforlinux.cred.Kuid", "pyforlinux.types.Unit", "pyforlinux.sync.lock.Backend",
    "pyforlinux.sync.lock.mutex.MutexBackend", "pyforlinux.sync.lock.spinlock.SpinLockBackend",
    "pyforlinux.time.Ktime",  # a value (from_raw builds one from nanoseconds)
    "pyforlinux.printk._ToDmesg",  # a logging.Handler (its release() is the handler lock's)
}
_OWNING_METHODS = {"close", "release", "unlock", "dec_ref", "into_raw", "into_foreign",
                   "revoke", "from_raw"}


def owning_classes() -> list[type]:
    """Every class of the package that owns or borrows something (by its methods)."""
    out = []
    for info in pkgutil.walk_packages(pyforlinux.__path__, "pyforlinux."):
        if info.name.endswith("__main__") or info.name in ("pyforlinux.bench",
                                                             "pyforlinux.faultsweep"):
            continue
        mod = importlib.import_module(info.name)
        for name, cls in vars(mod).items():
            if not inspect.isclass(cls) or cls.__module__ != mod.__name__:
                continue
            if issubclass(cls, BaseException) or getattr(cls, "_is_protocol", False):
                continue
            if f"{cls.__module__}.{name}" in _VALUE_TYPES:
                continue
            if any(callable(getattr(cls, m, None)) for m in _OWNING_METHODS):
                out.append(cls)
    return out


def test_every_owning_class_refuses_copies_and_pickles() -> None:
    classes = owning_classes()
    assert len(classes) > 40  # the enumeration finds them (KBox, Mutex, Arc, ...)
    names = {c.__name__ for c in classes}
    assert {"KBox", "Lock", "Arc", "ARef", "RcuBox", "XArray", "Page", "CondVar", "ListArc",
            "Revocable", "GpuBuddy", "SGTable", "Devres", "DriverFence", "Fence"} <= names
    for cls in classes:
        assert issubclass(cls, NoCopy), f"{cls.__module__}.{cls.__qualname__} can be copied"
        obj = object.__new__(cls)  # never initialised: NoCopy looks at nothing
        for how in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(CopyError) as e:
                how(obj)
            assert e.value.errno == code.EINVAL and isinstance(e.value, TypeError)


def test_copies_of_live_owners_leave_one_owner() -> None:
    m = new_mutex([1], "copy stress")
    r = rcu.RcuBox(KBox.new("u64", GFP_KERNEL, 1), GFP_KERNEL)
    owners: list[Any] = [KBox.new("u64", GFP_KERNEL, 3), m, r, Page.alloc_page(GFP_KERNEL)]
    with m.lock() as g:
        owners.append(g)
        for o in owners:
            for how in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
                with pytest.raises(CopyError):
                    how(o)
    for o in owners:
        o.close() if hasattr(o, "close") else None
    rcu.rcu_barrier()


# ---------------------------------------------------------------- 3. intrusive lists


class Item(ListItem):
    def __init__(self, n: int) -> None:
        self.n = n
        self.links = ListLinks.new(GFP_KERNEL)


def test_list_uniqueness_and_links_hold_under_every_misuse() -> None:
    a: List[Any, Any] = List.new()
    b: List[Any, Any] = List.new()
    items = [Item(i) for i in range(16)]
    for it in items:
        a.push_back(ListArc.new(it, GFP_KERNEL))
    for it in items:
        with pytest.raises(Error) as e:
            ListArc.new(it, GFP_KERNEL)  # a second ListArc for the same item
        assert e.value.errno == code.EBUSY
        spare = ListLinks.new(GFP_KERNEL)
        with pytest.raises(Error) as e:
            it.links = spare
        assert e.value.errno == code.EBUSY
        with pytest.raises(Error):
            del it.links
        with pytest.raises(Error):
            it.links.close()
        spare.close()
    # move half to b through pop/push, then splice back; the links stay consistent
    for _ in range(8):
        arc = a.pop_front()
        assert arc is not None
        b.push_back(arc)
    a.push_all_back(b)
    assert [x.deref().n for x in a] == list(range(8, 16)) + list(range(8))
    a.close()
    b.close()
    for it in items:
        assert not it.links.is_linked()


# ---------------------------------------------------------------- 4. thread identity


_run = run_in_thread


def test_an_identity_is_never_reused_by_a_later_thread() -> None:
    seen: list[Any] = []
    currents: list[Any] = []
    for _ in range(40):
        seen.append(_run(task_identity))
        currents.append(_run(current))
    assert len({id(i) for i in seen}) == len(seen)  # kept alive by the list: all distinct
    assert not any(i.alive for i in seen)
    for cur in currents:  # some of these threads had the same OS thread id
        for use in (lambda c=cur: c.pid(), lambda c=cur: _run(c.pid)):
            with pytest.raises(Error) as e:
                use()
            assert e.value.errno == code.EPERM


# ---------------------------------------------------------------- 5. outliving the holder


def test_threads_that_exit_holding_locks_and_read_sections_leave_them_usable() -> None:
    m = new_mutex(0, "stress exit mutex")
    s = new_spinlock(0, "stress exit spin")
    r = Revocable(KBox.new("u64", GFP_KERNEL, 1))
    xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
    before = lockdep.count(lockdep.ReportKind.BAD_UNLOCK)
    kept: list[Any] = []
    for _ in range(10):
        _run(lambda: kept.extend([m.lock(), rcu.read_lock(), r.try_access()]))
        _run(lambda: kept.append(s.lock()))
        _run(lambda: kept.append(xa.lock()))
        with m.lock(), s.lock(), xa.lock():  # all free again
            pass
        assert lib_depth() == 0
    assert lockdep.count(lockdep.ReportKind.BAD_UNLOCK) - before == 30  # each reported
    assert r.revoke()  # no read section left open: returns
    for g in kept:
        assert not g.held
    rcu.synchronize_rcu()
    xa.close()
    m.close()
    s.close()


def lib_depth() -> int:
    from pyforlinux._bindings import lib

    return int(lib.pfl_lockdep_depth())


pytestmark = pytest.mark.lockdep_reports  # the exit reports above are on purpose


def test_dropped_revocable_guards_end_their_read_sections() -> None:
    for _ in range(200):
        r = Revocable([1])
        r.try_access()  # dropped at once
        g = r.try_access()
        del g
        assert r.revoke()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_guards_collected_on_another_thread_are_released_by_their_task() -> None:
    """A dropped guard in a reference cycle may be collected by any thread; only
    its own task may unlock, which it does on its next call (or as it ends)."""
    r = Revocable([1])
    m = new_mutex(0, "stress cycle")
    xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
    ready, go, done = threading.Event(), threading.Event(), threading.Event()

    class Cell:
        me: Any
        g: Any

    def reader() -> None:
        for take in (m.lock, xa.lock, r.try_access):
            c = Cell()
            c.g, c.me = take(), c
            del c
        ready.set()
        go.wait(30)
        current()  # back in pyforlinux: the collected guards are released here
        done.wait(30)

    gc.disable()
    try:
        t = threading.Thread(target=reader)
        t.start()
        assert ready.wait(30)
        gc.collect()  # on this thread, not the owner's
    finally:
        gc.enable()
    go.set()
    end = time.monotonic() + 30
    while m.is_locked() and time.monotonic() < end:
        time.sleep(0.001)
    assert r.revoke()  # the reader's section ended: no wait for ever
    with m.lock(), xa.lock():
        pass
    done.set()
    t.join(30)
    xa.close()
    m.close()


def test_do_unlocked_cannot_unbalance_the_lock() -> None:
    m = new_mutex(0, "stress do_unlocked")
    for _ in range(50):
        g = m.lock()
        with pytest.raises(Error) as e:
            g.do_unlocked(g.unlock)
        assert e.value.errno == code.EBUSY and g.held
        with pytest.raises(Error) as e:
            g.do_unlocked(lambda g=g: g.value)  # type: ignore[misc]
        assert e.value.errno == code.EBUSY
        assert g.do_unlocked(lambda: 3) == 3 and g.held
        kept: list[Any] = []
        with pytest.raises(Error) as e:
            g.do_unlocked(lambda k=kept: k.append(m.lock()))  # type: ignore[misc]
        assert e.value.errno == code.EDEADLK and not g.held and kept[0].held
        kept[0].unlock()
        with pytest.raises(Error):
            g.do_unlocked(5)  # type: ignore[arg-type]
    m.close()


# ---------------------------------------------------------------- 6. fork


_FORK_CHILD = textwrap.dedent("""
    import os, sys, threading, time
    from pyforlinux.alloc import GFP_KERNEL, KBox
    from pyforlinux.error import Error
    from pyforlinux.sync import rcu
    from pyforlinux.sync.lock.mutex import new_mutex

    held_by_other = new_mutex(0, "held by another thread")
    ready, stop = threading.Event(), threading.Event()

    def holder():
        g = held_by_other.lock()
        rg = rcu.read_lock() if HOLD_READ else None
        ready.set()
        stop.wait()
        if rg: rg.unlock()
        g.unlock()

    def churn():
        while not stop.is_set():   # call_rcu() on other threads across the forks
            rcu.call_rcu(lambda: None)

    t = threading.Thread(target=holder)
    t.start(); ready.wait()
    churners = [threading.Thread(target=churn) for _ in range(CHURN)]
    for c in churners: c.start()
    rcu.call_rcu(lambda: None)          # liburcu's worker exists before the fork
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            rc = 0
            b = KBox.new("u64", GFP_KERNEL, 5); rc |= b.read() != 5; b.close()
            rcu.call_rcu(lambda: None)
            try:
                rcu.rcu_barrier(); rcu.synchronize_rcu()
                rc |= 2 * HOLD_READ     # must have been refused
            except Error as e:
                rc |= 4 * (not HOLD_READ or e.errno != 35)
            try:
                held_by_other.lock(); rc |= 8
            except Error as e:
                rc |= 16 * (e.errno != 35)   # EDEADLK: its owner is not in this process
            m = new_mutex(0, "child")
            with m.lock(): pass
            m.close()
            os._exit(rc)
        deadline = time.time() + 30
        while True:
            r, st = os.waitpid(pid, os.WNOHANG)
            if r: break
            if time.time() > deadline:
                os.kill(pid, 9); print("child hung", flush=True); os._exit(3)  # holder never joins
            time.sleep(0.01)
        if os.waitstatus_to_exitcode(st) != 0:
            print("child failed", os.waitstatus_to_exitcode(st), flush=True)
            os._exit(4)  # the holder thread never joins: report, do not hang
    stop.set(); t.join()
    for c in churners: c.join()
    rcu.rcu_barrier()
    held_by_other.close()
    print("ok")
""")


# GCC 12's libasan does not lock its allocator across fork() (newer
# compiler-rt does): a child forked while any parent thread is inside malloc
# hangs in ASan itself, outside pyforlinux (docs/reliability.md, "fork").
# This test runs in the plain build of `make test`; the sanitizer build
# cannot give it a fork-safe malloc.
_ASAN_FORK_UNSAFE = "libasan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(_ASAN_FORK_UNSAFE, reason="libasan (GCC 12) has no fork-safe allocator")
@pytest.mark.parametrize(("hold_read", "churn"), [(0, 0), (1, 0), (0, 2)],
                         ids=["idle-reader", "reader-held-at-fork", "call_rcu-churn"])
def test_fork_children_can_use_the_runtime_and_never_hang(
    hold_read: int, churn: int, tmp_path: pathlib.Path
) -> None:
    script = tmp_path / "fork_child.py"
    script.write_text(f"HOLD_READ = {hold_read}\nCHURN = {churn}\n" + _FORK_CHILD)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=os.environ.copy())
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr


def test_fork_inside_the_forking_threads_own_read_section(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "fork_in_reader.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from pyforlinux.error import Error
        from pyforlinux.sync import rcu
        for _ in range(3):
            for _ in range(50):
                rcu.call_rcu(lambda: None)  # a grace period is likely under way
            with rcu.read_lock():
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
            deadline = time.time() + 30
            while not os.waitpid(pid, os.WNOHANG)[0]:
                if time.time() > deadline:
                    os.kill(pid, 9); sys.exit(3)
                time.sleep(0.01)
        rcu.rcu_barrier()
        print("ok")
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env=os.environ.copy())
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr


# ---------------------------------------------------------------- 8. callbacks that raise


def test_a_driver_data_close_that_raises_still_unbinds() -> None:
    class Data:
        closed = False

        def close(self) -> None:
            Data.closed = True
            raise Error(code.EIO, "driver data close fails")

    for _ in range(5):
        reg = faux.Registration("stress-raising")
        dev = reg.as_bound()
        ran: list[int] = []
        dev.devm_add_action(lambda _d, r=ran: r.append(1), None)  # type: ignore[misc]
        reg.set_drvdata(Data())
        with pytest.raises(Error) as e:
            reg.close()
        assert e.value.errno == code.EIO
        assert Data.closed and ran == [1] and not dev.is_bound()
        reg.close()  # idempotent


def test_vec_retain_with_callbacks_that_change_the_vector() -> None:
    for change in ("clear", "push", "close", "truncate"):
        v = KVec.from_elem("u32", 1, 8, GFP_KERNEL)
        acts = {"clear": v.clear, "push": functools.partial(v.push, 9, GFP_KERNEL),
                "close": v.close, "truncate": functools.partial(v.truncate, 2)}
        with pytest.raises(Error) as e:
            v.retain(lambda _x, a=acts[change]: a() or True)  # type: ignore[misc]
        assert e.value.errno in (code.EBUSY, code.EINVAL)
        if not v.closed:
            assert len(v) in (0, 2, 9)  # what the callback left; nothing resurrected
            assert all(x in (1, 9) for x in v)
        v.close()
    v = KVec.from_elem("u32", 0, 6, GFP_KERNEL)
    for i in range(6):
        v[i] = i
    v.retain(lambda x: x % 2 == 0)
    assert v.to_list() == [0, 2, 4]
    v.close()


# ---------------------------------------------------------------- 9. the device-node bridge
# (the socket server is retired: the bridge serves real processes, and the
# same guarantee holds there: a client cannot make the driver process
# allocate without bound, and a MemoryError never ends a serving thread).


@pytest.fixture
def nova_card() -> Iterator[str]:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=4M"])
    module.load("pyforlinux.drivers.nova")
    yield "/dev/dri/card0"
    module.unload("Nova")
    module.unload("NovaCore")


def test_the_bridge_bounds_what_a_client_makes_it_allocate(nova_card: str) -> None:
    from pyforlinux.cred import Credential
    from pyforlinux.devnode.adapter import MAX_TRANSFER, DrmCore, errno_of
    from pyforlinux.uaccess import MAX_COPY, ProcessMemory

    core = DrmCore()
    me = os.getpid()
    file = core.open(nova_card, me, Credential.new(os.getuid(), gid=os.getgid()))
    try:
        # A page-cache fill or write-back the client sizes: ENOMEM past the cap.
        for size in (1 << 62, (1 << 64) - 1, MAX_TRANSFER + 1):
            with pytest.raises(Error) as e:
                core.mmap_read(file, 0, size)
            assert e.value.errno == code.ENOMEM
        assert core.mmap_read(file, 0, 4096) == bytes(4096)  # nothing mapped there: zeros
        # A copy from the client's memory the bridge makes: ENOMEM, not MemoryError.
        buf = ctypes.create_string_buffer(b"still served")
        mm = ProcessMemory(me)
        for size in (MAX_COPY + 1, (1 << 40) - 1):
            with pytest.raises(Error) as e:
                mm.read(ctypes.addressof(buf), size)
            assert e.value.errno == code.ENOMEM
        assert mm.read(ctypes.addressof(buf), 12) == b"still served"
        # A serving call that runs out of memory answers ENOMEM; the thread goes on.
        assert errno_of(MemoryError()) == -code.ENOMEM
    finally:
        core.release(file)
