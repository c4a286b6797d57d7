"""pyforlinux.kmemleak: live kernel objects named by their allocation site."""

from __future__ import annotations

from typing import Any

from pyforlinux import kmemleak
from pyforlinux._bindings import lib
from pyforlinux.alloc import GFP_KERNEL, KBox
from pyforlinux.xarray import AllocKind, XArray


def _new(before: list[kmemleak.LeakedObject]) -> list[kmemleak.LeakedObject]:
    return kmemleak.since(before)


def test_kernel_c_allocation_names_its_function_and_file() -> None:
    before = kmemleak.scan()
    xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
    with xa.lock() as g:
        # An index past the head slot needs an xa_node from lib/xarray.c.
        g.store(1000, KBox.new("u64", GFP_KERNEL, 7), GFP_KERNEL)
    new = _new(before)
    nodes = [o for o in new if o.site.function == "xas_alloc"]
    assert nodes, [str(o) for o in new]
    assert nodes[0].site.file.endswith("lib/xarray.c") and nodes[0].site.line > 0
    assert nodes[0].cache == "radix_tree_node" and nodes[0].size > 0
    assert "xas_alloc (lib/xarray.c:" in kmemleak.report(nodes)
    xa.close()
    assert not [o for o in _new(before) if o.site.function == "xas_alloc"]


def test_python_allocation_is_reported_as_from_python() -> None:
    before = kmemleak.scan()
    p = lib.pfl_kmalloc(123, lib.GFP_KERNEL, 0)
    try:
        (obj,) = _new(before)
        assert obj.size == 123 and obj.cache == "kmalloc"
        assert obj.site.from_python and "from Python" in str(obj)
    finally:
        lib.pfl_kfree(p, 0)
    assert _new(before) == []


def test_report_is_empty_when_nothing_is_live_and_limits_its_length() -> None:
    assert kmemleak.report([]) == ""
    loc = kmemleak.CodeLocation(1, "x", "f", "a.c", 3)
    kmemleak._cache[1] = loc
    objs = [kmemleak.LeakedObject(i, 8, "kmalloc", 1, 1) for i in range(5)]
    text = kmemleak.report(objs, limit=2)
    assert text.count("live object") == 3 and "and 3 more live object(s)" in text
    assert "allocated at f (a.c:3)" in text


def test_unknown_address_is_not_an_error() -> None:
    assert kmemleak.symbolize(8).function == "?"


def test_run_names_the_site_of_what_a_session_leaked() -> None:
    import io

    from pyforlinux.run import with_modules

    leaked: list[Any] = []

    def body() -> None:
        leaked.append(lib.pfl_kmalloc(77, lib.GFP_KERNEL, 0))

    out = io.StringIO()
    try:
        status = with_modules("nova", [], body, out)
    finally:
        lib.pfl_kfree(leaked[0], 0)
    text = out.getvalue()
    assert status == 1
    assert "live kernel objects after unload: 1" in text
    assert "(size 77, cache kmalloc)" in text and "from Python" in text
