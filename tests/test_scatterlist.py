"""pyforlinux.scatterlist: SGTable[Owned]/SGTable[Borrowed]/SGEntry over the
real lib/scatterlist.c, DMA-mapped for a device, revoked at unbind.

Includes a Hypothesis property test of the coalescing and max-segment
rules against a Python model, a stateful test of table lifetimes across
device unbinds, and a mypy run proving Owned-only operations are type
errors on a Borrowed table."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from pyforlinux import alloc, dma, faux
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL
from pyforlinux.device import Bound, Device
from pyforlinux.dma import DataDirection, DmaMask, IommuMapper
from pyforlinux.error import Error, code
from pyforlinux.page import PAGE_SHIFT, PAGE_SIZE, PageBuffer, PageIter, Pages
from pyforlinux.scatterlist import Borrowed, SGEntry, SGTable

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def reg() -> Iterator[faux.Registration]:
    r = faux.Registration("test-dev")
    yield r
    r.close()


@pytest.fixture
def dev(reg: faux.Registration) -> Device[Bound]:
    return reg.as_bound()


class PageList:
    """An AsPageIter over pages someone else owns (a test double that records close)."""

    def __init__(self, addrs: list[int], size: int, on_close: Any = None) -> None:
        self.addrs = addrs
        self.size = size
        self.closed = False
        self.on_close = on_close

    def _check(self) -> None:
        pass

    def page_iter(self) -> PageIter:
        return PageIter(self, list(self.addrs), self.size)

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()
        self.closed = True


def model(pfns: list[int], size: int, max_segment: int) -> list[tuple[int, int]]:
    """The entries sg_alloc_table_from_pages_segment() makes: (first pfn, length).

    Contiguous pfns merge into one entry; an entry never exceeds max_segment
    (aligned down to PAGE_SIZE); the lengths add up to size (only the last
    entry may be short)."""
    max_seg = max_segment & ~(PAGE_SIZE - 1)
    out = []
    cur = 0
    while cur < len(pfns):
        j = cur + 1
        while j < len(pfns) and (j - cur + 1) * PAGE_SIZE <= max_seg and pfns[j] == pfns[j - 1] + 1:
            j += 1
        chunk = (j - cur) * PAGE_SIZE
        out.append((pfns[cur], min(size, chunk)))
        size -= chunk
        cur = j
    return out


def entries(t: SGTable[Any]) -> list[tuple[int, int]]:
    return [(e.page_pfn(), e.dma_len()) for e in t]


# ---- the Rust doctest and the basics ---------------------------------------------

def test_rust_doctest_four_pages_to_device(dev: Device[Bound]) -> None:
    size = 4 * PAGE_SIZE
    pages = PageBuffer.with_capacity(size, GFP_KERNEL)
    sgt = SGTable.new(dev, pages, DataDirection.ToDevice, GFP_KERNEL)
    ents = list(sgt)
    assert len(ents) == 4  # vmalloc-like pages never merge here
    assert all(isinstance(e, SGEntry) for e in ents)
    assert sum(e.dma_len() for e in ents) == size
    # dma-direct: the DMA address is the page's (physical) address
    for e, p in zip(ents, pages.page_iter(), strict=True):
        assert e.dma_address() == p.phys_addr() == e.page_pfn() << PAGE_SHIFT
    assert sgt.as_raw().nents == sgt.as_raw().orig_nents == 4
    assert sgt.is_mapped() and sgt.direction is DataDirection.ToDevice
    assert sgt.device.same_device(dev)
    sgt.close()
    assert pages.closed  # the table owned the pages


def test_contiguous_pages_merge_up_to_the_max_segment(dev: Device[Bound]) -> None:
    block = Pages.alloc(GFP_KERNEL, 4)  # 16 contiguous pages, 64 KiB
    pl = PageList([p.phys_addr() for p in block.page_iter()], 16 * PAGE_SIZE)
    with SGTable.new(dev, pl, DataDirection.Bidirectional, GFP_KERNEL) as sgt:
        assert entries(sgt) == [(block.pfn(), 16 * PAGE_SIZE)]  # default max 64 KiB
    dma.dma_set_max_seg_size(dev, 4 * PAGE_SIZE + 123)  # aligned down to 4 pages
    with SGTable.new(dev, PageList(pl.addrs, pl.size), DataDirection.ToDevice, GFP_KERNEL) as sgt:
        assert entries(sgt) == [(block.pfn() + 4 * i, 4 * PAGE_SIZE) for i in range(4)]
    block.close()


def test_the_last_entry_is_short_when_size_is_not_page_multiple(dev: Device[Bound]) -> None:
    with SGTable.new(
        dev, PageBuffer.with_capacity(2 * PAGE_SIZE + 5, GFP_KERNEL), DataDirection.ToDevice,
        GFP_KERNEL,
    ) as sgt:
        assert [e.dma_len() for e in sgt] == [PAGE_SIZE, PAGE_SIZE, 5]


def test_chained_tables_iterate_through_the_real_sg_next(dev: Device[Bound]) -> None:
    n = 2 * int(lib.SG_MAX_SINGLE_ALLOC) + 17  # 273 entries: three chained chunks
    buf = PageBuffer.with_capacity(n * PAGE_SIZE, GFP_KERNEL)
    with SGTable.new(dev, buf, DataDirection.FromDevice, GFP_KERNEL) as sgt:
        raw = sgt.as_raw()
        assert raw.nents == n
        ents = list(sgt)
        assert len(ents) == n
        assert [e.page_pfn() for e in ents] == [p.pfn() for p in buf.page_iter()]
        # the chain links are real: the last slot of the first chunk is a chain entry
        first = raw.sgl
        assert lib.sg_is_chain(first + int(lib.SG_MAX_SINGLE_ALLOC) - 1)
        assert lib.pfl_sgtable_dma_bytes(raw) == n * PAGE_SIZE
        assert dma.live_mappings(dev) == n


def test_the_device_reads_the_buffer_through_the_entries(dev: Device[Bound]) -> None:
    data = bytes(range(251)) * 50
    buf = PageBuffer.with_capacity(len(data), GFP_KERNEL)
    buf.extend_from_slice(data, GFP_KERNEL)
    with SGTable.new(dev, buf, DataDirection.Bidirectional, GFP_KERNEL) as sgt:
        seen = b"".join(dma.device_read(dev, e.dma_address(), e.dma_len()) for e in sgt)
        assert seen == data
        last = list(sgt)[-1]
        dma.device_write(dev, last.dma_address(), b"written by the device")
        assert buf.read(last.offset() + (len(list(sgt)) - 1) * PAGE_SIZE, 7) == b"written"


def test_iommu_mapped_table_for_a_32_bit_device(dev: Device[Bound]) -> None:
    iommu = IommuMapper()
    dma.set_mapper(dev, iommu)
    dma.dma_set_mask(dev, DmaMask.new(32))
    data = b"\xa5" * (5 * PAGE_SIZE)
    buf = PageBuffer.with_capacity(len(data), GFP_KERNEL)
    buf.extend_from_slice(data, GFP_KERNEL)
    with SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL) as sgt:
        addrs = [e.dma_address() for e in sgt]
        assert all(iommu.base <= a < 1 << 32 for a in addrs)
        assert addrs == [addrs[0] + i * PAGE_SIZE for i in range(5)]
        assert dma.device_read(dev, addrs[0], len(data)) == data
    assert iommu.mapped_pages() == 0 and dma.live_mappings(dev) == 0


def test_dma_direct_cannot_reach_high_memory_from_a_32_bit_device(dev: Device[Bound]) -> None:
    dma.dma_set_mask(dev, DmaMask.new(32))
    buf = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    with pytest.raises(Error) as e:
        SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
    assert e.value.errno == code.EIO
    buf.close()  # the failed table gave the pages back


# ---- misuse ---------------------------------------------------------------------

def test_empty_pages_are_einval(dev: Device[Bound]) -> None:
    with PageBuffer.with_capacity(0, GFP_KERNEL) as empty:
        with pytest.raises(Error) as e:
            SGTable.new(dev, empty, DataDirection.ToDevice, GFP_KERNEL)
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        SGTable.new(dev, PageList([], 0), DataDirection.ToDevice, GFP_KERNEL)
    assert e.value.errno == code.EINVAL


def test_max_segment_below_a_page_is_einval_without_a_warn(dev: Device[Bound]) -> None:
    dev.dma.max_segment_size = 100  # set behind dma_set_max_seg_size's back
    with PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL) as buf:
        with pytest.raises(Error) as e:
            SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
        assert e.value.errno == code.EINVAL


@pytest.mark.parametrize("bad", ["dir", "flags", "pages", "dev"])
def test_bad_arguments_are_einval(dev: Device[Bound], bad: str) -> None:
    args: dict[str, Any] = {
        "dev": dev, "pages": PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL),
        "direction": DataDirection.ToDevice, "flags": GFP_KERNEL,
    }
    buf = args["pages"]
    args[{"dir": "direction"}.get(bad, bad)] = {
        "dir": DataDirection.None_, "flags": 0, "pages": object(), "dev": "dev",
    }[bad]
    with pytest.raises(Error) as e:
        SGTable.new(**args)
    assert e.value.errno == code.EINVAL
    buf.close()


def test_the_table_owns_its_pages(dev: Device[Bound]) -> None:
    buf = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    sgt = SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
    with pytest.raises(Error) as e:
        buf.close()  # would free memory the device may be reading
    assert e.value.errno == code.EBUSY
    with pytest.raises(Error) as e:
        SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)  # one owner only
    assert e.value.errno == code.EBUSY
    assert dma.live_mappings(dev) == 1  # the refused second table mapped nothing
    sgt.close()
    assert buf.closed


def test_a_stale_device_is_enodev() -> None:
    reg = faux.Registration("gone")
    dev = reg.as_bound()
    reg.close()
    buf = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    with pytest.raises(Error) as e:
        SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
    assert e.value.errno == code.ENODEV
    buf.close()


def test_use_after_close_is_einval(dev: Device[Bound]) -> None:
    sgt = SGTable.new(dev, PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL),
                      DataDirection.ToDevice, GFP_KERNEL)
    entry = next(iter(sgt))
    view = sgt.deref()
    it = iter(view)
    sgt.close()
    sgt.close()  # idempotent
    assert not sgt.is_mapped()
    for op in (sgt.iter, sgt.as_raw, sgt.deref, entry.dma_address, entry.dma_len,
               view.iter, lambda: next(it)):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        sgt.__enter__()
    assert e.value.errno == code.EINVAL


# ---- the device unbinds -------------------------------------------------------------

def test_unbind_revokes_the_mapping_and_use_is_enodev() -> None:
    reg = faux.Registration("test-dev")
    dev = reg.as_bound()
    buf = PageBuffer.with_capacity(3 * PAGE_SIZE, GFP_KERNEL)
    sgt = SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
    entry = next(iter(sgt))
    addr = entry.dma_address()
    it = sgt.iter()
    view = sgt.deref()
    assert dma.live_mappings(dev) == 3
    reg.close()  # unbind: devres unmaps the table before the unbind completes
    assert dma.live_mappings(dev) == 0
    assert not sgt.is_mapped()
    for op in (sgt.iter, view.iter, entry.dma_address, entry.dma_len, lambda: next(it)):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.ENODEV
    with pytest.raises(Error) as e:
        dma.device_read(dev, addr, 1)  # the device can no longer reach the buffer
    assert e.value.errno == code.EFAULT
    with pytest.raises(Error) as e:
        buf.close()  # still the table's
    assert e.value.errno == code.EBUSY
    sgt.close()  # frees the table and the pages; the unmap is not repeated
    assert buf.closed


def test_teardown_order_is_unmap_then_sg_free_table_then_pages(dev: Device[Bound]) -> None:
    events: list[tuple[str, bool]] = []
    block = Pages.alloc(GFP_KERNEL, 1)
    sgl: list[Any] = []

    class Recording(dma.DirectMapper):
        def unmap_ranges(self, d: Device[Any], mappings: list[dma.Mapping]) -> None:
            events.append(("unmap", bool(lib.pfl_kobj_is_live(sgl[0]))))

    dma.set_mapper(dev, Recording())
    pl = PageList(
        [p.phys_addr() for p in block.page_iter()], 2 * PAGE_SIZE,
        on_close=lambda: events.append(("pages", bool(lib.pfl_kobj_is_live(sgl[0])))),
    )
    sgt = SGTable.new(dev, pl, DataDirection.ToDevice, GFP_KERNEL)
    sgl.append(ffi.cast("void *", sgt.as_raw().sgl))
    sgt.close()
    # the sg_table was alive at the unmap and freed before the pages went
    assert events == [("unmap", True), ("pages", False)]
    block.close()


@pytest.mark.parametrize("npages", [1, 300])
def test_allocation_failures_are_enomem_and_leave_nothing_behind(
    dev: Device[Bound], npages: int
) -> None:
    buf = PageBuffer.with_capacity(npages * PAGE_SIZE, GFP_KERNEL)
    failures = 0
    for n in range(1, 20):
        err: Error | None = None
        with alloc.fail_nth(n) as f:
            try:
                sgt = SGTable.new(dev, buf, DataDirection.ToDevice, GFP_KERNEL)
            except Error as e:
                err = e
        if err is None:
            assert not f.triggered
            break
        assert f.triggered
        assert err.errno == code.ENOMEM
        assert dma.live_mappings(dev) == 0
        failures += 1
    assert failures >= 1  # every allocation point of sg_alloc_table_from_pages was hit
    assert len(list(sgt)) == npages
    sgt.close()


def test_concurrent_unbind_while_reading_entries() -> None:
    reg = faux.Registration("test-dev")
    dev = reg.as_bound()
    sgt = SGTable.new(dev, PageBuffer.with_capacity(8 * PAGE_SIZE, GFP_KERNEL),
                      DataDirection.ToDevice, GFP_KERNEL)
    outcomes: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                addrs = [e.dma_address() for e in sgt]
            except Error as err:
                outcomes.append(f"errno {err.errno}")
                return
            except BaseException as exc:  # reported by the main thread
                outcomes.append(repr(exc))
                return
            # a read inside the access guard never sees a half-unmapped table
            outcomes.append("ok" if dma.DMA_MAPPING_ERROR not in addrs else "torn")

    t = threading.Thread(target=reader)
    t.start()
    while not outcomes and t.is_alive():
        stop.wait(0.001)
    reg.close()
    stop.set()
    t.join(30)
    assert not t.is_alive()
    assert outcomes[0] == "ok"
    assert set(outcomes) <= {"ok", f"errno {code.ENODEV}"}, outcomes
    with pytest.raises(Error) as e:
        list(sgt)
    assert e.value.errno == code.ENODEV
    sgt.close()


# ---- Borrowed --------------------------------------------------------------------------

def test_from_raw_iterates_the_mapped_entries_of_a_c_table(dev: Device[Bound]) -> None:
    block = Pages.alloc(GFP_KERNEL, 2)
    raw = ffi.new("struct sg_table *")
    arr = ffi.new("struct page *[]", [p.as_ptr() for p in block.page_iter()])
    assert lib.sg_alloc_table_from_pages_segment(
        raw, arr, 4, 0, 4 * PAGE_SIZE, 2 * PAGE_SIZE, GFP_KERNEL.as_raw()) == 0
    view: SGTable[Borrowed] = SGTable.from_raw(raw)
    assert raw.nents == raw.orig_nents == 2  # sg_alloc_table sets nents to the CPU count
    dma.map_sgtable(dev, raw, DataDirection.ToDevice)
    assert entries(view) == [(block.pfn(), 2 * PAGE_SIZE), (block.pfn() + 2, 2 * PAGE_SIZE)]
    raw.nents = 1  # iteration stops at nents (the mapped count), as in Rust
    assert len(list(view)) == 1
    raw.nents = 2
    dma.unmap_sgtable(dev, raw, DataDirection.ToDevice)
    assert list(view) == []  # the unmap left no mapped entries
    lib.sg_free_table(raw)
    block.close()


@pytest.mark.parametrize("bad", [None, 0, "sgt"])
def test_from_raw_rejects_non_tables(bad: Any) -> None:
    with pytest.raises(Error) as e:
        SGTable.from_raw(bad)
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        SGTable.from_raw(ffi.cast("struct sg_table *", 0))
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        SGTable.from_raw(ffi.new("struct scatterlist *"))
    assert e.value.errno == code.EINVAL


def test_owned_derefs_to_borrowed(dev: Device[Bound]) -> None:
    with SGTable.new(dev, PageBuffer.with_capacity(2 * PAGE_SIZE, GFP_KERNEL),
                     DataDirection.ToDevice, GFP_KERNEL) as sgt:
        view = sgt.deref()
        assert repr(view) == "<SGTable[Borrowed]>"
        assert entries(view) == entries(sgt)
        assert view.as_raw() == sgt.as_raw()


def test_mypy_rejects_owned_only_operations_on_a_borrowed_table(tmp_path: pathlib.Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from typing import Any\n"
        "from pyforlinux.page import PageBuffer\n"
        "from pyforlinux.scatterlist import Borrowed, Owned, SGTable\n"
        "def f(ptr: Any, owned: SGTable[Owned[PageBuffer]]) -> None:\n"
        "    b: SGTable[Borrowed] = SGTable.from_raw(ptr)\n"
        "    for e in b:\n"
        "        e.dma_address()\n"
        "    v: SGTable[Borrowed] = owned.deref()\n"
        "    owned.close()\n"
        "    b.close()\n"  # line 10
        "    v.deref()\n"  # line 11
        "    with b:\n"  # line 12
        "        pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), str(snippet)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(str(snippet))]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(lines) == 4, proc.stdout
    assert 'snippet.py:10: error: Invalid self argument "SGTable[Borrowed]" to attribute ' \
        'function "close"' in "\n".join(lines)
    assert any(":11: error: Invalid self argument" in ln and '"deref"' in ln for ln in lines)
    assert any(":12: error: Invalid self argument" in ln and '"__enter__"' in ln for ln in lines)


# ---- Hypothesis: the coalescing and max-segment rules ----------------------------------

@pytest.fixture(scope="module")
def pool() -> Iterator[tuple[Pages, list[Pages]]]:
    block = Pages.alloc(GFP_KERNEL, 5)  # 32 contiguous pages
    singles = [Pages.alloc(GFP_KERNEL, 0) for _ in range(6)]
    yield block, singles
    block.close()
    for s in singles:
        s.close()


@pytest.fixture(scope="module")
def mod_reg() -> Iterator[faux.Registration]:
    r = faux.Registration("hypothesis-dev")
    yield r
    r.close()


piece = st.one_of(
    st.tuples(st.just("run"), st.integers(0, 31), st.integers(1, 12)),
    st.tuples(st.just("single"), st.integers(0, 5), st.just(1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(piece, min_size=1, max_size=6),
    max_segment=st.integers(PAGE_SIZE, 24 * PAGE_SIZE),
    tail=st.integers(0, PAGE_SIZE - 1),
    iommu=st.booleans(),
)
def test_sg_table_matches_the_coalescing_model(
    pool: tuple[Pages, list[Pages]], mod_reg: faux.Registration,
    pieces: list[tuple[str, int, int]], max_segment: int, tail: int, iommu: bool,
) -> None:
    block, singles = pool
    pfns: list[int] = []
    for kind, start, n in pieces:
        if kind == "run":
            pfns += [block.pfn() + i for i in range(start, min(start + n, 32))]
        else:
            pfns.append(singles[start].pfn())
    size = len(pfns) * PAGE_SIZE - tail
    dev = mod_reg.as_bound()
    dma.set_mapper(dev, IommuMapper() if iommu else None)
    dma.dma_set_max_seg_size(dev, max_segment)
    pl = PageList([p << PAGE_SHIFT for p in pfns], size)
    with SGTable.new(dev, pl, DataDirection.Bidirectional, GFP_KERNEL) as sgt:
        got = entries(sgt)
        assert got == model(pfns, size, max_segment)
        # the rules themselves, independent of the model:
        assert sum(length for _, length in got) == size
        assert all(0 < length <= max_segment for _, length in got)
        assert got[0][0] == pfns[0]
        addrs = [e.dma_address() for e in sgt]
        if iommu:  # one contiguous IOVA range, page granular
            assert all(b - a == -(-ln // PAGE_SIZE) * PAGE_SIZE
                       for a, b, (_, ln) in zip(addrs, addrs[1:], got, strict=False))
        else:
            assert addrs == [p << PAGE_SHIFT for p, _ in got]
        assert dma.live_mappings(dev) == len(got)
    assert pl.closed and dma.live_mappings(dev) == 0
    dma.set_mapper(dev, None)


# ---- Hypothesis: table lifetimes across unbinds ----------------------------------------

class SGTableLifetimes(RuleBasedStateMachine):
    """Tables are created, closed, and outlived by their device's binding."""

    tables = Bundle("tables")

    def __init__(self) -> None:
        super().__init__()
        self.reg = faux.Registration("machine-dev")
        self.gen = 0
        self.live: dict[int, tuple[SGTable[Any], int, int]] = {}  # id -> (table, gen, nents)
        self.next_id = 0

    @rule(target=tables, npages=st.integers(1, 6), direction=st.sampled_from(
        [DataDirection.ToDevice, DataDirection.FromDevice, DataDirection.Bidirectional]))
    def new(self, npages: int, direction: DataDirection) -> int:
        buf = PageBuffer.with_capacity(npages * PAGE_SIZE, GFP_KERNEL)
        sgt = SGTable.new(self.reg.as_bound(), buf, direction, GFP_KERNEL)
        self.next_id += 1
        self.live[self.next_id] = (sgt, self.gen, npages)
        return self.next_id

    @rule(tid=consumes(tables))
    def close(self, tid: int) -> None:
        sgt, _, _ = self.live.pop(tid)
        sgt.close()

    @rule()
    def unbind_and_rebind(self) -> None:
        self.reg.close()
        self.reg = faux.Registration("machine-dev")
        self.gen += 1

    @rule(tid=tables)
    def iterate(self, tid: int) -> None:
        if tid not in self.live:
            return
        sgt, gen, npages = self.live[tid]
        if gen == self.gen:
            assert len(list(sgt)) == npages
        else:
            with pytest.raises(Error) as e:
                list(sgt)
            assert e.value.errno == code.ENODEV

    @invariant()
    def mappings_match(self) -> None:
        dev = self.reg.as_bound()
        want = sum(n for _, g, n in self.live.values() if g == self.gen)
        assert dma.live_mappings(dev) == want
        for sgt, g, _ in self.live.values():
            assert sgt.is_mapped() == (g == self.gen)

    def teardown(self) -> None:
        for sgt, _, _ in self.live.values():
            sgt.close()
        self.reg.close()


TestSGTableLifetimes = SGTableLifetimes.TestCase
TestSGTableLifetimes.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
