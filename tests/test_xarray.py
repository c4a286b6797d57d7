"""pyforlinux.xarray: XArray[T] over lib/xarray.c, its xa_lock guard, and
ownership of entries through ForeignOwnable; a Hypothesis state machine
against a dict."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyforlinux import alloc
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_ATOMIC, GFP_KERNEL, KBox
from pyforlinux.error import Error, code
from pyforlinux.sync.arc import Arc
from pyforlinux.xarray import U32_MAX, ULONG_MAX, AllocKind, StoreError, XArray


def box(v: int) -> Any:
    return KBox.new("u64", GFP_KERNEL, v)


def test_rust_doctest() -> None:
    xa: XArray[Any] = XArray(AllocKind.Alloc1, KBox)
    dead = box(0xDEAD)
    beef = box(0xBEEF)
    with xa.lock() as guard:
        assert guard.get(0) is None
        assert guard.store(0, dead, GFP_KERNEL) is None
        assert guard.get(0).read() == 0xDEAD
        guard.get_mut(0).set(0xFFFF)
        assert guard.get(0).read() == 0xFFFF
        old = guard.store(0, beef, GFP_KERNEL)
        assert old is not None and old.read() == 0xFFFF
        old.close()
        assert guard.get(0).read() == 0xBEEF
        removed = guard.remove(0)
        assert removed is not None
        removed.close()
        assert guard.get(0) is None
    xa.close()


def test_alloc_kinds_and_ranges() -> None:
    with XArray(AllocKind.Alloc, KBox) as a, XArray(AllocKind.Alloc1, KBox) as a1:
        with a.lock() as g:
            assert g.alloc(box(1), GFP_KERNEL) == 0
            assert g.alloc(box(2), GFP_KERNEL) == 1
            assert g.alloc(box(3), GFP_KERNEL, min=10, max=12) == 10
            assert g.alloc(box(4), GFP_KERNEL, min=10, max=12) == 11
            assert g.alloc(box(5), GFP_KERNEL, min=10, max=12) == 12
            with pytest.raises(StoreError) as e:
                g.alloc(box(6), GFP_KERNEL, min=10, max=12)
            assert e.value.errno == code.EBUSY
            assert e.value.error.errno == code.EBUSY
            assert e.value.value.read() == 6  # the value comes back
            e.value.value.close()
            g.remove(11).close()
            assert g.alloc(box(7), GFP_KERNEL, min=10, max=12) == 11
            assert g.indices() == [0, 1, 10, 11, 12]
        with a1.lock() as g1:
            assert g1.alloc(box(1), GFP_KERNEL) == 1  # Alloc1 starts at 1
            assert g1.alloc(box(2), GFP_KERNEL, max=U32_MAX) == 2
        assert a.kind is AllocKind.Alloc and a1.kind is AllocKind.Alloc1


@pytest.mark.parametrize(("lo", "hi"), [(5, 4), (-1, 3), (0, U32_MAX + 1)])
def test_alloc_bad_range_is_einval_and_returns_the_value(lo: int, hi: int) -> None:
    with XArray(AllocKind.Alloc, KBox) as xa, xa.lock() as g:
        v = box(9)
        with pytest.raises(StoreError) as e:
            g.alloc(v, GFP_KERNEL, min=lo, max=hi)
        assert e.value.errno == code.EINVAL
        assert e.value.value is v
        v.close()


def test_iteration_is_in_index_order_with_borrows() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa:
        with xa.lock() as g:
            for i in (ULONG_MAX, 5, 0, 1 << 40, 77):
                assert g.store(i, box(i & 0xFFFF), GFP_KERNEL) is None
            items = [(i, v.read()) for i, v in g.iter()]
        assert items == [(i, i & 0xFFFF) for i in sorted((ULONG_MAX, 5, 0, 1 << 40, 77))]
        assert not xa.is_empty()


def test_close_releases_every_entry_through_from_foreign() -> None:
    before = alloc.live_objects().total
    xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
    with xa.lock() as g:
        for i in range(200):
            g.store(i * 1000, box(i), GFP_KERNEL)
    assert alloc.live_objects().total > before + 200  # boxes plus radix-tree nodes
    xa.close()
    xa.close()  # idempotent
    assert alloc.live_objects().total == before
    for op in (xa.lock, xa.try_lock, xa.is_empty, xa.as_raw):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.EINVAL


def test_arc_entries_are_dropped_by_close() -> None:
    dropped: list[str] = []

    class Payload:
        def close(self) -> None:
            dropped.append("payload")

    a = Arc.new(Payload(), GFP_KERNEL)
    b = a.clone()
    with XArray(AllocKind.Alloc1, Arc) as xa:
        with xa.lock() as g:
            assert g.alloc(b, GFP_KERNEL) == 1
            assert isinstance(g.get(1), object)
        assert dropped == []
    assert dropped == []  # a still holds a reference
    a.close()
    assert dropped == ["payload"]


def test_unit_entries() -> None:
    with XArray(AllocKind.Alloc, None) as xa:
        with xa.lock() as g:
            assert g.store(3, None, GFP_KERNEL) is None
            assert g.alloc(None, GFP_KERNEL) == 0
            assert g.store(3, None, GFP_KERNEL) is None  # replaced a unit
            assert g.indices() == [0, 3]
            with pytest.raises(StoreError) as e:
                g.store(4, 5, GFP_KERNEL)  # type: ignore[arg-type]
            assert e.value.errno == code.EINVAL and e.value.value == 5
            assert g.remove(3) is None
            assert g.indices() == [0]


def test_store_misuse_gives_the_value_back() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa, xa.lock() as g:
        v = box(1)
        for index, value, flags in [(-1, v, GFP_KERNEL), (ULONG_MAX + 1, v, GFP_KERNEL),
                                    (0, v, 0), (0, alloc.VBox.new("u64", GFP_KERNEL), GFP_KERNEL)]:
            with pytest.raises(StoreError) as e:
                g.store(index, value, flags)  # type: ignore[arg-type]
            assert e.value.errno == code.EINVAL
            assert e.value.value is value
        e.value.value.close()
        closed = box(2)
        closed.close()
        with pytest.raises(StoreError) as e:
            g.store(0, closed, GFP_KERNEL)  # a released box cannot be handed over
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e2:
            g.get(-1)
        assert e2.value.errno == code.EINVAL
        assert g.store(0, v, GFP_KERNEL) is None


def test_store_allocation_failure_is_enomem_with_the_value_back() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa, xa.lock() as g:
        v = box(42)
        # every allocation fails: the GFP_NOWAIT attempt under the lock and the
        # GFP_KERNEL retry __xas_nomem() makes with the lock dropped
        with alloc.fail_probability(1_000_000), pytest.raises(StoreError) as e:
            g.store(1 << 20, v, GFP_KERNEL)  # needs radix-tree nodes
        assert e.value.errno == code.ENOMEM
        back = e.value.value
        assert back.read() == 42
        assert g.get(1 << 20) is None
        assert g.store(1 << 20, back, GFP_ATOMIC) is None


def test_borrows_end_with_the_guard_and_conflicts_are_ebusy() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa:
        with xa.lock() as g:
            g.store(1, box(1), GFP_KERNEL)
            g.store(2, box(2), GFP_KERNEL)
            view = g.get(1)
            with pytest.raises(Error) as e:
                g.get_mut(1)  # overlaps the shared borrow
            assert e.value.errno == code.EBUSY
            for op in (lambda: g.remove(1), lambda: g.store(1, box(5), GFP_KERNEL)):
                with pytest.raises(Error) as e:
                    op()
                assert e.value.errno == code.EBUSY
            if isinstance(e.value, StoreError):
                e.value.value.close()
            g.remove(2).close()  # other entries are not affected
            mut = g.get_mut(2)
            assert mut is None
        with pytest.raises(Error) as e:
            view.read()  # the borrow ended with the guard
        assert e.value.errno == code.EINVAL


def test_guard_misuse() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa:
        g = xa.lock()
        with pytest.raises(Error) as e:
            xa.lock()  # would spin on itself forever
        assert e.value.errno == code.EDEADLK
        with pytest.raises(Error) as e:
            xa.try_lock()
        assert e.value.errno == code.EDEADLK
        with pytest.raises(Error) as e:
            xa.close()
        assert e.value.errno == code.EBUSY
        err: list[int] = []

        def other() -> None:
            try:
                g.release()
            except Error as ex:
                err.append(ex.errno)
            err.append(-1 if xa.try_lock() is None else -2)

        t = threading.Thread(target=other)
        t.start()
        t.join(30)
        assert err == [code.EPERM, -1]  # not the owner; and the lock is really held
        g.release()
        with pytest.raises(Error) as e:
            g.release()
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            g.get(0)
        assert e.value.errno == code.EINVAL
        t2 = xa.try_lock()
        assert t2 is not None
        t2.release()


def test_the_lock_is_the_c_xa_lock_and_excludes_other_threads() -> None:
    with XArray(AllocKind.Alloc, KBox) as xa:
        g = xa.lock()
        # the C spinlock is held, by this thread, as lockdep sees it
        assert xa.as_raw().xa_lock.dep_map.owner == lib.pfl_current()
        got: list[int] = []

        def worker() -> None:
            with xa.lock() as g2:  # blocks until the main thread releases
                got.append(g2.alloc(box(7), GFP_KERNEL))

        t = threading.Thread(target=worker)
        t.start()
        t.join(0.05)
        assert t.is_alive() and got == []
        assert g.alloc(box(6), GFP_KERNEL) == 0
        g.release()
        t.join(30)
        assert got == [1]
        assert xa.as_raw().xa_lock.dep_map.owner == ffi.NULL


def test_bad_construction_is_einval() -> None:
    with pytest.raises(Error) as e:
        XArray("Alloc", KBox)  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        XArray(AllocKind.Alloc, int)
    assert e.value.errno == code.EINVAL


# ---- Hypothesis: XArray against a dict ---------------------------------------

indices = st.one_of(st.integers(1, 70), st.sampled_from([1 << 20, 1 << 40, ULONG_MAX]))


class XArrayVsDict(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.kind = AllocKind.Alloc1
        self.xa: XArray[Any] = XArray(self.kind, KBox)
        self.model: dict[int, int] = {}
        self.counter = 0

    def value(self) -> Any:
        self.counter += 1
        return box(self.counter)

    @rule(index=indices)
    def store(self, index: int) -> None:
        v = self.value()
        with self.xa.lock() as g:
            old = g.store(index, v, GFP_KERNEL)
        if index in self.model:
            assert old is not None and old.read() == self.model[index]
            old.close()
        else:
            assert old is None
        self.model[index] = self.counter

    @rule(index=indices)
    def remove(self, index: int) -> None:
        with self.xa.lock() as g:
            got = g.remove(index)
        if index in self.model:
            assert got is not None and got.read() == self.model.pop(index)
            got.close()
        else:
            assert got is None

    @rule(lo=st.integers(0, 60), width=st.integers(0, 10))
    def alloc(self, lo: int, width: int) -> None:
        hi = lo + width
        free = [i for i in range(max(lo, 1), hi + 1) if i not in self.model]
        v = self.value()
        with self.xa.lock() as g:
            if free:
                assert g.alloc(v, GFP_KERNEL, min=lo, max=hi) == free[0]
                self.model[free[0]] = self.counter
            else:
                with pytest.raises(StoreError) as e:
                    g.alloc(v, GFP_KERNEL, min=lo, max=hi)
                assert e.value.errno == code.EBUSY
                e.value.value.close()

    @rule(index=indices)
    def get(self, index: int) -> None:
        with self.xa.lock() as g:
            view = g.get(index)
            assert (view.read() if view is not None else None) == self.model.get(index)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        index = data.draw(st.sampled_from(sorted(self.model)))
        with self.xa.lock() as g:
            g.get_mut(index).set(index & 0xFFFF)
        self.model[index] = index & 0xFFFF

    @invariant()
    def same_contents(self) -> None:
        with self.xa.lock() as g:
            assert [(i, v.read()) for i, v in g] == sorted(self.model.items())

    def teardown(self) -> None:
        self.xa.close()


TestXArrayVsDict = XArrayVsDict.TestCase
TestXArrayVsDict.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
