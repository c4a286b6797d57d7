"""pyforlinux.gpu.buddy over the real drivers/gpu/buddy.c.

The Rust doctests of rust/kernel/gpu/buddy.rs, the errors as the C returns
them, lifetimes (blocks keep the allocator alive; views die with their
blocks), threads, and a Hypothesis state machine against a reference model.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from pyforlinux._bindings import lib
from pyforlinux.error import Error, code
from pyforlinux.gpu import (
    AllocatedBlocks,
    GpuBuddy,
    GpuBuddyAllocFlag,
    GpuBuddyAllocFlags,
    GpuBuddyAllocMode,
    GpuBuddyParams,
)

SZ_4K = 4 << 10
SZ_1M = 1 << 20
SZ_4M = 4 * SZ_1M
SZ_8M = 8 * SZ_1M
SZ_16M = 16 * SZ_1M
SZ_1G = 1 << 30

Simple = GpuBuddyAllocMode.Simple
TopDown = GpuBuddyAllocMode.TopDown
Range = GpuBuddyAllocMode.Range
NONE = GpuBuddyAllocFlags(0)


@pytest.fixture
def buddy() -> Any:
    with GpuBuddy.new(GpuBuddyParams(base_offset=0, size=SZ_1G, chunk_size=SZ_4K)) as b:
        yield b


# ---------------------------------------------------------------- the Rust doctests


def test_doctest_simple_allocation_lands_at_the_top(buddy: GpuBuddy) -> None:
    assert buddy.size() == SZ_1G
    assert buddy.chunk_size() == SZ_4K
    initial_free = buddy.avail()
    allocated = buddy.alloc_blocks(Simple, SZ_16M, SZ_16M, NONE)
    assert buddy.avail() == initial_free - SZ_16M
    block = next(allocated.iter())
    assert block.offset() == SZ_1G - SZ_16M
    assert block.order() == 12  # 2^12 pages = 16MB
    assert block.size() == SZ_16M
    assert len(list(allocated.iter())) == 1
    allocated.close()
    assert buddy.avail() == initial_free


def test_doctest_top_down(buddy: GpuBuddy) -> None:
    initial_free = buddy.avail()
    with buddy.alloc_blocks(TopDown, SZ_16M, SZ_16M) as topdown:
        assert buddy.avail() == initial_free - SZ_16M
        (block,) = topdown
        assert (block.offset(), block.order(), block.size()) == (SZ_1G - SZ_16M, 12, SZ_16M)
    assert buddy.avail() == initial_free


def test_doctest_fragmented_allocation_returns_two_blocks(buddy: GpuBuddy) -> None:
    initial_free = buddy.avail()
    with buddy.alloc_blocks(Range(0, SZ_4M), SZ_4M, SZ_4M) as frag1:
        assert buddy.avail() == initial_free - SZ_4M
        with buddy.alloc_blocks(Range(SZ_8M, SZ_8M + SZ_4M), SZ_4M, SZ_4M) as frag2:
            assert buddy.avail() == initial_free - SZ_8M
            with buddy.alloc_blocks(Range(0, SZ_16M), SZ_8M, SZ_4M) as fragmented:
                assert buddy.avail() == initial_free - SZ_16M
                sizes = [b.size() for b in fragmented]
                assert sizes == [SZ_4M, SZ_4M]
                # The two holes: [4M, 8M) and [12M, 16M).
                assert sorted(b.offset() for b in fragmented) == [SZ_4M, SZ_8M + SZ_4M]
            assert [b.offset() for b in frag2] == [SZ_8M]
        assert [b.offset() for b in frag1] == [0]
    assert buddy.avail() == initial_free


def test_doctest_contiguous_fails_on_fragmented_space() -> None:
    with GpuBuddy(0, SZ_16M, SZ_4K) as small:
        with small.alloc_blocks(Range(0, SZ_4M), SZ_4M, SZ_4M), small.alloc_blocks(
            Range(SZ_8M, SZ_8M + SZ_4M), SZ_4M, SZ_4M
        ):
            with pytest.raises(Error) as e:
                small.alloc_blocks(Simple, SZ_8M, SZ_4M, GpuBuddyAllocFlag.Contiguous)
            assert e.value.errno == code.ENOSPC
            assert small.avail() == SZ_8M  # the failed request took nothing
            # Without Contiguous the same request fits in the two holes.
            with small.alloc_blocks(Simple, SZ_8M, SZ_4M) as ok:
                assert len(ok) == 2


# ---------------------------------------------------------------- more behaviour


def test_base_offset_is_added_to_block_offsets() -> None:
    base = 0x1_0000_0000
    with GpuBuddy(base, SZ_16M, SZ_4K) as b:
        assert b.base_offset() == base
        with b.alloc_blocks(Range(SZ_4M, SZ_8M), SZ_4M, SZ_4M) as blocks:
            assert [x.offset() for x in blocks] == [base + SZ_4M]


def test_contiguous_allocation_is_one_contiguous_trimmed_range(buddy: GpuBuddy) -> None:
    size = 3 * SZ_4M  # not a power of two: rounded up to 16M, then trimmed back
    with buddy.alloc_blocks(Simple, size, SZ_4K, GpuBuddyAllocFlags.Contiguous) as blocks:
        spans = sorted((b.offset(), b.size()) for b in blocks)
        assert sum(s for _o, s in spans) == size
        assert all(o + s == spans[i + 1][0] for i, (o, s) in enumerate(spans[:-1]))
    flags = GpuBuddyAllocFlags.Contiguous | GpuBuddyAllocFlags.TrimDisable
    with buddy.alloc_blocks(Simple, size, SZ_4K, flags) as blocks:
        assert sum(b.size() for b in blocks) == SZ_16M  # kept at the power of two


def test_clear_flag_is_accepted(buddy: GpuBuddy) -> None:
    with buddy.alloc_blocks(Simple, SZ_1M, SZ_4K, GpuBuddyAllocFlags.Clear) as blocks:
        assert sum(b.size() for b in blocks) == SZ_1M


def test_size_is_rounded_up_to_min_block_size_then_trimmed(buddy: GpuBuddy) -> None:
    with buddy.alloc_blocks(Simple, SZ_4K, SZ_1M) as blocks:
        # A 1M block was taken, then trimmed back to the 4K asked for, which
        # stays at the start of the 1M-aligned block.
        assert [b.size() for b in blocks] == [SZ_4K]
        assert blocks.iter().__next__().offset() % SZ_1M == 0
    with buddy.alloc_blocks(Simple, SZ_4K, SZ_1M, GpuBuddyAllocFlags.TrimDisable) as blocks:
        assert [b.size() for b in blocks] == [SZ_1M]


def test_is_empty_and_len(buddy: GpuBuddy) -> None:
    with buddy.alloc_blocks(Simple, 3 * SZ_4K, SZ_4K) as blocks:
        assert not blocks.is_empty()
        assert len(blocks) == 2  # 8K + 4K
        assert sorted(b.size() for b in blocks) == [SZ_4K, 2 * SZ_4K]


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("mode", "size", "min_block", "errno"),
    [
        (Range(SZ_4M, SZ_4M), SZ_4K, SZ_4K, code.EINVAL),  # empty range (Python, as Rust)
        (Range(SZ_8M, SZ_4M), SZ_4K, SZ_4K, code.EINVAL),  # inverted range
        (Simple, 2048, SZ_4K, code.EINVAL),  # size < chunk_size (C)
        (Simple, SZ_4K, 2048, code.EINVAL),  # min_block_size < chunk_size (C)
        (Simple, SZ_1M, 3 * SZ_4K, code.EINVAL),  # min_block_size not a power of two (C)
        (Simple, SZ_4K + 1, SZ_4K, code.EINVAL),  # size not chunk-aligned (C)
        (Range(0, SZ_1G + SZ_4K), SZ_4K, SZ_4K, code.EINVAL),  # range end past the space (C)
        (Simple, 2 * SZ_1G, SZ_4K, code.EINVAL),  # larger than the space (C)
        (Range(0, SZ_4M), SZ_8M, SZ_4K, code.ENOSPC),  # does not fit the range (C)
        (Simple, -1, SZ_4K, code.EINVAL),  # not a u64 (Python)
        (Simple, 1 << 64, SZ_4K, code.EINVAL),
        (Simple, SZ_4K, 1.0, code.EINVAL),
    ],
)
def test_errors(buddy: GpuBuddy, mode: Any, size: Any, min_block: Any, errno: int) -> None:
    before = buddy.avail()
    with pytest.raises(Error) as e:
        buddy.alloc_blocks(mode, size, min_block)
    assert e.value.errno == errno
    assert buddy.avail() == before


def test_exhaustion_is_enospc() -> None:
    with GpuBuddy(0, SZ_1M, SZ_4K) as b:
        with b.alloc_blocks(Simple, SZ_1M, SZ_4K):
            assert b.avail() == 0
            with pytest.raises(Error) as e:
                b.alloc_blocks(Simple, SZ_4K, SZ_4K)
            assert e.value.errno == code.ENOSPC


def test_modes_are_checked() -> None:
    assert Range(SZ_4K, SZ_8M).range() == (SZ_4K, SZ_8M)
    assert Simple.range() == TopDown.range() == (0, 0)
    assert (Simple.as_flags(), TopDown.as_flags()) == (0, int(lib.GPU_BUDDY_TOPDOWN_ALLOCATION))
    for bad in (lambda: GpuBuddyAllocMode("Sideways"), lambda: Range(-1, SZ_4K),
                lambda: Range(0, 1 << 64)):
        with pytest.raises(Error) as e:
            bad()
        assert e.value.errno == code.EINVAL


@pytest.mark.parametrize("bad", ["Simple", 0, None])
def test_bad_mode_is_einval(buddy: GpuBuddy, bad: Any) -> None:
    with pytest.raises(Error) as e:
        buddy.alloc_blocks(bad, SZ_4K, SZ_4K)
    assert e.value.errno == code.EINVAL


@pytest.mark.parametrize("bad", [int(lib.GPU_BUDDY_RANGE_ALLOCATION), 1 << 20, -1, True, "x"])
def test_bad_flags_are_einval(buddy: GpuBuddy, bad: Any) -> None:
    with pytest.raises(Error) as e:
        buddy.alloc_blocks(Simple, SZ_4K, SZ_4K, bad)
    assert e.value.errno == code.EINVAL


@pytest.mark.parametrize(
    "args",
    [
        (0, SZ_4K, 2048),  # chunk below 4K (C)
        (0, SZ_1M, 3 * SZ_4K),  # chunk not a power of two (C)
        (0, 2048, SZ_4K),  # size < chunk (C)
        (-1, SZ_1M, SZ_4K),  # not u64 (Python)
        ((1 << 64) - SZ_4K, SZ_1M, SZ_4K),  # base + size overflows (Python)
    ],
)
def test_bad_creation_is_einval(args: tuple[int, int, int]) -> None:
    with pytest.raises(Error) as e:
        GpuBuddy(*args)
    assert e.value.errno == code.EINVAL


def test_creation_allocation_failure_is_enomem() -> None:
    for n in range(1, 30):  # every allocation of init, the mutex and the Arc
        lib.pfl_fail_nth_set(n)
        try:
            b = GpuBuddy(0, SZ_16M, SZ_4K)
        except Error as e:
            assert e.errno == code.ENOMEM
        else:
            lib.pfl_fail_nth_set(0)
            b.close()
            break
    else:
        pytest.fail("creation never succeeded")
    assert n > 1  # at least one allocation was failed on purpose


def test_block_allocations_are_never_failed(buddy: GpuBuddy) -> None:
    # drivers/gpu/buddy.c corrupts its free tree when a block allocation in
    # split_block() fails (its err_undo frees blocks still in the tree), so
    # they are __GFP_NOFAIL here (csrc/include/pfl/buddy_nofail.h): counted,
    # never failed; fail_nth stays armed for the next failable allocation.
    before = buddy.avail()
    injected = lib.pfl_injected_failures()
    allocs = lib.pfl_task_alloc_count()
    lib.pfl_fail_nth_set(1)
    with buddy.alloc_blocks(Simple, SZ_4K, SZ_4K) as blocks:  # splits 1G down to 4K
        assert [b.size() for b in blocks] == [SZ_4K]
    assert lib.pfl_fail_nth_get() == 1  # nothing failable was allocated
    lib.pfl_fail_nth_set(0)
    assert lib.pfl_task_alloc_count() - allocs >= 2 * 18  # both halves of each split
    assert lib.pfl_injected_failures() == injected
    assert buddy.avail() == before


# ---------------------------------------------------------------- lifetimes


def test_blocks_keep_the_allocator_alive() -> None:
    b = GpuBuddy(0, SZ_16M, SZ_4K)
    blocks = b.alloc_blocks(Simple, SZ_4M, SZ_4M)
    b.close()  # no gpu_buddy_fini yet: it would WARN about the allocated block
    assert b.closed
    with pytest.raises(Error) as e:
        b.avail()
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        b.alloc_blocks(Simple, SZ_4K, SZ_4K)
    assert e.value.errno == code.EINVAL
    assert [x.size() for x in blocks] == [SZ_4M]
    blocks.close()  # frees the block, then the allocator (the fixture sees no leak)
    b.close()  # idempotent


def test_views_die_with_their_blocks(buddy: GpuBuddy) -> None:
    blocks = buddy.alloc_blocks(Simple, SZ_4M, SZ_4M)
    (view,) = list(blocks)
    blocks.close()
    for op in (view.offset, view.order, view.size, blocks.is_empty, blocks.iter):
        with pytest.raises(Error) as e:
            op()
        assert e.value.errno == code.EINVAL
    blocks.close()  # idempotent
    assert "freed" in repr(view)


def test_allocated_blocks_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError):
        AllocatedBlocks()


# ---------------------------------------------------------------- threads


def test_threads_allocate_and_free_concurrently() -> None:
    with GpuBuddy(0, 64 * SZ_1M, SZ_4K) as b:
        errors: list[BaseException] = []
        spans: list[tuple[int, int]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(4)

        def worker(seed: int) -> None:
            try:
                barrier.wait()
                held: list[AllocatedBlocks] = []
                for i in range(60):
                    size = SZ_4K << ((seed + i) % 8)
                    blocks = b.alloc_blocks(Simple, size, SZ_4K)
                    with lock:
                        spans.extend((x.offset(), x.size()) for x in blocks)
                    held.append(blocks)
                    if i % 3 == 2:
                        held.pop(0).close()
                for blocks in held:
                    blocks.close()
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert len(spans) >= 240
        assert b.avail() == 64 * SZ_1M


def test_close_during_iteration_in_another_thread_is_safe(buddy: GpuBuddy) -> None:
    blocks = buddy.alloc_blocks(Simple, 255 * SZ_4K, SZ_4K)  # 8 blocks
    results: list[object] = []

    def walk() -> None:
        for _ in range(1_000_000):  # until the close is seen (however fast a walk is)
            try:
                results.append(sum(x.size() for x in blocks))
            except Error as e:
                results.append(e.errno)
                break

    t = threading.Thread(target=walk)
    t.start()
    blocks.close()
    t.join(30)
    assert not t.is_alive()
    assert set(results) <= {255 * SZ_4K, code.EINVAL}
    assert results[-1] == code.EINVAL


# ---------------------------------------------------------------- model-based


SPACE = 64 * SZ_4K * 4  # 1 MiB in 4K chunks: small enough to fill and fragment
CHUNK = SZ_4K
BASE = 0x10_0000_0000


def pow2_at_least(n: int) -> int:
    p = 1
    while p < n:
        p <<= 1
    return p


def predicted_einval(
    kind: str, lo: int, hi: int, size: int, min_block: int, contiguous: bool
) -> bool:
    """gpu_buddy_alloc_blocks()'s argument checks, for the arguments drawn below."""
    if kind == "Range" and (lo >= SPACE or size > SPACE - lo):  # range_overflows()
        return True
    if kind == "Range" and lo + size == hi:  # an exact range: alignment only
        return (lo | hi) % min_block != 0
    rounded = pow2_at_least(size) if contiguous else -(-size // min_block) * min_block
    return rounded > SPACE and (not contiguous or kind == "Range")


class BuddyModel(RuleBasedStateMachine):
    """GpuBuddy against a model: live extents, avail accounting, alignment."""

    allocations = Bundle("allocations")

    def __init__(self) -> None:
        super().__init__()
        self.buddy = GpuBuddy(BASE, SPACE, CHUNK)
        self.live: dict[int, tuple[AllocatedBlocks, list[tuple[int, int]]]] = {}
        self.next_id = 0

    def used(self) -> int:
        return sum(s for _b, spans in self.live.values() for _o, s in spans)

    @rule(
        target=allocations,
        kind=st.sampled_from(["Simple", "TopDown", "Range"]),
        chunks=st.integers(1, 80),
        min_order=st.integers(0, 6),
        start=st.integers(0, 255),
        length=st.integers(1, 256),
        contiguous=st.booleans(),
    )
    def alloc(
        self, kind: str, chunks: int, min_order: int, start: int, length: int, contiguous: bool
    ) -> int:
        size = chunks * CHUNK
        min_block = CHUNK << min_order
        if kind == "Range":
            lo = start * CHUNK
            hi = min(SPACE, lo + length * CHUNK)
            mode = Range(lo, hi)
        else:
            lo, hi = 0, SPACE
            mode = GpuBuddyAllocMode.Simple if kind == "Simple" else GpuBuddyAllocMode.TopDown
        flags = GpuBuddyAllocFlags.Contiguous if contiguous else NONE
        avail = self.buddy.avail()
        einval = predicted_einval(kind, lo, hi, size, min_block, contiguous)
        try:
            blocks = self.buddy.alloc_blocks(mode, size, min_block, flags)
        except Error as e:
            expected = code.EINVAL if einval else code.ENOSPC
            assert e.errno == expected, (e, mode, size, min_block, flags)
            event(f"{kind}: {e.name()}")
            assert self.buddy.avail() == avail  # a failure takes nothing
            return -1
        assert not einval, (mode, size, min_block, flags)
        assert size <= avail
        event(f"{kind}: allocated")
        spans = sorted((b.offset() - BASE, b.size()) for b in blocks)
        total = sum(s for _o, s in spans)
        assert total == size  # rounded up, then trimmed back
        assert self.buddy.avail() == avail - total
        for off, s in spans:
            assert s >= CHUNK and s & (s - 1) == 0
            assert off % s == 0  # buddy blocks are naturally aligned
            assert 0 <= off and off + s <= SPACE
            if kind == "Range":
                assert lo <= off and off + s <= hi
        if contiguous:
            assert all(o + s == spans[i + 1][0] for i, (o, s) in enumerate(spans[:-1]))
        # No overlap with any live block.
        mine = set()
        for off, s in spans:
            mine.update(range(off // CHUNK, (off + s) // CHUNK))
        for _b, other in self.live.values():
            for off, s in other:
                assert mine.isdisjoint(range(off // CHUNK, (off + s) // CHUNK))
        self.next_id += 1
        self.live[self.next_id] = (blocks, spans)
        return self.next_id

    @rule(alloc_id=consumes(allocations))
    def free(self, alloc_id: int) -> None:
        if alloc_id not in self.live:
            return
        blocks, spans = self.live.pop(alloc_id)
        avail = self.buddy.avail()
        blocks.close()
        assert self.buddy.avail() == avail + sum(s for _o, s in spans)

    @invariant()
    def avail_accounting(self) -> None:
        assert self.buddy.avail() == SPACE - self.used()

    def teardown(self) -> None:
        for blocks, _spans in self.live.values():
            blocks.close()
        assert self.buddy.avail() == SPACE  # full release
        self.buddy.close()


TestBuddyModel = BuddyModel.TestCase
TestBuddyModel.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- the blocks read in C (pfl_gpu_buddy_blocks) ------------------------------------------


def _fragmented(buddy: GpuBuddy) -> list[Any]:
    """Every other chunk of ``buddy`` allocated: free space in single chunks."""
    chunks = [buddy.alloc_blocks(GpuBuddyAllocMode.Simple, 4096, 4096)
              for _ in range(buddy.size() // 4096)]
    for c in chunks[::2]:
        c.close()
    return chunks[1::2]


def test_blocks_read_in_c_are_the_clist_walk() -> None:
    from pyforlinux.interop.list import clist_create, entry_ptr

    with GpuBuddy(0x10000, 64 * 4096, 4096) as buddy:
        held = _fragmented(buddy)
        # 32 single-chunk blocks: more than one C call's first batch (16).
        with buddy.alloc_blocks(GpuBuddyAllocMode.Simple, 32 * 4096, 4096) as blocks:
            walk = clist_create(blocks._head, entry_ptr, "struct gpu_buddy_block", "link")
            expect = [(0x10000 + int(lib.gpu_buddy_block_offset(p)),
                       int(lib.gpu_buddy_block_order(p))) for p in walk]
            assert len(expect) == 32
            assert [(b.offset(), b.order()) for b in blocks] == expect
            assert [(b.offset(), b.order()) for b in blocks] == expect  # the kept copy
            assert len(blocks) == 32 and not blocks.is_empty()
            views = list(blocks)
        for use in (views[0].offset, lambda: list(blocks), blocks.is_empty):
            with pytest.raises(Error) as e:
                use()
            assert e.value.errno == code.EINVAL
        for c in held:
            c.close()


def test_a_corrupted_block_list_is_efault_never_followed() -> None:
    with GpuBuddy(0, 1 << 20, 4096) as buddy:
        blocks = buddy.alloc_blocks(GpuBuddyAllocMode.Simple, 3 * 4096, 4096)  # 2 blocks
        first = blocks._head.next
        saved = first.next.prev
        first.next.prev = blocks._head  # the second block no longer points back
        try:
            with pytest.raises(Error) as e:
                list(blocks)
            assert e.value.errno == code.EFAULT
        finally:
            first.next.prev = saved
        assert [b.size() for b in blocks] == [8192, 4096]  # read after the repair
        blocks.close()
        assert buddy.avail() == 1 << 20


# ---------------------------------------------------------------- issue 17 fast paths


def test_c_limit_check_is_skipped_only_where_it_cannot_refuse() -> None:
    """alloc_blocks() calls _check_c_limits() only when 2 * size + min_block
    exceeds _MAX_PAGES chunks: below that it never refuses, above it the
    refusals (E2BIG) are the check's."""
    chunk = SZ_4K
    with GpuBuddy(0, 1 << 45, chunk) as b:
        safe = b._c_safe
        assert safe == ((1 << 32) - 1) * chunk
        contiguous = int(GpuBuddyAllocFlags.Contiguous)
        for min_block in (chunk, 1 << 20, 1 << 30):
            top = (safe - min_block) // 2  # the largest size the gate lets through
            for size in (chunk, top - top % chunk, top, top - 1):
                for flags in (0, contiguous):
                    assert 2 * size + min_block <= safe
                    b._check_c_limits(Simple, 0, 0, size, min_block, flags)  # never raises
        # Past the gate, the check decides: 2**32 chunks is E2BIG, by either path.
        for flags in (NONE, GpuBuddyAllocFlags.Contiguous):
            with pytest.raises(Error) as e:
                b.alloc_blocks(Simple, 1 << 44, chunk, flags)
            assert e.value.errno == code.E2BIG


def test_default_flags_equal_explicit_none(buddy: GpuBuddy) -> None:
    for flags in ((), (NONE,), (0,), (GpuBuddyAllocFlag(0),)):
        with buddy.alloc_blocks(Simple, SZ_4M, SZ_4K, *flags) as blocks:
            assert [(x.offset(), x.size()) for x in blocks] == [(SZ_1G - SZ_4M, SZ_4M)]
    with pytest.raises(Error) as e:
        buddy.alloc_blocks(Range(SZ_4M, SZ_4M), SZ_4K, SZ_4K)
    assert e.value.errno == code.EINVAL  # empty range, still refused
    blocks = buddy.alloc_blocks(Range(0, SZ_4M), SZ_4M, SZ_4K)
    assert [(x.offset(), x.size()) for x in blocks] == [(0, SZ_4M)]
    views = list(blocks)
    blocks.close()
    for fn in (views[0].offset, views[0].size, views[0].order, blocks.iter, blocks.__len__):
        with pytest.raises(Error) as e:
            fn()
        assert e.value.errno == code.EINVAL
