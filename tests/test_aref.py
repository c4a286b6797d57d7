"""pyforlinux.sync.aref: AlwaysRefCounted and ARef (rust/kernel/sync/aref.rs)."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import LeakWarning, live_objects
from pyforlinux.error import Error, code
from pyforlinux.sync import AlwaysRefCounted, ARef


class CRef:
    """A C-refcounted object: a kmalloc'ed refcount_t, kfree'd at zero."""

    def __init__(self) -> None:
        self.ptr = ffi.cast("refcount_t *", lib.pfl_kmalloc(4, lib.GFP_KERNEL, 0))
        lib.refcount_set(self.ptr, 1)
        self.freed = False

    def inc_ref(self) -> None:
        lib.refcount_inc(self.ptr)

    def dec_ref(self) -> None:
        if lib.refcount_dec_and_test(self.ptr):
            lib.pfl_kfree(self.ptr, 0)
            self.freed = True

    def count(self) -> int:
        return int(lib.refcount_read(self.ptr))

    def as_ptr(self) -> Any:
        return self.ptr


class Task:
    """The calling thread's task_struct, counted by get/put_task_struct."""

    def __init__(self) -> None:
        self.ptr = lib.pfl_current()

    def inc_ref(self) -> None:
        lib.get_task_struct_fn(self.ptr)

    def dec_ref(self) -> None:
        lib.put_task_struct(self.ptr)


def test_protocol_is_structural() -> None:
    obj = CRef()
    assert isinstance(obj, AlwaysRefCounted)
    assert isinstance(Task(), AlwaysRefCounted)
    assert not isinstance(object(), AlwaysRefCounted)
    obj.dec_ref()  # its creation reference
    assert obj.freed


def test_from_raw_adopts_and_close_decrements_once() -> None:
    base = live_objects().total
    obj = CRef()
    r = ARef.from_raw(obj)  # adopts the creation reference
    assert r.deref() is obj and obj.count() == 1
    r.close()
    assert obj.freed and live_objects().total == base
    with pytest.raises(Error) as info:
        r.close()  # a second release raises, it does not decrement
    assert info.value.errno == code.EINVAL
    with pytest.raises(Error) as info:
        r.deref()
    assert info.value.errno == code.EINVAL


def test_new_and_clone_take_increments() -> None:
    obj = CRef()
    a = ARef.from_raw(obj)
    b = ARef.new(obj)
    c = b.clone()
    assert obj.count() == 3
    for r in (a, b):
        r.close()
    assert obj.count() == 1 and not obj.freed
    with c:
        assert c.deref() is obj
    assert obj.freed and c.closed


def test_into_raw_hands_the_increment_back() -> None:
    obj = CRef()
    r = ARef.from_raw(obj)
    assert r.into_raw() is obj
    assert obj.count() == 1
    with pytest.raises(Error) as info:
        r.into_raw()
    assert info.value.errno == code.EINVAL
    ARef.from_raw(obj).close()
    assert obj.freed


def test_with_block_releases_on_exception() -> None:
    obj = CRef()
    with pytest.raises(ValueError), ARef.from_raw(obj):
        raise ValueError
    assert obj.freed


def test_aref_of_a_kernel_task_struct() -> None:
    with ARef.new(Task()) as t:
        with t.clone() as t2:
            assert t2.deref().ptr.pid == lib.pfl_current().pid
        assert t.deref().ptr == lib.pfl_current()


def test_foreign_aref_hands_the_c_address_to_c() -> None:
    obj = CRef()
    ptr = ARef.from_raw(obj).into_foreign()
    assert ptr == ffi.cast("void *", obj.ptr)
    with ARef.borrow(ptr) as view:
        assert view is obj
    back = ARef.from_foreign(ptr)
    with pytest.raises(Error) as info:
        ARef.from_foreign(ptr)
    assert info.value.errno == code.ENOENT
    back.close()
    assert obj.freed


def test_foreign_aref_of_a_python_only_object() -> None:
    class Counted:
        n = 1

        def inc_ref(self) -> None:
            self.n += 1

        def dec_ref(self) -> None:
            self.n -= 1

    obj = Counted()
    r = ARef.from_raw(obj)
    p1 = r.clone().into_foreign()
    p2 = r.into_foreign()
    assert p1 == p2 and p1 != ffi.NULL
    ARef.from_foreign(p1).close()
    ARef.from_foreign(p2).close()
    assert obj.n == 0
    with pytest.raises(Error) as info:
        ARef.from_foreign(p1)
    assert info.value.errno == code.ENOENT


def test_forgotten_aref_is_reported() -> None:
    obj = CRef()
    r = ARef.from_raw(obj)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del r
        gc.collect()
    assert any(issubclass(w.category, LeakWarning) for w in caught)
    assert obj.count() == 1  # the increment stays taken
    obj.dec_ref()


def test_aref_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError):
        ARef()


def test_into_foreign_at_an_address_another_owner_handed_out_keeps_the_aref() -> None:
    from pyforlinux.alloc import GFP_KERNEL, KBox

    box_ptr = KBox.new("int", GFP_KERNEL).into_foreign()

    class Impostor(CRef):
        def as_ptr(self) -> Any:
            return box_ptr

    obj = Impostor()
    r = ARef.from_raw(obj)
    with pytest.raises(Error) as info:
        r.into_foreign()
    assert info.value.errno == code.EEXIST
    assert r.deref() is obj  # still owned: nothing was handed out
    r.close()
    assert obj.freed
    KBox.from_foreign(box_ptr).close()
