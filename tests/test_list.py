"""pyforlinux.list: List, ListLinks, ListArc, Cursor (rust/kernel/list.rs)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyforlinux._bindings import lib
from pyforlinux.alloc import GFP_KERNEL, Flags, fail_nth, live_objects
from pyforlinux.error import Error, code
from pyforlinux.list import Cursor, List, ListArc, ListItem, ListLinks
from pyforlinux.sync import Arc, ArcBorrow, UniqueArc


class Item(ListItem):
    def __init__(self, value: int, flags: Flags = GFP_KERNEL) -> None:
        self.value = value
        self.links = ListLinks.new(flags)


class TwoLists(ListItem):
    """An item that can be on a list of ID 0 and one of ID 1 at once."""

    LIST_LINKS: ClassVar[dict[int, str]] = {0: "links", 1: "by_prio"}

    def __init__(self, value: int) -> None:
        self.value = value
        self.links = ListLinks.new(GFP_KERNEL)
        self.by_prio = ListLinks.new(GFP_KERNEL, id=1)


def values(lst: List[Any, Any]) -> list[int]:
    return [b.deref().value for b in lst]


def new(value: int) -> ListArc[Item, Any]:
    return ListArc.new(Item(value), GFP_KERNEL)


def errno_of(fn: Any) -> int:
    with pytest.raises(Error) as info:
        fn()
    return int(info.value.errno)


def test_push_pop_both_ends_with_the_real_list_h() -> None:
    base = live_objects().total
    with List() as lst:
        assert lst.is_empty() and lst.pop_front() is None and lst.pop_back() is None
        for v in (2, 3):
            lst.push_back(new(v))
        lst.push_front(new(1))
        assert values(lst) == [1, 2, 3] and len(lst) == 3
        assert lib.list_count_nodes(lst._head) == 3  # the C ring itself
        # each item costs its links and its refcount_t
        assert live_objects().total == base + 6
        first = lst.pop_front()
        last = lst.pop_back()
        assert first is not None and last is not None
        assert (first.deref().value, last.deref().value) == (1, 3)
        assert not first.deref().links.is_linked()
        first.close()
        last.close()
        lst.push_back(new(4))
    assert live_objects().total == base  # close() released every item


def test_push_moves_the_list_arc() -> None:
    with List() as lst:
        item = new(1)
        lst.push_back(item)
        assert item.closed
        assert errno_of(lambda: lst.push_back(item)) == code.EINVAL
        assert errno_of(item.deref) == code.EINVAL


def test_remove_by_item() -> None:
    a, b = Item(1), Item(2)
    with List() as lst, List() as other:
        lst.push_back(ListArc.new(a, GFP_KERNEL))
        other.push_back(ListArc.new(b, GFP_KERNEL))
        assert errno_of(lambda: lst.remove(b)) == code.EINVAL  # on another list
        got = lst.remove(a)
        assert got is not None and got.deref() is a
        assert lst.remove(a) is None  # on no list
        got.close()


def test_list_arc_is_unique_per_id() -> None:
    arc = Arc.new(Item(1), GFP_KERNEL)
    la = ListArc.try_from_arc(arc.clone())
    assert isinstance(la, ListArc)
    again = ListArc.try_from_arc(arc.clone())
    assert isinstance(again, Arc)  # the Arc is given back
    assert ListArc.try_from_arc_borrow(arc.as_arc_borrow()) is None
    again.close()
    with List() as lst:
        lst.push_back(la)
        popped = lst.pop_front()
    assert popped is not None
    plain = popped.into_arc()  # no ListArc any more ...
    la2 = ListArc.try_from_arc(plain)
    assert isinstance(la2, ListArc)  # ... so a new one can be made
    la2.close()
    arc.close()


def test_try_from_arc_or_drop() -> None:
    arc = Arc.new(Item(1), GFP_KERNEL)
    holder = ListArc.try_from_arc(arc.clone())
    assert isinstance(holder, ListArc)
    # a ListArc exists and arc is not the last reference: dropped
    assert ListArc.try_from_arc_or_drop(arc) is None
    # the last reference: rebuilt from the unique Arc
    la = ListArc.try_from_arc_or_drop(holder.into_arc())
    assert la is not None
    la.close()


def test_untracked_items_need_a_unique_arc() -> None:
    class Untracked(Item):
        LIST_ARC_TRACKED = False

    arc = Arc.new(Untracked(1), GFP_KERNEL)
    assert isinstance(ListArc.try_from_arc(arc), Arc)
    u = Arc.into_unique_or_drop(arc)
    assert u is not None
    la = ListArc.from_unique(u)
    la.close()


def test_an_item_on_two_lists_by_id() -> None:
    base = live_objects().total
    u = UniqueArc.new(TwoLists(5), GFP_KERNEL)
    a0, a1 = ListArc.pair_from_unique(u, 0, 1)
    with List(id=0) as l0, List(id=1) as l1:
        assert errno_of(lambda: l0.push_back(a1)) == code.EINVAL  # wrong id
        l0.push_back(a0)
        l1.push_back(a1)
        assert values(l0) == values(l1) == [5]
        l0_item = next(iter(l0)).deref()
        assert l0_item.links.is_linked() and l0_item.by_prio.is_linked()
    assert live_objects().total == base
    same = UniqueArc.new(TwoLists(1), GFP_KERNEL)
    assert errno_of(lambda: ListArc.pair_from_unique(same, 1, 1)) == code.EINVAL
    same.close()


def test_links_are_checked() -> None:
    class NoLinks(ListItem):
        pass

    la = ListArc.new(NoLinks(), GFP_KERNEL)
    with List() as lst:
        assert errno_of(lambda: lst.push_back(la)) == code.EINVAL
    la.close()
    with List() as lst:
        item = Item(1)
        lst.push_back(ListArc.new(item, GFP_KERNEL))
        assert errno_of(item.links.close) == code.EBUSY  # still on the list
    with fail_nth(1), pytest.raises(Error) as info:
        ListLinks.new(GFP_KERNEL)
    assert info.value.errno == code.ENOMEM


def test_push_all_back_splices() -> None:
    with List() as a, List() as b:
        for v in (1, 2):
            a.push_back(new(v))
        for v in (3, 4):
            b.push_back(new(v))
        a.push_all_back(b)
        assert values(a) == [1, 2, 3, 4] and b.is_empty() and len(b) == 0
        assert errno_of(lambda: a.push_all_back(a)) == code.EINVAL
        popped = a.pop_back()
        assert popped is not None and popped.deref().value == 4
        popped.close()


def test_modification_during_iteration_raises_and_ends_borrows() -> None:
    with List() as lst:
        for v in range(3):
            lst.push_back(new(v))
        borrow = next(iter(lst))
        assert isinstance(borrow, ArcBorrow) and borrow.deref().value == 0
        with pytest.raises(Error) as info:
            for _ in lst:
                lst.push_back(new(9))
        assert info.value.errno == code.EAGAIN
        assert errno_of(borrow.deref) == code.EINVAL  # the list changed


def test_cursor_between_elements() -> None:
    with List() as lst:
        c = lst.cursor_front()
        assert c.peek_next() is None and c.peek_prev() is None
        assert not c.move_next() and not c.move_prev()
        c.insert_next(new(2))  # [|2]
        c.insert_prev(new(1))  # [1|2]
        assert values(lst) == [1, 2]
        nxt, prv = c.peek_next(), c.peek_prev()
        assert nxt is not None and prv is not None
        assert (nxt.deref().value, prv.deref().value) == (2, 1)
        assert c.move_next() and not c.move_next()  # [1 2|]
        back = lst.cursor_back()
        removed = back.remove_prev()
        assert removed is not None and removed.deref().value == 2
        removed.close()
        assert errno_of(c.peek_prev) == code.EAGAIN  # stale: changed elsewhere
        front = lst.cursor_front()
        front.insert(new(0))
        assert errno_of(front.peek_next) == code.EINVAL  # insert() consumed it
        assert values(lst) == [0, 1]


def test_cursor_peek_remove_and_arc() -> None:
    with List() as lst:
        for v in (10, 11, 12):
            lst.push_back(new(v))
        c = lst.cursor_front()
        peek = c.peek_next()
        assert peek is not None
        arc = peek.arc()
        assert arc.deref().value == 10
        got = peek.remove()
        assert got.deref().value == 10
        got.close()
        assert errno_of(arc.deref) == code.EINVAL
        assert errno_of(peek.remove) == code.EAGAIN
        nxt = c.peek_next()
        assert nxt is not None and nxt.deref().value == 11


# ---------------------------------------------------------------- model-based


class ListMachine(RuleBasedStateMachine):
    """List + Cursor against a Python list: same contents after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.base = live_objects().total
        self.lst: List[Item, Any] = List()
        self.model: list[int] = []
        self.cursor: Cursor[Item, Any] | None = None
        self.pos = 0  # the model's cursor position (0..len)
        self.next_value = 0

    def fresh(self) -> ListArc[Item, Any]:
        self.next_value += 1
        return new(self.next_value)

    def list_changed(self) -> None:
        self.cursor = None

    def teardown(self) -> None:
        self.lst.close()
        assert live_objects().total == self.base

    @rule(front=st.booleans())
    def push(self, front: bool) -> None:
        item = self.fresh()
        if front:
            self.lst.push_front(item)
            self.model.insert(0, self.next_value)
        else:
            self.lst.push_back(item)
            self.model.append(self.next_value)
        self.list_changed()

    @rule(front=st.booleans())
    def pop(self, front: bool) -> None:
        got = self.lst.pop_front() if front else self.lst.pop_back()
        if not self.model:
            assert got is None
            return
        want = self.model.pop(0 if front else -1)
        assert got is not None and got.deref().value == want
        got.close()
        self.list_changed()

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        value = data.draw(st.sampled_from(self.model))
        item = next(b.deref() for b in self.lst if b.deref().value == value)
        got = self.lst.remove(item)
        assert got is not None
        got.close()
        self.model.remove(value)
        self.list_changed()

    @rule(n=st.integers(0, 3))
    def push_all_back(self, n: int) -> None:
        other: List[Item, Any] = List()
        for _ in range(n):
            other.push_back(self.fresh())
            self.model.append(self.next_value)
        self.lst.push_all_back(other)
        assert other.is_empty()
        self.list_changed()

    @rule(front=st.booleans())
    def new_cursor(self, front: bool) -> None:
        self.cursor = self.lst.cursor_front() if front else self.lst.cursor_back()
        self.pos = 0 if front else len(self.model)

    @precondition(lambda self: self.cursor is not None)
    @rule(forward=st.booleans())
    def move(self, forward: bool) -> None:
        assert self.cursor is not None
        if forward:
            moved = self.cursor.move_next()
            assert moved == (self.pos < len(self.model))
            self.pos += moved
        else:
            moved = self.cursor.move_prev()
            assert moved == (self.pos > 0)
            self.pos -= moved

    @precondition(lambda self: self.cursor is not None)
    @rule(after=st.booleans())
    def cursor_insert(self, after: bool) -> None:
        assert self.cursor is not None
        item = self.fresh()
        self.model.insert(self.pos, self.next_value)
        if after:
            self.cursor.insert_next(item)
        else:
            self.cursor.insert_prev(item)
            self.pos += 1

    @precondition(lambda self: self.cursor is not None)
    @rule(after=st.booleans())
    def cursor_remove(self, after: bool) -> None:
        assert self.cursor is not None
        got = self.cursor.remove_next() if after else self.cursor.remove_prev()
        index = self.pos if after else self.pos - 1
        if not 0 <= index < len(self.model):
            assert got is None
            return
        assert got is not None and got.deref().value == self.model.pop(index)
        got.close()
        if not after:
            self.pos -= 1

    @invariant()
    def same_contents(self) -> None:
        assert values(self.lst) == self.model
        assert len(self.lst) == len(self.model) == lib.list_count_nodes(self.lst._head)
        assert self.lst.is_empty() == (not self.model)
        if self.cursor is not None:
            nxt, prv = self.cursor.peek_next(), self.cursor.peek_prev()
            want_next = self.model[self.pos] if self.pos < len(self.model) else None
            want_prev = self.model[self.pos - 1] if self.pos > 0 else None
            assert (nxt.deref().value if nxt else None) == want_next
            assert (prv.deref().value if prv else None) == want_prev


ListMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestListMachine = ListMachine.TestCase
