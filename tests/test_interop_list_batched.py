"""pyforlinux.interop.list: CList.iter_batched(), the checked walk made in C a batch at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code
from pyforlinux.interop import CListHead, clist_create
from pyforlinux.interop.list import BATCH, entry_ptr
from tests.clist_pool import BLOCK, Pool, build, link


@pytest.fixture
def pool() -> Iterator[Pool]:
    p = Pool(12)
    yield p
    p.free()




@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 11), batch=st.integers(1, 13))
def test_batched_equals_per_entry_iteration(n: int, batch: int) -> None:
    pool = Pool(12)
    try:
        head = build(pool, list(range(n)))
        clist = clist_create(head, pool.idx, BLOCK, "link")
        assert list(clist.iter_batched(batch)) == list(clist) == list(range(n))
        raw = clist_create(head, entry_ptr, BLOCK, "link")
        assert [pool.idx(p) for p in raw.iter_batched(batch)] == list(range(n))
        assert len(clist) == n
    finally:
        pool.free()


def test_default_batch_on_a_long_c_list() -> None:
    n = 3 * BATCH + 7
    head = lib.pfl_bench_list_new(n)
    assert head != ffi.NULL
    try:
        clist = clist_create(head, lambda p: int(p.value), "struct pfl_bench_node", "link")
        assert list(clist.iter_batched()) == list(range(n))
        assert sum(1 for _ in clist_create(head, entry_ptr, "struct pfl_bench_node",
                                           "link").iter_batched()) == n
    finally:
        lib.pfl_bench_list_free(head)


def test_bad_batch_sizes_are_refused(pool: Pool) -> None:
    clist = clist_create(build(pool, [0]), entry_ptr, BLOCK, "link")
    for bad in (0, -1, True, 1.5):
        with pytest.raises(Error) as info:
            clist.iter_batched(bad)  # type: ignore[arg-type]
        assert info.value.errno == code.EINVAL


@pytest.mark.parametrize("batch", [1, 2, 3, 100])
@pytest.mark.parametrize(
    "change",
    ["insert_after_current", "remove_ahead", "remove_behind", "move_ahead_to_front", "append"],
)
def test_any_modification_during_batched_iteration_raises(
    pool: Pool, change: str, batch: int
) -> None:
    head = build(pool, [0, 1, 2, 3, 4])
    e = pool.entries
    with pytest.raises(Error) as info:
        for i in clist_create(head, pool.idx, BLOCK, "link").iter_batched(batch):
            if i != 2:
                continue
            if change == "insert_after_current":
                lib.list_add(link(e[5]), link(e[2]))
            elif change == "remove_ahead":
                lib.list_del_init(link(e[4]))
            elif change == "remove_behind":
                lib.list_del_init(link(e[0]))
            elif change == "move_ahead_to_front":
                lib.list_move(link(e[4]), head.as_raw())
            else:
                lib.list_add_tail(link(e[5]), head.as_raw())
    assert info.value.errno == code.EAGAIN


@pytest.mark.parametrize("batch", [1, 2, 100])
def test_an_entry_freed_ahead_is_never_read(pool: Pool, batch: int) -> None:
    head = build(pool, [0, 1, 2, 3, 4])
    seen = []
    with pytest.raises(Error) as info:
        for p in clist_create(head, entry_ptr, BLOCK, "link").iter_batched(batch):
            i = pool.idx(p)
            seen.append(i)
            if i == 1:  # delete and free entry 3, ahead
                lib.list_del(link(pool.entries[3]))
                pool.kill(3)
    # Within a batch the values were made before the loop body ran; the
    # next batch is checked first: 3 is freed (EFAULT) or unlinked (EAGAIN).
    assert info.value.errno in (code.EFAULT, code.EAGAIN)
    if batch <= 2:  # 3 was in a later batch: never yielded
        assert 3 not in seen


def test_values_are_made_before_the_loop_body_runs(pool: Pool) -> None:
    head = build(pool, [0, 1, 2, 3])
    made: list[int] = []

    def item(p: Any) -> int:
        made.append(pool.idx(p))
        return pool.idx(p)

    it = clist_create(head, item, BLOCK, "link").iter_batched(2)
    assert next(it) == 0 and made == [0, 1]  # the batch, all at once
    assert next(it) == 1 and made == [0, 1]
    assert next(it) == 2 and made == [0, 1, 2, 3]
    assert list(it) == [3]


def test_freed_and_poisoned_entries_fault(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    clist = clist_create(head, entry_ptr, BLOCK, "link")
    saved = link(pool.entries[1]).next
    link(pool.entries[1]).next = ffi.NULL
    try:
        with pytest.raises(Error) as info:
            list(clist.iter_batched(2))
        assert info.value.errno == code.EFAULT
    finally:
        link(pool.entries[1]).next = saved
    link(pool.entries[2]).next = link(pool.entries[0])  # a cycle that skips the head
    try:
        with pytest.raises(Error) as info:
            list(clist.iter_batched(2))
        assert info.value.errno == code.EAGAIN
    finally:
        link(pool.entries[2]).next = head.as_raw()
    assert [pool.idx(p) for p in clist.iter_batched(2)] == [0, 1, 2]


# A batch is checked again before its values are made, and the whole list at
# the end; an entry's liveness is looked up again only if something was freed
# since the snapshot walk found it live (the runtime's free generation). These
# tests free entries *without* unlinking them (their neighbours still point at
# them), so only the liveness check can refuse them: a skipped lookup would
# read freed memory and hand out, or accept, a freed entry.


@pytest.mark.parametrize("free", ["kfree", "kfree_rcu"])
def test_an_entry_freed_ahead_but_still_linked_faults(pool: Pool, free: str) -> None:
    head = build(pool, [0, 1, 2, 3, 4])
    seen = []
    with pytest.raises(Error) as info:
        for p in clist_create(head, entry_ptr, BLOCK, "link").iter_batched(1):
            seen.append(pool.idx(p))
            if seen[-1] == 1:
                if free == "kfree":
                    pool.kill(3)
                else:
                    lib.pfl_kfree_rcu(pool.entries[3])
                    pool.entries[3] = None
    assert info.value.errno == code.EFAULT
    assert seen == [0, 1, 2]


def test_an_entry_freed_behind_but_still_linked_faults_at_the_end(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    seen = []
    with pytest.raises(Error) as info:
        for p in clist_create(head, entry_ptr, BLOCK, "link").iter_batched(1):
            seen.append(pool.idx(p))
            if seen[-1] == 2:  # the last batch: only the final check is left
                pool.kill(0)
    assert info.value.errno == code.EFAULT
    assert seen == [0, 1, 2]


def test_an_unrelated_free_during_iteration_is_no_modification(pool: Pool) -> None:
    head = build(pool, [0, 1, 2, 3])
    seen = []
    for p in clist_create(head, entry_ptr, BLOCK, "link").iter_batched(1):
        seen.append(pool.idx(p))
        if seen[-1] == 0:
            pool.kill(5)  # not on the list: the entries are looked up again, all live
    assert seen == [0, 1, 2, 3]


@pytest.mark.parametrize("which", ["next", "prev"])
def test_the_heads_links_are_checked_at_the_end(pool: Pool, which: str) -> None:
    head = build(pool, [0, 1, 2])
    raw = head.as_raw()
    saved = getattr(raw, which)
    try:
        with pytest.raises(Error) as info:
            for p in clist_create(head, entry_ptr, BLOCK, "link").iter_batched(1):
                if pool.idx(p) == 2:  # the head no longer points at the first/last entry
                    setattr(raw, which, link(pool.entries[1]))
        assert info.value.errno == code.EAGAIN
    finally:
        setattr(raw, which, saved)


# A CList keeps its last walk: while nothing is freed, the entries that walk
# found live (looked up) are not looked up again when met at the same places.


def test_an_entry_freed_between_two_walks_faults(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    clist = clist_create(head, entry_ptr, BLOCK, "link")
    assert [pool.idx(p) for p in clist.iter_batched()] == [0, 1, 2]
    pool.kill(1)  # still linked: only the lookup refuses it
    for walk in (lambda: list(clist.iter_batched()), lambda: len(clist), lambda: list(clist)):
        with pytest.raises(Error) as info:
            walk()
        assert info.value.errno == code.EFAULT


def test_a_foreign_node_linked_between_two_walks_faults(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    clist = clist_create(head, entry_ptr, BLOCK, "link")
    assert len(clist) == 3
    foreign = ffi.new(f"{BLOCK} *")  # not a runtime allocation: never live
    lib.list_add(link(foreign), link(pool.entries[0]))
    try:
        with pytest.raises(Error) as info:
            list(clist.iter_batched())
        assert info.value.errno == code.EFAULT
    finally:
        lib.list_del(link(foreign))
    assert [pool.idx(p) for p in clist.iter_batched()] == [0, 1, 2]


def test_a_walk_that_did_not_look_entries_up_proves_nothing(pool: Pool) -> None:
    # The first entry decides whether entries are looked up (check_live=None):
    # foreign nodes first, so the first walk looks nothing up.
    f0, f1 = ffi.new(f"{BLOCK} *"), ffi.new(f"{BLOCK} *")
    head = CListHead.new()
    for node in (f0, f1, pool.entries[2]):
        lib.list_add_tail(link(node), head.as_raw())
    clist = clist_create(head, entry_ptr, BLOCK, "link")
    assert len(list(clist.iter_batched())) == 3
    lib.list_replace(link(f0), link(pool.entries[0]))  # now a live first entry
    with pytest.raises(Error) as info:
        list(clist.iter_batched())  # f1, at the same place, is looked up
    assert info.value.errno == code.EFAULT
