"""pyforlinux.interop.list: reading C-owned list_head lists safely."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code
from pyforlinux.interop import CList, CListHead, clist_create
from pyforlinux.interop.list import (
    container_of,
    list_entry,
    list_first_entry_or_null,
    list_for_each_entry,
    list_for_each_entry_safe,
)
from pyforlinux.types import Opaque
from tests.clist_pool import BLOCK, Pool, build, link


def errno_of(fn: Any) -> int:
    with pytest.raises(Error) as info:
        fn()
    return int(info.value.errno)


@pytest.fixture
def pool() -> Iterator[Pool]:
    p = Pool(6)
    yield p
    p.free()




# ---------------------------------------------------------------- CListHead


def test_clisthead_new_next_prev_linked() -> None:
    head = CListHead.new()
    assert not head.is_linked()
    assert head.next() == head and head.prev() == head
    other = CListHead.new()
    lib.list_add(other.as_raw(), head.as_raw())
    assert head.is_linked() and other.is_linked()
    assert head.next() == other and other.next() == head
    assert head != other and hash(head) != hash(other)


def test_clisthead_from_raw_checks() -> None:
    assert errno_of(lambda: CListHead.from_raw(ffi.NULL)) == code.EINVAL
    assert errno_of(lambda: CListHead.from_raw(ffi.new("int *"))) == code.EINVAL
    zero = ffi.new("struct list_head *")  # never INIT_LIST_HEAD-ed
    assert errno_of(lambda: CListHead.from_raw(zero)) == code.EFAULT
    node = Opaque.ffi_init("struct list_head", lib.INIT_LIST_HEAD)
    head = CListHead.new()
    lib.list_add(node.get(), head.as_raw())
    lib.list_del(node.get())  # poisons the node
    assert errno_of(lambda: CListHead.from_raw(node.get())) == code.EFAULT
    assert CListHead.from_raw(head.as_raw()) == head


# ---------------------------------------------------------------- CList


class Block:
    """A typed wrapper of a ``struct gpu_buddy_block *`` (Rust: repr(transparent))."""

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr


def test_clist_iterates_typed_entries(pool: Pool) -> None:
    head = build(pool, [3, 1, 4])
    clist = clist_create(head, Block, BLOCK, "link")
    assert isinstance(clist, CList)
    got = [pool.idx(b.ptr) for b in clist]
    assert got == [3, 1, 4]
    assert len(clist) == 3 and not clist.is_empty()
    assert clist_create(CListHead.new(), Block, BLOCK, "link").is_empty()


def test_clist_create_takes_the_offset_by_name_and_checks_the_member() -> None:
    head = CListHead.new()
    assert errno_of(lambda: clist_create(head, Block, BLOCK, "nope")) == code.EINVAL
    assert errno_of(lambda: clist_create(head, Block, "struct gpu_buddy", "size")) == code.EINVAL
    assert errno_of(lambda: clist_create(head, Block, "struct no_such", "link")) == code.EINVAL
    assert errno_of(lambda: clist_create(head, Block, "int", "link")) == code.EINVAL
    assert errno_of(lambda: clist_create(ffi.new("int *"), Block, BLOCK, "link")) == code.EINVAL
    assert ffi.offsetof(BLOCK, "link") != 0  # so a wrong offset would show


def test_clist_over_a_list_the_buddy_allocator_built() -> None:
    mm = ffi.new("struct gpu_buddy *")
    assert lib.gpu_buddy_init(mm, 1 << 20, 4096) == 0
    blocks = CListHead.new()
    size = 15 * 4096
    assert lib.gpu_buddy_alloc_blocks(mm, 0, 1 << 20, size, 4096, blocks.as_raw(), 0) == 0
    try:
        clist = clist_create(
            blocks,
            lambda b: (lib.gpu_buddy_block_offset(b), lib.gpu_buddy_block_size(mm, b)),
            BLOCK,
            "link",
        )
        got = list(clist)
        assert sum(s for _, s in got) == size
        assert len({o for o, _ in got}) == len(got)
        for b in list_for_each_entry(BLOCK, blocks, "link"):
            assert lib.gpu_buddy_block_is_allocated(b)
    finally:
        lib.gpu_buddy_free_list(mm, blocks.as_raw(), 0)
        lib.gpu_buddy_fini(mm)
    assert clist.is_empty()


def test_deleting_the_current_entry_raises(pool: Pool) -> None:
    head = build(pool, [0, 1, 2, 3])
    with pytest.raises(Error) as info:
        for b in clist_create(head, Block, BLOCK, "link"):
            if pool.idx(b.ptr) == 1:
                lib.list_del(link(b.ptr))
    assert info.value.errno == code.EAGAIN


def test_freeing_the_current_entry_is_caught_before_reading_it(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    with pytest.raises(Error) as info:
        for b in clist_create(head, Block, BLOCK, "link"):
            if pool.idx(b.ptr) == 1:
                lib.list_del(link(b.ptr))
                lib.pfl_kfree(b.ptr, 0)
                pool.entries[1] = None
    assert info.value.errno == code.EFAULT


@pytest.mark.parametrize(
    "change",
    [
        "insert_after_current",
        "remove_ahead",
        "remove_behind",
        "move_ahead_to_front",
        "append",
    ],
)
def test_any_modification_during_iteration_raises(pool: Pool, change: str) -> None:
    head = build(pool, [0, 1, 2, 3, 4])
    e = pool.entries
    with pytest.raises(Error) as info:
        for b in clist_create(head, Block, BLOCK, "link"):
            if pool.idx(b.ptr) != 2:
                continue
            if change == "insert_after_current":
                lib.list_add(link(e[5]), link(e[2]))
            elif change == "remove_ahead":
                lib.list_del(link(e[4]))
            elif change == "remove_behind":
                lib.list_del(link(e[0]))
            elif change == "move_ahead_to_front":
                lib.list_move(link(e[4]), head.as_raw())
            else:
                lib.list_add_tail(link(e[5]), head.as_raw())
    assert info.value.errno == code.EAGAIN


def test_corrupted_links_never_loop(pool: Pool) -> None:
    head = build(pool, [0, 1, 2])
    e = pool.entries
    saved = link(e[2]).next
    link(e[2]).next = link(e[0])  # a cycle that skips the head
    try:
        assert errno_of(lambda: list(clist_create(head, Block, BLOCK, "link"))) == code.EAGAIN
        link(e[2]).next = ffi.NULL
        assert errno_of(lambda: list(clist_create(head, Block, BLOCK, "link"))) == code.EFAULT
    finally:
        link(e[2]).next = saved
    assert [pool.idx(b.ptr) for b in clist_create(head, Block, BLOCK, "link")] == [0, 1, 2]


# ---------------------------------------------------------------- kernel-style helpers


def test_list_for_each_entry_and_first_entry(pool: Pool) -> None:
    head = build(pool, [2, 0])
    assert [pool.idx(p) for p in list_for_each_entry(BLOCK, head.as_raw(), "link")] == [2, 0]
    first = list_first_entry_or_null(head.as_raw(), BLOCK, "link")
    assert pool.idx(first) == 2
    assert list_first_entry_or_null(CListHead.new(), BLOCK, "link") is None
    assert list_entry(link(pool.entries[0]), BLOCK, "link") == pool.entries[0]
    assert container_of(link(pool.entries[2]), BLOCK, "link") == pool.entries[2]
    assert errno_of(lambda: container_of(ffi.NULL, BLOCK, "link")) == code.EINVAL


def test_list_for_each_entry_safe_may_delete_and_free_the_current_entry(pool: Pool) -> None:
    head = build(pool, [0, 1, 2, 3, 4, 5])
    seen = []
    for p in list_for_each_entry_safe(BLOCK, head.as_raw(), "link"):
        i = pool.idx(p)
        seen.append(i)
        if i % 2 == 0:
            lib.list_del(link(p))
            lib.pfl_kfree(p, 0)
            pool.entries[i] = None
    assert seen == [0, 1, 2, 3, 4, 5]
    assert [pool.idx(p) for p in list_for_each_entry(BLOCK, head, "link")] == [1, 3, 5]


@pytest.mark.parametrize("delete", ["list_del", "list_del_init"])
def test_list_for_each_entry_safe_deleting_the_next_entry_raises(pool: Pool, delete: str) -> None:
    head = build(pool, [0, 1, 2])
    seen = []
    with pytest.raises(Error) as info:
        for p in list_for_each_entry_safe(BLOCK, head, "link"):
            seen.append(pool.idx(p))
            if pool.idx(p) == 0:
                getattr(lib, delete)(link(pool.entries[1]))
    # list_del poisons the links (a bad address), list_del_init unlinks them
    assert info.value.errno == (code.EFAULT if delete == "list_del" else code.EAGAIN)
    assert seen == [0]


# ---------------------------------------------------------------- lists built by C, checked


class CListMachine(RuleBasedStateMachine):
    """Two C lists mutated only by list.h; CList must always read them right,
    and any mutation during an iteration must raise."""

    N = 6

    def __init__(self) -> None:
        super().__init__()
        self.pool = Pool(self.N)
        self.a = CListHead.new()
        self.b = CListHead.new()
        self.model_a: list[int] = []
        self.model_b: list[int] = []

    def teardown(self) -> None:
        self.pool.free()

    def node(self, i: int) -> Any:
        return link(self.pool.entries[i])

    def free_entries(self) -> list[int]:
        return [i for i in range(self.N) if i not in self.model_a and i not in self.model_b]

    @precondition(lambda self: self.free_entries())
    @rule(data=st.data(), front=st.booleans(), to_b=st.booleans())
    def add(self, data: st.DataObject, front: bool, to_b: bool) -> None:
        i = data.draw(st.sampled_from(self.free_entries()))
        head, model = (self.b, self.model_b) if to_b else (self.a, self.model_a)
        if front:
            lib.list_add(self.node(i), head.as_raw())
            model.insert(0, i)
        else:
            lib.list_add_tail(self.node(i), head.as_raw())
            model.append(i)

    @precondition(lambda self: self.model_a or self.model_b)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        i = data.draw(st.sampled_from(self.model_a + self.model_b))
        lib.list_del(self.node(i))
        (self.model_a if i in self.model_a else self.model_b).remove(i)

    @precondition(lambda self: self.model_a or self.model_b)
    @rule(data=st.data(), tail=st.booleans())
    def move(self, data: st.DataObject, tail: bool) -> None:
        i = data.draw(st.sampled_from(self.model_a + self.model_b))
        (self.model_a if i in self.model_a else self.model_b).remove(i)
        if tail:
            lib.list_move_tail(self.node(i), self.a.as_raw())
            self.model_a.append(i)
        else:
            lib.list_move(self.node(i), self.a.as_raw())
            self.model_a.insert(0, i)

    @rule(tail=st.booleans())
    def splice(self, tail: bool) -> None:
        if tail:
            lib.list_splice_tail_init(self.b.as_raw(), self.a.as_raw())
            self.model_a = self.model_a + self.model_b
        else:
            lib.list_splice_init(self.b.as_raw(), self.a.as_raw())
            self.model_a = self.model_b + self.model_a
        self.model_b = []

    @rule()
    def rotate(self) -> None:
        lib.list_rotate_left(self.a.as_raw())
        self.model_a = self.model_a[1:] + self.model_a[:1]

    @precondition(lambda self: self.model_a)
    @rule(data=st.data(), op=st.sampled_from(["del", "move_front", "move_tail", "rotate"]))
    def mutate_while_iterating(self, data: st.DataObject, op: str) -> None:
        at = data.draw(st.integers(0, len(self.model_a) - 1))
        target = data.draw(st.sampled_from(self.model_a))
        before = list(self.model_a)
        clist = clist_create(self.a, self.pool.idx, BLOCK, "link")
        seen = []
        try:
            for k, i in enumerate(clist):
                seen.append(i)
                if k != at:
                    continue
                if op == "del":
                    lib.list_del(self.node(target))
                    self.model_a.remove(target)
                elif op == "move_front":
                    lib.list_move(self.node(target), self.a.as_raw())
                    self.model_a.remove(target)
                    self.model_a.insert(0, target)
                elif op == "move_tail":
                    lib.list_move_tail(self.node(target), self.a.as_raw())
                    self.model_a.remove(target)
                    self.model_a.append(target)
                else:
                    lib.list_rotate_left(self.a.as_raw())
                    self.model_a = self.model_a[1:] + self.model_a[:1]
        except Error as e:
            assert e.errno == code.EAGAIN
            assert self.model_a != before  # raised only for a real change
        else:
            assert self.model_a == before and seen == before

    @invariant()
    def clists_read_the_c_lists(self) -> None:
        for head, model in ((self.a, self.model_a), (self.b, self.model_b)):
            clist = clist_create(head, self.pool.idx, BLOCK, "link")
            assert list(clist) == model
            assert len(clist) == len(model) == lib.list_count_nodes(head.as_raw())
            assert clist.is_empty() == (not model)
            safe = [self.pool.idx(p) for p in list_for_each_entry_safe(BLOCK, head, "link")]
            assert safe == model


CListMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None
)
TestCListMachine = CListMachine.TestCase
