"""pyforlinux.alloc: flags, boxes, vectors, fault injection, live objects."""

from __future__ import annotations

import gc
import threading
import warnings

import pytest

from pyforlinux import alloc
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import (
    __GFP_NOWARN,
    __GFP_ZERO,
    GFP_ATOMIC,
    GFP_KERNEL,
    GFP_KERNEL_ACCOUNT,
    GFP_NOWAIT,
    AllocError,
    Flags,
    KBox,
    KVBox,
    KVec,
    KVVec,
    LeakWarning,
    VBox,
    VVec,
    fail_nth,
    fail_probability,
    live_objects,
)
from pyforlinux.error import Error, code


def live() -> int:
    return live_objects().total


def assert_errno(info: pytest.ExceptionInfo[Error], errno: int) -> None:
    assert isinstance(info.value, Error)
    assert info.value.errno == errno, str(info.value)


# ---------------------------------------------------------------- Flags


def test_flag_constants_are_the_kernels() -> None:
    assert GFP_KERNEL.as_raw() == lib.GFP_KERNEL
    assert GFP_ATOMIC.as_raw() == lib.GFP_ATOMIC
    assert GFP_NOWAIT.as_raw() == lib.GFP_NOWAIT
    assert GFP_KERNEL_ACCOUNT.as_raw() == lib.GFP_KERNEL_ACCOUNT
    assert __GFP_ZERO.as_raw() == lib.__GFP_ZERO
    assert __GFP_NOWARN.as_raw() == lib.__GFP_NOWARN


def test_flags_or_and_in() -> None:
    f = GFP_KERNEL | __GFP_ZERO
    assert f.as_raw() == lib.GFP_KERNEL | lib.__GFP_ZERO
    assert __GFP_ZERO in f
    assert GFP_KERNEL in f
    assert __GFP_NOWARN not in f
    assert f.contains(__GFP_ZERO)
    assert (f & __GFP_ZERO) == __GFP_ZERO
    assert GFP_KERNEL in GFP_KERNEL_ACCOUNT
    assert f == GFP_KERNEL | __GFP_ZERO and hash(f) == hash(GFP_KERNEL | __GFP_ZERO)
    assert repr(f) == "GFP_KERNEL | __GFP_ZERO"
    assert repr(GFP_ATOMIC) == "GFP_ATOMIC"


def test_flags_have_no_bitwise_not() -> None:
    # Rust for Linux issue 1253: !GFP_* builds invalid GFP combinations.
    assert not hasattr(Flags, "__invert__")
    with pytest.raises(TypeError):
        ~GFP_KERNEL  # type: ignore[operator]  # noqa: B018


def test_flags_are_immutable_and_checked() -> None:
    with pytest.raises(AttributeError):
        GFP_KERNEL._raw = 0  # type: ignore[misc]
    with pytest.raises(Error) as info:
        Flags(-1)
    assert_errno(info, code.EINVAL)
    with pytest.raises(TypeError):
        1 in GFP_KERNEL  # type: ignore[operator]  # noqa: B015
    with pytest.raises(TypeError):
        GFP_KERNEL | 1  # type: ignore[operator]
    with pytest.raises(TypeError, match=r"alloc\.Flags"):
        KBox.new("int", lib.GFP_KERNEL)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Box


def test_kbox_new_read_set_close() -> None:
    base = live()
    b = KBox.new("int", GFP_KERNEL, 41)
    assert live() == base + 1
    assert live_objects().live("kmalloc") >= 1
    assert b.read() == 41
    b.set(42)
    assert b.as_ptr()[0] == 42
    assert b.size == 4 and b.ctype is ffi.typeof("int")
    b.close()
    assert b.closed
    assert live() == base
    b.close()  # idempotent
    with pytest.raises(Error) as info:
        b.read()
    assert_errno(info, code.EINVAL)


def test_box_is_a_context_manager_that_frees_on_exception() -> None:
    base = live()
    with pytest.raises(RuntimeError), KBox.new("u64", GFP_KERNEL) as b:
        assert b.read() == 0
        raise RuntimeError("boom")
    assert b.closed
    assert live() == base


def test_kbox_of_a_struct_zeroed_or_initialised() -> None:
    with KBox.new("struct list_head", GFP_KERNEL) as b:
        copy = b.read()
        assert copy.next == ffi.NULL and copy.prev == ffi.NULL
        lib.INIT_LIST_HEAD(b.as_ptr())
        assert b.read().next == b.as_ptr()
        # read() is a copy: changing it does not change the box
        copy.next = b.as_ptr()
        b.set(copy)
        assert b.as_ptr().next == b.as_ptr()
    other = ffi.new("struct list_head *")
    with KBox.new("struct list_head", GFP_KERNEL, {"next": other, "prev": other}) as b2:
        assert b2.as_ptr().prev == other


def test_kbox_bad_type_or_value_is_einval_without_leak() -> None:
    base = live()
    with pytest.raises(Error) as info:
        KBox.new("struct no_such_struct", GFP_KERNEL)
    assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        KBox.new("void", GFP_KERNEL)
    assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        KBox.new("struct list_head", GFP_KERNEL, {"next": 5})
    assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        KBox.new("int", GFP_KERNEL, "forty-two")
    assert_errno(info, code.EINVAL)
    assert live() == base


def test_uninit_box_type_state() -> None:
    u = KBox.new_uninit("u32", GFP_KERNEL | __GFP_ZERO)
    assert not u.is_init()
    with pytest.raises(Error) as info:
        u.read()  # type: ignore[misc]  # mypy: KBox[Uninit] has no read()
    assert_errno(info, code.EINVAL)
    b = u.write(7)
    assert u.closed  # moved into b
    assert b.is_init() and b.read() == 7
    with pytest.raises(Error) as info:
        b.write(8)  # type: ignore[misc]
    assert_errno(info, code.EINVAL)
    b.close()
    u2 = KBox.new_uninit("u32", GFP_KERNEL)
    u2.as_ptr()[0] = 9  # as C would
    b2 = u2.assume_init()
    assert b2.read() == 9
    b2.close()


def test_into_raw_from_raw_and_leak() -> None:
    base = live()
    b = KBox.new("int", GFP_KERNEL, 5)
    p = b.into_raw()
    assert b.closed
    with pytest.raises(Error) as info:
        b.as_ptr()
    assert_errno(info, code.EINVAL)
    b2 = KBox.from_raw(p, "int")
    assert b2.read() == 5
    b2.close()
    assert live() == base
    with pytest.raises(Error) as info:
        KBox.from_raw(p, "int")  # freed: not a live allocation
    assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        KBox.from_raw(ffi.NULL, "int")
    assert_errno(info, code.EINVAL)
    leaked = KBox.new("int", GFP_KERNEL).leak()
    assert lib.pfl_kobj_is_live(leaked)
    lib.pfl_kfree(leaked, 0)


def test_into_inner() -> None:
    base = live()
    assert KBox.new("long", GFP_KERNEL, -3).into_inner() == -3
    assert live() == base


def test_vbox_and_kvbox_use_their_allocators() -> None:
    before = live_objects()
    v = VBox.new("int[1024]", GFP_KERNEL)
    kv = KVBox.new("int[4]", GFP_KERNEL, [1, 2, 3, 4])
    now = live_objects()
    assert now.live("vmalloc") == before.live("vmalloc") + 1
    assert now.live("kmalloc") == before.live("kmalloc") + 1
    assert list(kv.read()[0]) == [1, 2, 3, 4]
    assert v.size == 4096
    v.close()
    kv.close()
    assert live_objects().total == before.total


def test_dropped_box_reports_a_leak_and_does_not_free() -> None:
    b = KBox.new("int", GFP_KERNEL)
    p = b.as_ptr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del b
        gc.collect()
    assert [w for w in caught if issubclass(w.category, LeakWarning)]
    assert "KBox<int>" in str(caught[0].message)
    assert lib.pfl_kobj_is_live(p)  # reported, not freed
    lib.pfl_kfree(p, 0)


# ---------------------------------------------------------------- allocation failure


def test_allocation_failure_is_enomem_and_leaks_nothing() -> None:
    base = live()
    with fail_nth(1) as f, pytest.raises(AllocError) as info:
        KBox.new("int", GFP_KERNEL)
    assert f.triggered
    assert isinstance(info.value, Error)
    assert_errno(info, code.ENOMEM)
    with fail_nth(1), pytest.raises(Error) as info:
        VBox.new("int", GFP_KERNEL)
    assert_errno(info, code.ENOMEM)
    assert live() == base


def test_fail_nth_counts_allocations_of_this_thread_only() -> None:
    base = live()
    boxes = []
    with fail_nth(3) as f:
        boxes.append(KBox.new("int", GFP_KERNEL))
        other: list[object] = []
        t = threading.Thread(target=lambda: other.append(KBox.new("int", GFP_KERNEL)))
        t.start()
        t.join()
        boxes.append(KBox.new("int", GFP_KERNEL))
        with pytest.raises(Error) as info:
            KBox.new("int", GFP_KERNEL)
        assert_errno(info, code.ENOMEM)
        boxes.append(KBox.new("int", GFP_KERNEL))  # one-shot
    assert f.triggered
    for b in [*boxes, *other]:
        b.close()  # type: ignore[attr-defined]
    assert live() == base


def test_fail_nth_not_reached_and_misuse() -> None:
    with fail_nth(5) as f:
        KBox.new("int", GFP_KERNEL).close()
    assert not f.triggered
    assert lib.pfl_fail_nth_get() == 0  # disarmed on exit
    with pytest.raises(Error) as info:
        fail_nth(0)
    assert_errno(info, code.EINVAL)
    with fail_nth(10), pytest.raises(Error) as info, fail_nth(2):
        pass
    assert_errno(info, code.EBUSY)
    assert lib.pfl_fail_nth_get() == 0


def test_fail_probability() -> None:
    outcomes = []
    with fail_probability(500_000):
        for _ in range(200):
            try:
                KBox.new("int", GFP_KERNEL | __GFP_NOWARN).close()
                outcomes.append(True)
            except AllocError:
                outcomes.append(False)
    assert any(outcomes) and not all(outcomes)
    KBox.new("int", GFP_KERNEL).close()  # off again
    for bad in (-1, 1_000_001):
        with pytest.raises(Error) as info:
            fail_probability(bad)
        assert_errno(info, code.EINVAL)


def test_injected_failures_counter() -> None:
    n = alloc.injected_failures()
    with fail_nth(1), pytest.raises(AllocError):
        KBox.new("int", GFP_KERNEL)
    assert alloc.injected_failures() >= n + 1


def test_live_objects_totals_and_caches() -> None:
    before = live_objects()
    names = [c.name for c in before.caches]
    assert names[:3] == ["kmalloc", "vmalloc", "pages"]
    b = KBox.new("char[100]", GFP_KERNEL)
    now = live_objects()
    assert now.total == before.total + 1
    assert now.bytes == before.bytes + 100
    assert now.allocations > before.allocations
    assert now.live("kmalloc") == before.live("kmalloc") + 1
    assert now.live("no such cache") == 0
    b.close()
    assert live_objects().total == before.total


# ---------------------------------------------------------------- Vec


def test_kvec_push_pop_index() -> None:
    base = live()
    v = KVec.new("u32")
    assert v.capacity() == 0 and v.as_ptr() == ffi.NULL and live() == base
    for i in range(100):
        v.push(i, GFP_KERNEL)
    assert len(v) == 100 and v.capacity() >= 100
    assert live() == base + 1
    assert v[0] == 0 and v[-1] == 99 and v.get(100) is None
    v[5] = 500
    assert v.to_list()[4:7] == [4, 500, 6]
    assert v.pop() == 99
    assert v.remove(0) == 0
    assert v.to_list()[:3] == [1, 2, 3]
    for bad in (98, -99):
        with pytest.raises(Error) as info:
            v[bad]
        assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        v.remove(1000)
    assert_errno(info, code.EINVAL)
    v.close()
    v.close()
    assert live() == base
    with pytest.raises(Error) as info:
        v.push(1, GFP_KERNEL)
    assert_errno(info, code.EINVAL)
    assert KVec.new("char").pop() is None


def test_kvec_within_capacity() -> None:
    with KVec.with_capacity("int", 2, GFP_KERNEL) as v:
        v.push_within_capacity(1)
        v.insert_within_capacity(0, 0)
        assert v.to_list() == [0, 1]
        with pytest.raises(Error) as info:
            v.push_within_capacity(2)  # full: Rust's PushError is EINVAL
        assert_errno(info, code.EINVAL)
        v.pop()
        with pytest.raises(Error) as info:
            v.insert_within_capacity(5, 1)
        assert_errno(info, code.EINVAL)


def test_kvec_bulk_operations() -> None:
    with KVec.from_elem("short", -1, 3, GFP_KERNEL) as v:
        assert v.to_list() == [-1, -1, -1]
        v.extend_from_slice(range(5), GFP_KERNEL)
        assert v.to_list() == [-1, -1, -1, 0, 1, 2, 3, 4]
        v.retain(lambda x: x >= 0)
        assert v.to_list() == [0, 1, 2, 3, 4]
        v.resize(7, 9, GFP_KERNEL)
        assert v.to_list() == [0, 1, 2, 3, 4, 9, 9]
        v.truncate(2)
        assert v.to_list() == [0, 1] and not v.is_empty()
        v.clear()
        assert v.is_empty() and v.capacity() >= 7
        with pytest.raises(Error) as info:
            v.reserve(-1, GFP_KERNEL)
        assert_errno(info, code.EINVAL)


def test_kvec_of_structs() -> None:
    with KVec.new("struct list_head") as v:
        a = ffi.new("struct list_head *")
        v.push({"next": a, "prev": a}, GFP_KERNEL)
        v.push(a[0], GFP_KERNEL)
        assert v[0].next == a and v[1].prev == ffi.NULL
        with pytest.raises(Error) as info:
            v.push(ffi.new("int *"), GFP_KERNEL)
        assert_errno(info, code.EINVAL)
        assert len(v) == 2


def test_kvec_allocation_failure_leaves_it_unchanged() -> None:
    with KVec.with_capacity("int", 1, GFP_KERNEL) as v:
        v.push(1, GFP_KERNEL)
        before = live()
        with fail_nth(1), pytest.raises(AllocError):
            v.push(2, GFP_KERNEL)
        assert v.to_list() == [1] and v.capacity() == 1
        assert live() == before
        v.push(2, GFP_KERNEL)
        assert v.to_list() == [1, 2]


def test_vvec_and_kvvec_keep_contents_when_growing() -> None:
    for cls in (VVec, KVVec):
        with cls.new("u64") as v:
            v.extend_from_slice(range(10), GFP_KERNEL)
            v.reserve(1000, GFP_KERNEL)
            assert v.to_list() == list(range(10))


def test_kvec_raw_parts_round_trip() -> None:
    base = live()
    v = KVec.new("int")
    v.extend_from_slice([1, 2, 3], GFP_KERNEL)
    ptr, length, cap = v.into_raw_parts()
    assert v.closed and length == 3 and cap >= 3
    w = KVec.from_raw_parts(ptr, length, cap, "int")
    assert w.to_list() == [1, 2, 3]
    w.close()
    assert live() == base
    with pytest.raises(Error) as info:
        KVec.from_raw_parts(ptr, 1, 1, "int")  # freed
    assert_errno(info, code.EINVAL)
    with pytest.raises(Error) as info:
        KVec.from_raw_parts(ffi.NULL, 2, 1, "int")
    assert_errno(info, code.EINVAL)
