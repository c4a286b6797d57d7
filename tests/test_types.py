"""pyforlinux.types: Opaque, ScopeGuard and ForeignOwnable (rust/kernel/types.rs)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pyforlinux import types
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL, KBox, LeakWarning, VBox, live_objects
from pyforlinux.error import Error, code
from pyforlinux.sync import Arc, ArcBorrow, ARef
from pyforlinux.types import Opaque, ScopeGuard, Unit


def errno_of(fn: Callable[[], object]) -> int:
    with pytest.raises(Error) as info:
        fn()
    return int(info.value.errno)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Opaque


def test_opaque_ffi_init_and_get() -> None:
    op = Opaque.ffi_init("struct list_head", lib.INIT_LIST_HEAD)
    p = op.get()
    assert ffi.typeof(p) is ffi.typeof("struct list_head *")
    assert p.next == p and p.prev == p
    assert lib.list_empty(p)
    assert op.ctype == "struct list_head"


def test_opaque_uninit_new_and_repr_never_reads() -> None:
    op = Opaque.uninit("int[4]")
    assert list(op.get()[0]) == [0, 0, 0, 0]
    op2 = Opaque.new("int", 7)
    assert op2.get()[0] == 7
    op2.get()[0] = 12345
    assert "12345" not in repr(op2) and "Opaque int at 0x" in repr(op2)
    assert errno_of(lambda: Opaque.new("int", "x")) == code.EINVAL
    assert errno_of(lambda: Opaque.uninit("struct nope")) == code.EINVAL


def test_opaque_try_ffi_init_propagates_errno() -> None:
    assert errno_of(lambda: Opaque.try_ffi_init("int", lambda p: -code.EBUSY)) == code.EBUSY
    op = Opaque.try_ffi_init("int", lambda p: 0)
    assert op.get()[0] == 0


# ---------------------------------------------------------------- ScopeGuard


def test_scope_guard_runs_once_on_normal_exit() -> None:
    runs: list[int] = []
    with ScopeGuard.new(lambda: runs.append(1)) as g:
        assert g.is_armed()
    assert runs == [1]
    g.close()
    assert runs == [1]
    assert errno_of(g.dismiss) == code.EINVAL


def test_scope_guard_runs_once_on_exception() -> None:
    runs: list[str] = []
    with pytest.raises(KeyError), ScopeGuard.new_with_data("data", runs.append):
        raise KeyError("boom")
    assert runs == ["data"]


def test_scope_guard_dismiss_returns_the_data() -> None:
    runs: list[list[int]] = []
    with ScopeGuard.new_with_data([1, 2], runs.append) as g:
        g.data.append(3)
        assert g.dismiss() == [1, 2, 3]
    assert runs == []
    assert errno_of(g.dismiss) == code.EINVAL
    assert errno_of(lambda: g.data) == code.EINVAL


def test_scope_guard_guards_a_kernel_allocation() -> None:
    base = live_objects().total
    with pytest.raises(RuntimeError), ScopeGuard.new_with_data(
        KBox.new("int", GFP_KERNEL), lambda b: b.close()
    ):
        raise RuntimeError("error path frees the box")
    assert live_objects().total == base


def test_armed_scope_guard_dropped_is_reported_not_run() -> None:
    runs: list[None] = []
    g = ScopeGuard.new(lambda: runs.append(None))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del g
        gc.collect()
    assert any(issubclass(w.category, LeakWarning) for w in caught)
    assert runs == []


# ---------------------------------------------------------------- ForeignOwnable


class CRef:
    """An AlwaysRefCounted C object: a kmalloc'ed refcount_t, freed at zero."""

    def __init__(self) -> None:
        self.ptr = ffi.cast("refcount_t *", lib.pfl_kmalloc(4, lib.GFP_KERNEL, 0))
        lib.refcount_set(self.ptr, 1)

    def inc_ref(self) -> None:
        lib.refcount_inc(self.ptr)

    def dec_ref(self) -> None:
        if lib.refcount_dec_and_test(self.ptr):
            lib.pfl_kfree(self.ptr, 0)

    def as_ptr(self) -> Any:
        return self.ptr


@dataclass
class Kind:
    name: str
    cls: Any
    make: Callable[[], Any]
    align: int


KINDS = [
    Kind("KBox", KBox, lambda: KBox.new("long", GFP_KERNEL, 7), 16),
    Kind("VBox", VBox, lambda: VBox.new("long", GFP_KERNEL, 7), 16),
    Kind("Arc", Arc, lambda: Arc.new([7], GFP_KERNEL), 16),
    Kind("ARef", ARef, lambda: ARef.from_raw(CRef()), 16),
    Kind("Unit", Unit, lambda: None, 8),
]


def drop(owner: Any) -> None:
    if owner is not None:
        owner.close()


@pytest.fixture(params=KINDS, ids=lambda k: k.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def test_into_foreign_is_a_non_null_aligned_void_pointer(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    assert ffi.typeof(ptr) is ffi.typeof("void *")
    addr = int(ffi.cast("uintptr_t", ptr))
    assert addr != 0 and addr % kind.align == 0
    drop(types.from_foreign(kind.cls, ptr))


def test_from_foreign_exactly_once(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    drop(kind.cls.from_foreign(ptr))
    assert errno_of(lambda: kind.cls.from_foreign(ptr)) == code.ENOENT


def test_borrow_after_from_foreign_is_enoent(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    drop(kind.cls.from_foreign(ptr))
    assert errno_of(lambda: kind.cls.borrow(ptr)) == code.ENOENT
    assert errno_of(lambda: kind.cls.borrow_mut(ptr)) == code.ENOENT


def test_overlapping_borrow_mut_is_ebusy(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    with kind.cls.borrow(ptr), kind.cls.borrow(ptr):  # shared borrows may overlap
        assert errno_of(lambda: kind.cls.borrow_mut(ptr)) == code.EBUSY
    with kind.cls.borrow_mut(ptr):
        assert errno_of(lambda: kind.cls.borrow_mut(ptr)) == code.EBUSY
        assert errno_of(lambda: kind.cls.borrow(ptr)) == code.EBUSY
    with kind.cls.borrow_mut(ptr):  # fine again once the others ended
        pass
    drop(kind.cls.from_foreign(ptr))


def test_from_foreign_while_borrowed_is_ebusy(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    b = kind.cls.borrow(ptr)
    assert errno_of(lambda: kind.cls.from_foreign(ptr)) == code.EBUSY
    b.release()
    b.release()
    assert errno_of(b.get) == code.EINVAL  # the borrow is over
    drop(kind.cls.from_foreign(ptr))


def test_dropped_borrow_ends(kind: Kind) -> None:
    ptr = types.into_foreign(kind.make())
    kind.cls.borrow_mut(ptr)  # dropped at once
    gc.collect()
    drop(kind.cls.from_foreign(ptr))


def test_unknown_and_null_pointers(kind: Kind) -> None:
    stranger = lib.pfl_kmalloc(16, lib.GFP_KERNEL, 0)  # never handed out
    assert errno_of(lambda: kind.cls.from_foreign(stranger)) == code.ENOENT
    assert errno_of(lambda: kind.cls.borrow(stranger)) == code.ENOENT
    assert errno_of(lambda: kind.cls.borrow_mut(stranger)) == code.ENOENT
    lib.pfl_kfree(stranger, 0)
    assert errno_of(lambda: kind.cls.from_foreign(ffi.NULL)) == code.EINVAL
    assert kind.cls.try_from_foreign(ffi.NULL) is None


def test_pointer_of_another_kind_is_einval() -> None:
    box_ptr = KBox.new("int", GFP_KERNEL).into_foreign()
    arc_ptr = Arc.new(1, GFP_KERNEL).into_foreign()
    assert errno_of(lambda: Arc.from_foreign(box_ptr)) == code.EINVAL
    assert errno_of(lambda: VBox.from_foreign(box_ptr)) == code.EINVAL
    assert errno_of(lambda: KBox.borrow(arc_ptr)) == code.EINVAL
    assert errno_of(lambda: Unit.from_foreign(arc_ptr)) == code.EINVAL
    KBox.from_foreign(box_ptr).close()
    Arc.from_foreign(arc_ptr).close()


def test_consumed_owner_cannot_be_used_or_handed_out_twice() -> None:
    b = KBox.new("int", GFP_KERNEL)
    ptr = b.into_foreign()
    assert errno_of(b.read) == code.EINVAL
    assert errno_of(b.into_foreign) == code.EINVAL
    b.close()  # a moved box is not freed by close
    KBox.from_foreign(ptr).close()


def test_kbox_borrows_read_and_write_the_c_object() -> None:
    ptr = KBox.new("int", GFP_KERNEL, 1).into_foreign()
    with KBox.borrow(ptr) as ref:
        assert ref.read() == 1
        assert errno_of(lambda: ref.set(2)) == code.EPERM
    assert errno_of(ref.read) == code.EINVAL  # the view ended with the borrow
    with KBox.borrow_mut(ptr) as ref:
        ref.set(2)
        assert ffi.cast("int *", ptr)[0] == 2
    b = KBox.from_foreign(ptr)
    assert b.read() == 2
    b.close()


def test_arc_can_be_foreign_owned_several_times() -> None:
    a = Arc.new("shared", GFP_KERNEL)
    p1 = a.clone().into_foreign()
    p2 = a.into_foreign()
    assert p1 == p2
    with Arc.borrow(p1) as view:
        assert isinstance(view, ArcBorrow) and view.deref() == "shared"
        # Not the last foreign ownership: taking one back is fine.
        first = Arc.from_foreign(p1)
        assert errno_of(lambda: Arc.from_foreign(p2)) == code.EBUSY
    assert errno_of(view.deref) == code.EINVAL
    first.close()
    Arc.from_foreign(p2).close()
    assert errno_of(lambda: Arc.from_foreign(p2)) == code.ENOENT


def test_unit_is_counted_and_views_none() -> None:
    p1 = Unit.into_foreign(None)
    p2 = Unit.into_foreign()
    assert p1 == p2
    with Unit.borrow(p1) as view:
        assert view is None
    Unit.from_foreign(p1)
    Unit.try_from_foreign(p2)
    assert errno_of(lambda: Unit.from_foreign(p1)) == code.ENOENT
    Unit.try_from_foreign(ffi.NULL)
    assert errno_of(lambda: Unit.into_foreign(0)) == code.EINVAL  # type: ignore[arg-type]


def test_into_foreign_of_a_non_owner_is_einval() -> None:
    assert errno_of(lambda: types.into_foreign(42)) == code.EINVAL
