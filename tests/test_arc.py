"""pyforlinux.sync.arc: Arc, ArcBorrow, UniqueArc over a C refcount_t."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL, AllocError, KBox, LeakWarning, fail_nth, live_objects
from pyforlinux.error import Error, code
from pyforlinux.sync import Arc, ArcBorrow, UniqueArc
from pyforlinux.sync.arc import REFCOUNT_MAX, REFCOUNT_SATURATED
from tests.conftest import last_warning


class Dropped:
    """A value that records being dropped (closed)."""

    def __init__(self) -> None:
        self.drops = 0

    def close(self) -> None:
        self.drops += 1


def live() -> int:
    return live_objects().total


def test_new_clone_close_drops_at_zero_once() -> None:
    base = live()
    d = Dropped()
    a = Arc.new(d, GFP_KERNEL)
    assert live() == base + 1  # the refcount_t
    b = a.clone()
    c = b.clone()
    assert a.refcount() == 3
    assert Arc.ptr_eq(a, c) and a.deref() is d
    a.close()
    b.close()
    assert d.drops == 0 and c.refcount() == 1
    c.close()
    assert d.drops == 1
    assert live() == base


def test_second_close_and_use_after_close_are_einval() -> None:
    a = Arc.new(1, GFP_KERNEL)
    b = a.clone()
    a.close()
    for op in (a.close, a.deref, a.clone, a.as_arc_borrow, a.into_foreign):
        with pytest.raises(Error) as info:
            op()
        assert info.value.errno == code.EINVAL
    assert b.refcount() == 1  # the second close did not decrement
    b.close()


def test_drop_of_owned_kernel_memory() -> None:
    base = live()
    with Arc.new(KBox.new("int", GFP_KERNEL, 3), GFP_KERNEL) as a:
        assert a.deref().read() == 3
    assert live() == base  # the KBox was closed with the last reference


def test_arc_borrow_lives_as_long_as_its_arc() -> None:
    a = Arc.new("x", GFP_KERNEL)
    keep = a.clone()
    borrow = a.as_arc_borrow()
    assert borrow.deref() == "x" and borrow.is_valid()
    c = borrow.clone_arc()
    assert c.refcount() == 3 and borrow.ptr_eq(c)
    c.close()
    a.close()
    assert not borrow.is_valid()
    with pytest.raises(Error) as info:
        borrow.deref()  # the Arc it came from is gone (the object is not)
    assert info.value.errno == code.EINVAL
    keep.close()


def test_arc_borrow_never_reaches_a_freed_object() -> None:
    a = Arc.new(Dropped(), GFP_KERNEL)
    p = a.into_raw()
    borrow = ArcBorrow.from_raw(p)
    assert isinstance(borrow.deref(), Dropped)
    Arc.from_raw(p).close()
    with pytest.raises(Error) as info:
        borrow.deref()
    assert info.value.errno == code.EINVAL
    with pytest.raises(Error) as info:
        ArcBorrow.from_raw(p)
    assert info.value.errno == code.ENOENT


def test_into_raw_from_raw_exactly_once() -> None:
    a = Arc.new([1], GFP_KERNEL)
    p = a.into_raw()
    assert a.closed
    b = Arc.from_raw(p)
    assert b.deref() == [1]
    with pytest.raises(Error) as info:
        Arc.from_raw(p)
    assert info.value.errno == code.ENOENT
    b.close()


def test_into_unique_or_drop() -> None:
    d = Dropped()
    a = Arc.new(d, GFP_KERNEL)
    b = a.clone()
    assert Arc.into_unique_or_drop(a) is None  # not the last: just dropped
    assert b.refcount() == 1 and d.drops == 0
    u = b.into_unique_or_drop()
    assert isinstance(u, UniqueArc) and u.refcount() == 1 and d.drops == 0
    with pytest.raises(Error) as info:
        b.deref()
    assert info.value.errno == code.EINVAL
    u.close()
    assert d.drops == 1


def test_unique_arc_mutate_then_share() -> None:
    u = UniqueArc.new([1], GFP_KERNEL)
    u.deref().append(2)
    u.set([3])
    a = u.into_arc()
    assert u.closed and a.deref() == [3] and a.refcount() == 1
    a.close()
    with pytest.raises(Error) as info:
        u.close()
    assert info.value.errno == code.EINVAL


def test_unique_arc_new_uninit() -> None:
    u = UniqueArc.new_uninit(GFP_KERNEL)
    assert not u.is_init()
    with pytest.raises(Error) as info:
        u.into_arc()
    assert info.value.errno == code.EINVAL
    u.write("later")
    with pytest.raises(Error) as info:
        u.write("again")
    assert info.value.errno == code.EINVAL
    a = Arc.from_unique(u)
    assert a.deref() == "later"
    a.close()
    UniqueArc.new_uninit(GFP_KERNEL).close()  # an unwritten one drops nothing


def test_allocation_failure_is_enomem_without_leak() -> None:
    base = live()
    with fail_nth(1), pytest.raises(AllocError) as info:
        Arc.new(Dropped(), GFP_KERNEL)
    assert info.value.errno == code.ENOMEM
    with fail_nth(1), pytest.raises(Error) as info:
        UniqueArc.new(1, GFP_KERNEL)
    assert info.value.errno == code.ENOMEM
    assert live() == base


def test_clones_and_drops_from_many_threads() -> None:
    d = Dropped()
    root = Arc.new(d, GFP_KERNEL)
    handles = [root.clone() for _ in range(8)]

    def work(h: Arc[Dropped]) -> None:
        mine = [h.clone() for _ in range(200)]
        for m in mine:
            m.close()
        h.close()

    threads = [threading.Thread(target=work, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert root.refcount() == 1 and d.drops == 0
    root.close()
    assert d.drops == 1


def test_forgotten_arc_is_reported_not_freed() -> None:
    a = Arc.new(1, GFP_KERNEL)
    ptr = a._inner.ptr  # type: ignore[union-attr]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del a
        gc.collect()
    assert any(issubclass(w.category, LeakWarning) for w in caught)
    assert lib.pfl_kobj_is_live(ptr)
    lib.pfl_kfree(ptr, 0)


def test_arc_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError):
        Arc()


SATURATE = textwrap.dedent(
    """
    import json
    from pyforlinux._bindings import lib
    from pyforlinux.alloc import GFP_KERNEL
    from pyforlinux.sync import Arc
    from pyforlinux.sync.arc import REFCOUNT_MAX

    warns = lib.pfl_warn_count()
    a = Arc.new("v", GFP_KERNEL)
    ptr = a._inner.ptr
    lib.refcount_set(ptr, REFCOUNT_MAX)  # as if 2**31 - 2 more clones existed
    b = a.clone()  # overflows: saturates
    after_inc = a.refcount()
    c = b.clone()
    for h in (a, b, c):
        h.close()  # no close can bring a saturated count to zero
    print(json.dumps({
        "after_inc": after_inc,
        "after_drops": int(lib.refcount_read(ptr)),
        "still_live": bool(lib.pfl_kobj_is_live(ptr)),
        "warns": lib.pfl_warn_count() - warns,
    }))
    """
)


@pytest.mark.kernel_warns  # the WARN happens in a fresh process: WARN_ONCE fires once per process
def test_refcount_saturation_warns_and_leaks_like_the_kernel() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", SATURATE], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got == {
        "after_inc": REFCOUNT_SATURATED,
        "after_drops": REFCOUNT_SATURATED,
        "still_live": True,
        "warns": 2,
    }
    # refcount_inc past REFCOUNT_MAX, then refcount_dec_and_test of a
    # saturated count: two WARN_ONCE sites of lib/refcount.c.
    assert "refcount_t: saturated; leaking memory." in out.stderr
    assert "refcount_t: underflow; use-after-free." in out.stderr


@pytest.mark.kernel_warns
def test_saturated_arc_in_process_stays_saturated() -> None:
    before = lib.pfl_warn_count()
    a = Arc.new("v", GFP_KERNEL)
    ptr = a._inner.ptr  # type: ignore[union-attr]
    lib.refcount_set(ptr, REFCOUNT_MAX)
    b = a.clone()
    try:
        assert b.refcount() == REFCOUNT_SATURATED
        b.close()
        assert a.refcount() == REFCOUNT_SATURATED  # saturated counts never move
        # WARN_ONCE per site: this process may have warned already.
        new = lib.pfl_warn_count() - before
        assert new in (0, 1, 2)
        if new:
            assert "refcount.c" in last_warning()
    finally:
        lib.refcount_set(ptr, 1)  # test cleanup: un-saturate so the last close frees
        a.close()
    assert not lib.pfl_kobj_is_live(ffi.cast("void *", ptr))
