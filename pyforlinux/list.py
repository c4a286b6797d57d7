"""An intrusive linked list of reference-counted items, owned by Python.

Mirrors ``rust/kernel/list.rs`` and ``rust/kernel/list/arc.rs``: a
:class:`List` holds :class:`ListArc` references; each item carries its
own links (:class:`ListLinks`), one per list *ID* it can be on, and a
:class:`ListArc` is the unique right to use one item's links for one ID.
So an item is on at most one list per ID, and only the list that holds
its ``ListArc`` can touch those links.

The links are real C ``struct list_head`` nodes (``kmalloc``-ed by
:class:`ListLinks`), and every insertion and removal is done by the real
``include/linux/list.h`` functions (``list_add``, ``list_add_tail``,
``list_del_init``, ``list_splice_tail_init``); the order of a list is the
order of its C ring.

Differences from Rust, by necessity:

- An item class derives from :class:`ListItem` (Rust: the
  ``ListItem``/``HasListLinks``/``ListArcSafe`` traits and their
  ``impl_*!`` macros), naming its links per ID in ``LIST_LINKS``.
  ``ListArc`` creation from a shared ``Arc`` is tracked per ID (Rust's
  ``AtomicTracker``); set ``LIST_ARC_TRACKED = False`` for Rust's
  ``untracked`` strategy (``ListArc`` only from a ``UniqueArc``).
- Links not on a list are ``INIT_LIST_HEAD``-ed (point at themselves, the
  list.h convention) rather than NULL.
- Borrow rules are checked at run time: iterating a list, or using a
  :class:`Cursor`, after the list was modified by something else raises
  ``Error(EAGAIN)``; an :class:`~pyforlinux.sync.ArcBorrow` from an
  iteration is valid until the list is next modified.
- The list ID is a run-time ``int`` (``List(id=1)``); the ``ID`` type
  parameter is a phantom for annotations such as
  ``List[Item, Literal[1]]``.

Thread context: a list, its cursors and its items' links are not
synchronised; protect a shared list with a lock.

C header: include/linux/list.h. Rust: rust/kernel/list.rs,
rust/kernel/list/arc.rs
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import U64_MAX, NoCopy, addr_of, arg_int, leak_finalizer
from pyforlinux.alloc import Flags, Kmalloc
from pyforlinux.error import Error, code
from pyforlinux.sync.arc import Arc, ArcBorrow, UniqueArc

__all__ = [
    "Cursor",
    "CursorPeek",
    "List",
    "ListArc",
    "ListItem",
    "ListLinks",
]

ID = TypeVar("ID", bound=int)
_lock = threading.Lock()


# ---------------------------------------------------------------- links


class ListLinks(NoCopy, Generic[ID]):
    """The ``prev``/``next`` pointers of an item for one list ID.

    A ``kmalloc``-ed ``struct list_head``; ``INIT_LIST_HEAD``-ed while the
    item is on no list. Freed by :meth:`close`, which the item's
    :meth:`ListItem.close` (its drop) calls.

    Rust: ``kernel::list::ListLinks<ID>``
    """

    __slots__ = ("__weakref__", "_fin", "_id", "_list", "_ptr")
    _ptr: Any  # ``struct list_head *``; None once freed
    _id: int
    _list: List[Any, Any] | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        """Not constructible: use :meth:`new`."""
        raise TypeError("use ListLinks.new(flags, id=...)")

    @classmethod
    def new(cls, flags: Flags, id: int = 0) -> ListLinks[Any]:
        """Allocate links for list ``id``.

        Raises:
            AllocError: ``ENOMEM``. Error: ``EINVAL`` for an ``id`` that is not a u64.

        Rust: ``ListLinks::new`` (an initialiser inside the item's allocation)
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        ptr = ffi.cast("struct list_head *", Kmalloc.alloc(ffi.sizeof("struct list_head"), flags))
        lib.INIT_LIST_HEAD(ptr)
        self: ListLinks[Any] = object.__new__(cls)
        self._ptr = ptr
        self._id = id
        self._list = None
        self._fin = leak_finalizer(self, f"ListLinks<{id}> at {addr_of(ptr):#x}")
        return self

    @property
    def id(self) -> int:
        """The list ID these links are for."""
        return self._id

    def is_linked(self) -> bool:
        """Whether the item is on a list through these links."""
        return self._list is not None

    def as_ptr(self) -> Any:
        """The ``struct list_head *`` (read-only use: C must not relink it).

        Raises:
            Error: ``EINVAL`` if the links were freed.
        """
        if self._ptr is None:
            raise Error(code.EINVAL, "ListLinks used after close()")
        return self._ptr

    def close(self) -> None:
        """Free the links (idempotent).

        Raises:
            Error: ``EBUSY`` if the item is still on a list.
        """
        if self._list is not None:
            raise Error(code.EBUSY, f"ListLinks<{self._id}> freed while on a list")
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._fin.detach()
            Kmalloc.free(ptr)

    def __repr__(self) -> str:
        state = "freed" if self._ptr is None else ("linked" if self._list else "unlinked")
        return f"<ListLinks<{self._id}> {state}>"


class ListItem(NoCopy):
    """Base class of values that can be put on a :class:`List`.

    Subclasses store a :class:`ListLinks` per list ID and name the
    attribute in ``LIST_LINKS`` (default ``{0: "links"}``)::

        class Item(ListItem):
            def __init__(self, value: int, flags: Flags) -> None:
                self.value = value
                self.links = ListLinks.new(flags)

    :meth:`close` (called when the last ``Arc`` to the item goes) frees
    every links object; override it to free more, calling ``super()``.

    Rust: the ``ListItem<ID>``, ``HasListLinks<ID>``, ``ListArcSafe<ID>``
    and ``TryNewListArc<ID>`` traits (``impl_list_item!``,
    ``impl_has_list_links!``, ``impl_list_arc_safe!`` with an
    ``AtomicTracker``).
    """

    LIST_LINKS: ClassVar[Mapping[int, str]] = {0: "links"}
    """List ID -> attribute holding the :class:`ListLinks` for it."""
    LIST_ARC_TRACKED: ClassVar[bool] = True
    """Track ``ListArc`` existence (allows :meth:`ListArc.try_from_arc`)."""

    def view_links(self, id: int) -> ListLinks[Any]:
        """The links for list ``id``.

        Raises:
            Error: ``EINVAL`` if the class declares no (valid) links for ``id``.

        Rust: ``ListItem::view_links``
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        name = self.LIST_LINKS.get(id)
        links = getattr(self, name, None) if name is not None else None
        if not isinstance(links, ListLinks) or links.id != id:
            raise Error(
                code.EINVAL, f"{type(self).__name__} has no ListLinks for list id {id}"
            )
        return links

    def _list_arcs(self) -> set[int]:
        arcs: set[int] | None = self.__dict__.get("_pfl_list_arcs")
        if arcs is None:
            arcs = self.__dict__.setdefault("_pfl_list_arcs", set())
        return arcs

    def try_new_list_arc(self, id: int) -> bool:
        """Claim the ``ListArc`` for ``id`` if none exists. Rust: ``TryNewListArc``."""
        if not self.LIST_ARC_TRACKED:
            return False
        with _lock:
            arcs = self._list_arcs()
            if id in arcs:
                return False
            arcs.add(id)
            return True

    def on_create_list_arc_from_unique(self, id: int) -> None:
        """Record that a ``ListArc`` for ``id`` now exists. Rust: ``ListArcSafe``.

        Rust knows statically that a ``UniqueArc`` is the only reference, so
        no ``ListArc`` can exist yet. Here one Python item can be put in two
        ``UniqueArc`` s (``ListArc.new(item)`` twice), so the tracking is
        checked at run time, tracked class or not: a second ``ListArc`` for
        one item and ID would let the item be linked twice.

        Raises:
            Error: ``EBUSY`` if a ``ListArc`` for ``id`` already exists.
        """
        with _lock:
            arcs = self._list_arcs()
            if id in arcs:
                raise Error(
                    code.EBUSY,
                    f"{type(self).__name__} already has a ListArc for list id {id} "
                    "(one item, one ListArc per id)",
                )
            arcs.add(id)

    def __setattr__(self, name: str, value: object) -> None:
        """Attributes are free, but links that are on a list cannot be replaced."""
        self._check_links_free(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._check_links_free(name)
        object.__delattr__(self, name)

    def _check_links_free(self, name: str) -> None:
        cur = self.__dict__.get(name) if hasattr(self, "__dict__") else None
        if isinstance(cur, ListLinks) and cur._list is not None:
            raise Error(
                code.EBUSY,
                f"{type(self).__name__}.{name}: its ListLinks are on a list; "
                "remove the item first",
            )

    def on_drop_list_arc(self, id: int) -> None:
        """Record that the ``ListArc`` for ``id`` is gone. Rust: ``ListArcSafe``."""
        with _lock:
            self._list_arcs().discard(id)

    def close(self) -> None:
        """Drop the item: free its links (Rust: dropping the fields)."""
        for name in self.LIST_LINKS.values():
            links = getattr(self, name, None)
            if isinstance(links, ListLinks):
                links.close()


T = TypeVar("T", bound=ListItem)


# ---------------------------------------------------------------- ListArc


class ListArc(NoCopy, Generic[T, ID]):
    """An :class:`~pyforlinux.sync.Arc` that is the unique one for list ``id``.

    Owning it is owning the right to put the item on a list with that ID.
    At most one exists per item and ID. Moved into a list by
    ``push_*``/``insert_*``; released by :meth:`close` (or ``with``).

    Rust: ``kernel::list::ListArc<T, ID>``
    """

    __slots__ = ("_arc", "_id")
    _arc: Arc[T] | None
    _id: int

    def __init__(self) -> None:
        """Not constructible: use :meth:`new`, :meth:`from_unique` or :meth:`try_from_arc`."""
        raise TypeError("use ListArc.new(), from_unique() or try_from_arc()")

    @classmethod
    def _transmute(cls, arc: Arc[T], id: int) -> ListArc[T, Any]:
        self: ListArc[T, Any] = object.__new__(cls)
        self._arc = arc
        self._id = id
        return self

    @classmethod
    def new(cls, value: T, flags: Flags, id: int = 0) -> ListArc[T, Any]:
        """A new item in a new ``Arc``, with its ``ListArc`` for ``id``.

        Raises:
            AllocError: ``ENOMEM``; ``value`` is then not dropped: it stays
                the caller's, to release (e.g. its ``ListLinks``), as with
                :meth:`~pyforlinux.sync.arc.Arc.new`.
            Error: ``EBUSY`` if ``value`` already has a ``ListArc`` for ``id``
                (it is in another ``Arc``): nothing is allocated.

        Rust: ``ListArc::new``
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        value.on_create_list_arc_from_unique(id)  # EBUSY before anything is allocated
        try:
            unique = UniqueArc.new(value, flags)
        except BaseException:
            value.on_drop_list_arc(id)
            raise
        return cls._transmute(unique.into_arc(), id)

    @classmethod
    def from_unique(cls, unique: UniqueArc[T], id: int = 0) -> ListArc[T, Any]:
        """Turn a :class:`UniqueArc` into the ``ListArc`` for ``id`` (it is moved).

        Rust: ``impl From<UniqueArc<T>> for ListArc<T, ID>``
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        unique.deref().on_create_list_arc_from_unique(id)
        return cls._transmute(unique.into_arc(), id)

    @classmethod
    def pair_from_unique(
        cls, unique: UniqueArc[T], id1: int, id2: int
    ) -> tuple[ListArc[T, Any], ListArc[T, Any]]:
        """Two ``ListArc``s, for two different IDs, from a :class:`UniqueArc`.

        Raises:
            Error: ``EINVAL`` if ``id1 == id2``.

        Rust: ``ListArc::pair_from_unique``
        """
        id1 = arg_int(id1, "list id", 0, U64_MAX)
        id2 = arg_int(id2, "list id", 0, U64_MAX)
        if id1 == id2:
            raise Error(code.EINVAL, "pair_from_unique needs two different list ids")
        item = unique.deref()
        item.on_create_list_arc_from_unique(id1)
        try:
            item.on_create_list_arc_from_unique(id2)
        except BaseException:
            item.on_drop_list_arc(id1)
            raise
        arc = unique.into_arc()
        return cls._transmute(arc.clone(), id1), cls._transmute(arc, id2)

    @classmethod
    def try_from_arc(cls, arc: Arc[T], id: int = 0) -> ListArc[T, Any] | Arc[T]:
        """The ``ListArc`` for ``id``, or ``arc`` itself back if one exists already.

        On success ``arc`` is moved into the result.

        Rust: ``ListArc::try_from_arc`` (``Result<ListArc, Arc>``)
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        if arc.deref().try_new_list_arc(id):
            return cls._transmute(_move_arc(arc), id)
        return arc

    @classmethod
    def try_from_arc_borrow(cls, borrow: ArcBorrow[T], id: int = 0) -> ListArc[T, Any] | None:
        """The ``ListArc`` for ``id`` (a new increment), or ``None`` if one exists.

        Rust: ``ListArc::try_from_arc_borrow``
        """
        id = arg_int(id, "list id", 0, U64_MAX)
        if borrow.deref().try_new_list_arc(id):
            return cls._transmute(borrow.clone_arc(), id)
        return None

    @classmethod
    def try_from_arc_or_drop(cls, arc: Arc[T], id: int = 0) -> ListArc[T, Any] | None:
        """The ``ListArc`` for ``id``; failing that, if ``arc`` was the last
        reference, a fresh one from it; else ``None`` (``arc`` is dropped).

        Rust: ``ListArc::try_from_arc_or_drop``
        """
        res = cls.try_from_arc(arc, id)
        if isinstance(res, ListArc):
            return res
        unique = Arc.into_unique_or_drop(res)
        return None if unique is None else cls.from_unique(unique, id)

    # -- state

    def _check(self) -> Arc[T]:
        arc = self._arc
        if arc is None:
            raise Error(code.EINVAL, "ListArc used after it was released or moved")
        return arc

    def _take(self) -> Arc[T]:
        """Move out the ``Arc`` without touching the tracking (transmute)."""
        with _lock:
            arc = self._check()
            self._arc = None
        return arc

    @property
    def id(self) -> int:
        """The list ID this ``ListArc`` is for."""
        return self._id

    @property
    def closed(self) -> bool:
        """Whether it was released or moved."""
        return self._arc is None

    def deref(self) -> T:
        """The item (Rust: ``Deref``). Raises ``Error(EINVAL)`` once released/moved."""
        return self._check().deref()

    def as_arc_borrow(self) -> ArcBorrow[T]:
        """An :class:`~pyforlinux.sync.ArcBorrow` valid while this ``ListArc`` is held."""
        arc = self._check()
        inner = arc._check()
        return ArcBorrow(inner, lambda: self._arc is arc)

    def clone_arc(self) -> Arc[T]:
        """A plain :class:`~pyforlinux.sync.Arc` to the item (a new increment)."""
        return self._check().clone()

    def into_arc(self) -> Arc[T]:
        """Give up the ``ListArc`` status: the plain ``Arc`` (this is moved)."""
        arc = self._take()
        arc.deref().on_drop_list_arc(self._id)
        return arc

    def ptr_eq(self, other: ListArc[Any, Any]) -> bool:
        """Whether both refer to the same item."""
        return Arc.ptr_eq(self._check(), other._check())

    def into_raw(self) -> Any:
        """Give up the ``ListArc``, keeping the tracking; returns ``void *``.

        Take it back with :meth:`from_raw`. Rust: ``ListArc::into_raw``
        """
        return self._take().into_raw()

    @classmethod
    def from_raw(cls, ptr: Any, id: int = 0) -> ListArc[Any, Any]:
        """Take back a ``ListArc`` from :meth:`into_raw`.

        Safety: ``ptr`` must come from ``ListArc.into_raw`` for ``id``.

        Raises:
            Error: ``ENOENT`` if nothing was handed out at ``ptr``.
        """
        return cls._transmute(Arc.from_raw(ptr), id)

    def close(self) -> None:
        """Release it (Rust: ``drop``): the tracking, then the ``Arc`` increment.

        Raises:
            Error: ``EINVAL`` if already released or moved.
        """
        arc = self._take()
        try:
            arc.deref().on_drop_list_arc(self._id)
        finally:
            arc.close()

    def __enter__(self) -> ListArc[T, ID]:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._arc is not None:
            self.close()

    def __repr__(self) -> str:
        arc = self._arc
        return "<ListArc released>" if arc is None else f"<ListArc<{self._id}> {arc!r}>"


def _move_arc(arc: Arc[T]) -> Arc[T]:
    """A new handle owning ``arc``'s increment (``arc`` becomes moved)."""
    return Arc._adopt(arc._take())


# ---------------------------------------------------------------- List


class List(NoCopy, Generic[T, ID]):
    """A doubly linked list of :class:`ListArc` items (list ID ``id``).

    The list owns the ``ListArc`` of each item on it. :meth:`close` (or the
    end of a ``with`` block) pops and releases every item (Rust: ``Drop``).
    A list garbage collected while non-empty reports the leak.

    Rust: ``kernel::list::List<T, ID>``
    """

    __slots__ = ("__weakref__", "_fin", "_head", "_id", "_items", "_links", "_version")

    def __init__(self, id: int = 0) -> None:
        """An empty list for items' links of ID ``id``. Rust: ``List::new``."""
        self._id = arg_int(id, "list id", 0, U64_MAX)
        # The sentinel: Python-owned, never handed to C.
        self._head = ffi.new("struct list_head *")
        lib.INIT_LIST_HEAD(self._head)
        self._items: dict[int, ListArc[T, ID]] = {}
        # The links each item was linked with, by node: removal unlinks (and
        # marks free) exactly those, whatever the item's attributes say now.
        self._links: dict[int, ListLinks[Any]] = {}
        self._version = 0
        self._fin: weakref.finalize[..., Any] | None = None

    @classmethod
    def new(cls, id: int = 0) -> List[Any, Any]:
        """An empty list. Rust: ``List::new``."""
        return cls(id)

    @property
    def id(self) -> int:
        """The list ID."""
        return self._id

    def _changed(self) -> None:
        self._version += 1
        if self._items and self._fin is None:
            self._fin = leak_finalizer(self, f"List<{self._id}> with items")
        elif not self._items and self._fin is not None:
            self._fin.detach()
            self._fin = None

    def is_empty(self) -> bool:
        """Whether the list has no items (``list_empty``). Rust: ``List::is_empty``."""
        return bool(lib.list_empty(self._head))

    def __len__(self) -> int:
        return len(self._items)

    # -- insertion

    def _links_for(self, item: ListArc[T, ID]) -> tuple[ListArc[T, ID], ListLinks[Any]]:
        if not isinstance(item, ListArc):
            raise Error(code.EINVAL, f"lists take ListArc items, not {type(item).__name__}")
        if item.id != self._id:
            raise Error(code.EINVAL, f"a ListArc for list id {item.id} on a list of id {self._id}")
        links = item.deref().view_links(self._id)
        if links._list is not None:
            raise Error(code.EBUSY, "the item is already on a list with this id")
        links.as_ptr()
        return item, links

    def _insert(self, item: ListArc[T, ID], before: Any) -> int:
        """Link ``item`` before node ``before`` (``list_add_tail``); returns its node."""
        item, links = self._links_for(item)
        owned = ListArc._transmute(item._take(), self._id)
        ptr = links._ptr
        # SAFETY: we own the item's ListArc for this id, so nothing else links
        # ptr (it is unlinked, INIT_LIST_HEAD-ed); before is our head or a
        # node on this list.
        lib.list_add_tail(ptr, before)
        links._list = self
        node = addr_of(ptr)
        self._items[node] = owned
        self._links[node] = links
        self._changed()
        return node

    def push_back(self, item: ListArc[T, ID]) -> None:
        """Add ``item`` at the end (it is moved into the list). Rust: ``List::push_back``.

        Raises:
            Error: ``EINVAL`` for a released ``ListArc`` or one of another ID.
        """
        self._insert(item, self._head)

    def push_front(self, item: ListArc[T, ID]) -> None:
        """Add ``item`` at the front (``list_add``). Rust: ``List::push_front``."""
        item, links = self._links_for(item)
        owned = ListArc._transmute(item._take(), self._id)
        lib.list_add(links._ptr, self._head)
        links._list = self
        self._items[addr_of(links._ptr)] = owned
        self._links[addr_of(links._ptr)] = links
        self._changed()

    # -- removal

    def _remove_node(self, node: int) -> ListArc[T, ID]:
        owned = self._items.pop(node)
        links = self._links.pop(node)
        # SAFETY: node is in self._items, so it is linked on this list (whose
        # links only this List touches, and which cannot be freed or replaced
        # while linked) and its item is kept alive by owned.
        lib.list_del_init(ffi.cast("struct list_head *", node))
        links._list = None
        self._changed()
        return owned

    def pop_front(self) -> ListArc[T, ID] | None:
        """Remove and return the first item, or ``None``. Rust: ``List::pop_front``."""
        if lib.list_empty(self._head):
            return None
        return self._remove_node(addr_of(self._head.next))

    def pop_back(self) -> ListArc[T, ID] | None:
        """Remove and return the last item, or ``None``. Rust: ``List::pop_back``."""
        if lib.list_empty(self._head):
            return None
        return self._remove_node(addr_of(self._head.prev))

    def remove(self, item: T | ArcBorrow[T]) -> ListArc[T, ID] | None:
        """Remove ``item`` from this list; ``None`` if it is on no list of this ID.

        Raises:
            Error: ``EINVAL`` if it is on *another* list of this ID (which
                Rust leaves as an ``unsafe`` precondition).

        Rust: ``List::remove``
        """
        value = item.deref() if isinstance(item, ArcBorrow) else item
        links = value.view_links(self._id)
        if links._list is None:
            return None
        if links._list is not self:
            raise Error(code.EINVAL, "the item is on another list with this id")
        node = addr_of(links.as_ptr())
        if self._links.get(node) is not links or self._items[node].deref() is not value:
            raise Error(code.EINVAL, "these links are on this list for another item")
        return self._remove_node(node)

    def push_all_back(self, other: List[T, ID]) -> None:
        """Move every item of ``other`` to the end of this list (``list_splice_tail_init``).

        Raises:
            Error: ``EINVAL`` if ``other`` is this list or has another ID.

        Rust: ``List::push_all_back``
        """
        if other is self or other._id != self._id:
            raise Error(code.EINVAL, "push_all_back needs another list of the same id")
        lib.list_splice_tail_init(other._head, self._head)
        for node, owned in other._items.items():
            links = other._links[node]
            links._list = self
            self._items[node] = owned
            self._links[node] = links
        other._items.clear()
        other._links.clear()
        other._changed()
        self._changed()

    # -- traversal

    def _item_at(self, node: int) -> ListArc[T, ID]:
        return self._items[node]

    def iter(self) -> Iterator[ArcBorrow[T]]:
        """The items, first to last, as ``ArcBorrow``s valid until the list changes.

        Raises (while iterating):
            Error: ``EAGAIN`` if the list is modified during iteration.

        Rust: ``List::iter``
        """
        version = self._version
        head = addr_of(self._head)

        def alive() -> bool:
            return self._version == version

        node = addr_of(self._head.next)
        while node != head:
            if not alive():
                raise Error(code.EAGAIN, "list was modified during iteration")
            inner = self._items[node]._check()._check()
            yield ArcBorrow(inner, alive)
            if not alive():
                raise Error(code.EAGAIN, "list was modified during iteration")
            node = addr_of(ffi.cast("struct list_head *", node).next)

    def __iter__(self) -> Iterator[ArcBorrow[T]]:
        return self.iter()

    def cursor_front(self) -> Cursor[T, ID]:
        """A cursor before the first item. Rust: ``List::cursor_front``."""
        return Cursor(self, self._first())

    def cursor_back(self) -> Cursor[T, ID]:
        """A cursor after the last item. Rust: ``List::cursor_back``."""
        return Cursor(self, None)

    def _first(self) -> int | None:
        node = addr_of(self._head.next)
        return None if node == addr_of(self._head) else node

    def _next_of(self, node: int) -> int | None:
        nxt = addr_of(ffi.cast("struct list_head *", node).next)
        return None if nxt == addr_of(self._head) else nxt

    def _prev_of(self, node: int | None) -> int | None:
        """The item before position ``node`` (None: the end)."""
        base = self._head if node is None else ffi.cast("struct list_head *", node)
        prev = addr_of(base.prev)
        return None if prev == addr_of(self._head) else prev

    # -- drop

    def close(self) -> None:
        """Pop and release every item (Rust: ``Drop``). Idempotent."""
        while (item := self.pop_front()) is not None:
            item.close()

    def __enter__(self) -> List[T, ID]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<List<{self._id}> len={len(self._items)}>"


class Cursor(NoCopy, Generic[T, ID]):
    """A position *between* two items of a :class:`List` (or at an end).

    It has a previous and a next item (either may be absent) and no
    current one; an empty list has one position. Moving, peeking,
    inserting and removing through the cursor keep it valid; any other
    change to the list makes it stale (``Error(EAGAIN)``).

    Rust: ``kernel::list::Cursor<'a, T, ID>``
    """

    __slots__ = ("_list", "_next", "_version")

    def __init__(self, lst: List[T, ID], next_node: int | None) -> None:
        """Internal; use :meth:`List.cursor_front` / :meth:`List.cursor_back`."""
        self._list: List[T, ID] | None = lst
        self._next = next_node
        self._version = lst._version

    def _check(self) -> List[T, ID]:
        lst = self._list
        if lst is None:
            raise Error(code.EINVAL, "cursor used after insert() consumed it")
        if lst._version != self._version:
            raise Error(code.EAGAIN, "cursor is stale: the list was modified elsewhere")
        return lst

    def _sync(self, lst: List[T, ID]) -> None:
        self._version = lst._version

    def peek_next(self) -> CursorPeek[T, ID] | None:
        """The item after the cursor, or ``None`` at the end. Rust: ``Cursor::peek_next``."""
        self._check()
        return None if self._next is None else CursorPeek(self, self._next, True)

    def peek_prev(self) -> CursorPeek[T, ID] | None:
        """The item before the cursor, or ``None`` at the start. Rust: ``Cursor::peek_prev``."""
        lst = self._check()
        prev = lst._prev_of(self._next)
        return None if prev is None else CursorPeek(self, prev, False)

    def move_next(self) -> bool:
        """Step over the next item; ``False`` (no move) at the end. Rust: ``Cursor::move_next``."""
        lst = self._check()
        if self._next is None:
            return False
        self._next = lst._next_of(self._next)
        return True

    def move_prev(self) -> bool:
        """Step back over the previous item; ``False`` at the start. Rust: ``Cursor::move_prev``."""
        lst = self._check()
        prev = lst._prev_of(self._next)
        if prev is None:
            return False
        self._next = prev
        return True

    def _insert(self, item: ListArc[T, ID]) -> int:
        lst = self._check()
        pos = lst._head if self._next is None else ffi.cast("struct list_head *", self._next)
        node = lst._insert(item, pos)
        self._sync(lst)
        return node

    def insert_next(self, item: ListArc[T, ID]) -> None:
        """Insert ``item`` here; it becomes the next item. Rust: ``Cursor::insert_next``."""
        self._next = self._insert(item)

    def insert_prev(self, item: ListArc[T, ID]) -> None:
        """Insert ``item`` here; it becomes the previous item. Rust: ``Cursor::insert_prev``."""
        self._insert(item)

    def insert(self, item: ListArc[T, ID]) -> None:
        """Insert ``item`` here and consume the cursor. Rust: ``Cursor::insert``."""
        self._insert(item)
        self._list = None

    def remove_next(self) -> ListArc[T, ID] | None:
        """Remove the next item, if any. Rust: ``Cursor::remove_next``."""
        peek = self.peek_next()
        return None if peek is None else peek.remove()

    def remove_prev(self) -> ListArc[T, ID] | None:
        """Remove the previous item, if any. Rust: ``Cursor::remove_prev``."""
        peek = self.peek_prev()
        return None if peek is None else peek.remove()

    def __repr__(self) -> str:
        return f"<Cursor next={'end' if self._next is None else hex(self._next)}>"


class CursorPeek(NoCopy, Generic[T, ID]):
    """The item just before or after a :class:`Cursor`.

    Valid until the cursor or list changes (``Error(EAGAIN)`` afterwards).

    Rust: ``kernel::list::CursorPeek<'a, 'b, T, ISNEXT, ID>``
    """

    __slots__ = ("_cursor", "_is_next", "_node", "_version")

    def __init__(self, cursor: Cursor[T, ID], node: int, is_next: bool) -> None:
        """Internal: made by :meth:`Cursor.peek_next` / :meth:`Cursor.peek_prev`."""
        self._cursor = cursor
        self._node = node
        self._is_next = is_next
        self._version = (cursor._version, cursor._next)

    def _check(self) -> List[T, ID]:
        lst = self._cursor._check()
        if (self._cursor._version, self._cursor._next) != self._version:
            raise Error(code.EAGAIN, "CursorPeek is stale: the cursor moved")
        return lst

    def deref(self) -> T:
        """The item (Rust: ``Deref``)."""
        return self._check()._item_at(self._node).deref()

    def arc(self) -> ArcBorrow[T]:
        """The item as an ``ArcBorrow``, valid until the cursor or list changes."""
        lst = self._check()
        inner = lst._item_at(self._node)._check()._check()
        return ArcBorrow(inner, lambda: self._valid())

    def _valid(self) -> bool:
        try:
            self._check()
        except Error:
            return False
        return True

    def remove(self) -> ListArc[T, ID]:
        """Remove the item from the list; the cursor stays where it was.

        Rust: ``CursorPeek::remove``
        """
        lst = self._check()
        if self._is_next:
            self._cursor._next = lst._next_of(self._node)
        item = lst._remove_node(self._node)
        self._cursor._sync(lst)
        self._version = (-1, None)
        return item
