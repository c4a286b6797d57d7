"""Read C doubly linked ``list_head`` lists from Python.

Mirrors ``rust/kernel/interop/list.rs``: typed, read-only iteration over a
C intrusive list that **C owns** (its nodes are linked and freed by C,
e.g. the blocks ``gpu_buddy_alloc_blocks()`` puts on a list). Python
code that just needs a list primitive must use :mod:`pyforlinux.list`
instead.

- :class:`CListHead` wraps one ``struct list_head *``.
- :class:`CList` is a typed view of the list behind a sentinel head;
  :func:`clist_create` builds one from the C struct and member *names*:
  ``clist_create(head, Block, "struct gpu_buddy_block", "link")`` takes
  the member offset with ``ffi.offsetof`` and checks that the member is a
  ``struct list_head`` (Rust: the ``clist_create!`` macro).
- :func:`list_for_each_entry`, :func:`list_for_each_entry_safe`,
  :func:`list_first_entry_or_null`, :func:`list_entry` keep the kernel's
  names and arguments, for porting C loops.

Iteration never loops forever and never reads freed memory, even if the
list is modified meanwhile (which Rust forbids by the ``unsafe``
contract of ``CList::from_raw``). Each step checks:

- the pointers it follows are not ``NULL`` or ``LIST_POISON1/2`` (a
  deleted entry) -> ``Error(EFAULT)``;
- when the entries are runtime allocations (``kmalloc``,
  ``kmem_cache_alloc``: detected on the first entry, or forced with
  ``check_live``), each entry is still allocated before it is read ->
  ``Error(EFAULT)`` instead of a use-after-free;
- ``next->prev == node`` for every step; the walk follows a snapshot of
  the entries taken when iteration starts (which also bounds it), the
  links of the entry last yielded are unchanged when iteration resumes,
  and a fresh walk at the end equals the snapshot -> ``Error(EAGAIN)``:
  the list was modified during iteration. (With
  :func:`list_for_each_entry_safe`, deleting the entry just yielded is
  allowed, as in C.)

Batched iteration (:meth:`CList.iter_batched`) makes the same checks in C
(csrc/helpers/list.c), a batch of entries per FFI crossing instead of one
entry: the snapshot is walked in C; before a batch is yielded, each of its
entries is checked (live, links as in the snapshot) and its value made
(``item``) at once, so the loop body only ever sees values made from
checked entries; a modification is detected at the next batch (or by the
final check of the whole list) instead of at the next entry. An entry's
liveness is looked up again only if the runtime freed something since the
snapshot walk found it live (its free generation changed): otherwise it is
still live, and only its links are read.

Thread context: the list must not be modified concurrently by another
thread without the lock C uses for it; the checks above detect most such
races but cannot make them safe.

C header: include/linux/list.h. Rust: rust/kernel/interop/list.rs
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any, Final, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, addr_of
from pyforlinux.error import Error, code
from pyforlinux.types import Opaque

__all__ = [
    "BATCH",
    "MAX_STEPS",
    "CList",
    "CListHead",
    "clist_create",
    "container_of",
    "entry_ptr",
    "list_entry",
    "list_first_entry_or_null",
    "list_for_each_entry",
    "list_for_each_entry_safe",
]

T = TypeVar("T")

MAX_STEPS: Final = 1 << 24
"""Hard bound on the entries one walk visits (a list longer than this raises)."""

BATCH: Final = 1024
"""Default entries per FFI crossing of :meth:`CList.iter_batched` (and of the C snapshot walk)."""

_LIST_HEAD = ffi.typeof("struct list_head")
_LIST_HEAD_P = ffi.typeof("struct list_head *")
_BAD = frozenset(
    {0, addr_of(lib.LIST_POISON1), addr_of(lib.LIST_POISON2)},
)


def _as_head(head: Any) -> tuple[Any, Any]:
    """(``struct list_head *``, keep-alive owner) of a CListHead or cdata."""
    if isinstance(head, CListHead):
        return head.as_raw(), head._owner
    if isinstance(head, Opaque):
        head = head.get()
    if not isinstance(head, ffi.CData) or ffi.typeof(head) is not _LIST_HEAD_P:
        raise Error(code.EINVAL, f"expected a struct list_head *, got {head!r}")
    return head, None


def _node(addr: int) -> Any:
    return ffi.cast(_LIST_HEAD_P, addr)


_UINTPTR_ARRAY = ffi.typeof("uintptr_t[]")


def _walk_error(errno: int) -> Error:
    """The error of a C walk (``pfl_list_walk_*``/``pfl_list_check_batch``)."""
    if errno == code.EFAULT:
        return Error(
            code.EFAULT,
            "a list entry was freed, or has NULL/LIST_POISON links "
            "(uninitialised, deleted, or the list was modified during iteration)",
        )
    if errno == code.EAGAIN:
        return Error(
            code.EAGAIN,
            "list was modified during iteration (links changed), or is corrupted",
        )
    return Error(errno)


def _links(addr: int) -> tuple[int, int]:
    """(next, prev) of the node at ``addr``, both checked to be plausible."""
    # SAFETY: callers only pass the head (valid by CList's contract) or a
    # node reached through checked links and, for runtime allocations,
    # checked to be live (_Walk._live) just before.
    n = _node(addr)
    nxt, prev = addr_of(n.next), addr_of(n.prev)
    if nxt in _BAD or prev in _BAD:
        raise Error(
            code.EFAULT,
            f"list node {addr:#x} has next={nxt:#x} prev={prev:#x} "
            "(NULL or LIST_POISON: uninitialised or deleted)",
        )
    return nxt, prev


class CListHead(NoCopy):
    """One C ``struct list_head`` (a sentinel or an entry's link).

    Either borrowed from C (:meth:`from_raw`) or owned (:meth:`new`: an
    initialised empty head in Python-owned memory). Compares equal by
    address.

    Rust: ``kernel::interop::list::CListHead``
    """

    __slots__ = ("_owner", "_ptr")

    def __init__(self, ptr: Any, owner: Any = None) -> None:
        """Internal; use :meth:`from_raw` or :meth:`new`."""
        self._ptr = ptr
        self._owner = owner

    @classmethod
    def from_raw(cls, ptr: Any, owner: Any = None) -> CListHead:
        """Wrap a ``struct list_head *`` that C initialised.

        Safety: ``ptr`` must point at an initialised ``list_head`` that
        stays valid while this object is used (``owner`` is kept alive, if
        given). It is checked to be non-NULL with plausible links.

        Raises:
            Error: ``EINVAL`` for a NULL or non-``list_head`` pointer,
                ``EFAULT`` for NULL/poisoned links.

        Rust: ``CListHead::from_raw``
        """
        if not isinstance(ptr, ffi.CData) or ffi.typeof(ptr) is not _LIST_HEAD_P:
            raise Error(code.EINVAL, f"expected a struct list_head *, got {ptr!r}")
        if ptr == ffi.NULL:
            raise Error(code.EINVAL, "NULL list_head")
        _links(addr_of(ptr))
        return cls(ptr, owner)

    @classmethod
    def new(cls) -> CListHead:
        """A new, empty, owned head (``INIT_LIST_HEAD``), for C to link into.

        Rust: ``CListHead::new``
        """
        op = Opaque.ffi_init("struct list_head", lib.INIT_LIST_HEAD)
        return cls(op.get(), op)

    def as_raw(self) -> Any:
        """The ``struct list_head *``. Rust: ``CListHead::as_raw``."""
        return self._ptr

    def next(self) -> CListHead:
        """The next node. Raises ``Error(EFAULT)`` for NULL/poisoned links."""
        nxt, _ = _links(addr_of(self._ptr))
        return CListHead(_node(nxt), self._owner)

    def prev(self) -> CListHead:
        """The previous node. Raises ``Error(EFAULT)`` for NULL/poisoned links."""
        _, prev = _links(addr_of(self._ptr))
        return CListHead(_node(prev), self._owner)

    def is_linked(self) -> bool:
        """Whether the node is in a list (its links do not point at itself).

        For a sentinel: whether the list is non-empty.

        Rust: ``CListHead::is_linked``
        """
        addr = addr_of(self._ptr)
        nxt, prev = _links(addr)
        return nxt != addr and prev != addr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CListHead) and addr_of(other._ptr) == addr_of(self._ptr)

    def __hash__(self) -> int:
        return hash(addr_of(self._ptr))

    def __repr__(self) -> str:
        return f"<CListHead {addr_of(self._ptr):#x}>"


class _Walk:
    """The checked walk shared by CList and the kernel-style helpers."""

    __slots__ = ("c_ptr", "check_live", "clist", "head", "make", "offset")

    def __init__(
        self,
        head: int,
        offset: int,
        c_ptr: Any,
        make: Callable[[Any], Any],
        check_live: bool | None,
        clist: CList[Any],
    ) -> None:
        self.head = head
        self.offset = offset
        self.c_ptr = c_ptr
        self.make = make
        self.check_live = check_live
        self.clist = clist  # keeps the last snapshot (CList._last)

    def _live(self, node: int) -> None:
        if node != self.head and self.check_live and not lib.pfl_kobj_is_live(
            ffi.cast("void *", node - self.offset)
        ):
            raise Error(
                code.EFAULT,
                f"list entry {node - self.offset:#x} was freed (modified during iteration?)",
            )

    def read(self, node: int) -> tuple[int, int]:
        """Links of ``node``, after checking its entry is still allocated."""
        self._live(node)
        return _links(node)

    def resolve_live(self, first: int) -> None:
        """Decide ``check_live`` from the first entry (a runtime allocation?)."""
        if self.check_live is None:
            self.check_live = first != self.head and bool(
                lib.pfl_kobj_is_live(ffi.cast("void *", first - self.offset))
            )

    def step(self, cur: int, nxt: int) -> tuple[int, int]:
        """Links of ``nxt``, checking it really follows ``cur``."""
        links = self.read(nxt)
        if links[1] != cur:
            raise Error(
                code.EAGAIN,
                f"list is inconsistent at {nxt:#x} (prev is {links[1]:#x}, expected {cur:#x}): "
                "modified during iteration, or corrupted",
            )
        return links

    def chunks(self, batch: int = BATCH) -> tuple[list[tuple[Any, int]], int]:
        """The entries' node addresses as ``(uintptr_t[], count)`` chunks.

        Walked in C (``pfl_list_walk_checked``), at most ``batch`` nodes per call,
        with every check of :meth:`step` (poison, liveness, ``next->prev``,
        the head's ``prev``), bounded by MAX_STEPS. Also returns the
        runtime's free generation taken as the walk started: while it is
        unchanged, every entry the walk found live is still live. So the
        entries the CList's previous walk found live, met again at the same
        places, are not looked up again while nothing was freed since; this
        walk is kept for the next one (8 bytes per entry).
        """
        nxt, _ = self.read(self.head)
        self.resolve_live(nxt)
        head = _node(self.head)
        live = 1 if self.check_live else 0
        out: list[tuple[Any, int]] = []
        cur, total = head, 0
        gen = ffi.new("unsigned long *")
        known, known_gen = self.clist._last or ((), 0)
        size = min(batch, 16)  # short lists are the common case: grow up to batch
        while True:
            buf = ffi.new(_UINTPTR_ARRAY, size)
            # SAFETY: head is valid (CList's contract); C reads a node only
            # after the checks above (live entry, plausible links).
            # the previous walk's chunk at the same place (unless the list grew)
            kbuf, kn = known[len(out)] if len(out) < len(known) else (ffi.NULL, 0)
            n = int(
                lib.pfl_list_walk_checked(
                    head,
                    cur,
                    self.offset,
                    live,
                    buf,
                    size,
                    gen if cur is head else ffi.NULL,
                    kbuf,
                    kn,
                    known_gen,
                )
            )
            if n < 0:
                raise _walk_error(-n)
            total += n
            if total > MAX_STEPS:
                raise Error(code.EAGAIN, f"list longer than {MAX_STEPS} entries, or looping")
            if n:
                out.append((buf, n))
            if n < size:
                # Only a walk that looked its entries up proves them live.
                self.clist._last = (out, int(gen[0])) if live else None
                return out, int(gen[0])
            cur = _node(buf[n - 1])
            size = min(batch, size * 4)

    def nodes(self) -> list[int]:
        """The entries' node addresses, checking every link (bounded by MAX_STEPS)."""
        return [a for buf, n in self.chunks()[0] for a in ffi.unpack(buf, n)]

    def check(
        self, chunks: list[tuple[Any, int]], gen: int, entries: Any, first: int, last: int
    ) -> None:
        """Check that ``chunks[first:last]`` are still linked as walked.

        Their nodes are live (looked up again only if something was freed
        since ``gen``), unpoisoned, and linked to each other and to the
        neighbouring chunks (or the head) as in ``chunks``; then, unless
        ``entries`` is NULL, the addresses of the last chunk's entries are
        stored there. All of ``chunks`` (``0, len(chunks)``) is a fresh
        checked walk from the head that meets exactly those nodes and comes
        back to the head (an empty list: the head points at itself).
        Raises ``EAGAIN``/``EFAULT`` otherwise (``pfl_list_check_batch``).
        """
        head = _node(self.head)
        live = 1 if self.check_live else 0
        if not chunks:
            # SAFETY: the head is valid (CList's contract); only it is read.
            ret = lib.pfl_list_check_batch(
                head, self.head, ffi.NULL, 0, self.head, self.offset, live, gen, entries
            )
            if ret:
                raise _walk_error(-ret)
        end = len(chunks) - 1
        for i in range(first, last):
            buf, n = chunks[i]
            prev = int(chunks[i - 1][0][chunks[i - 1][1] - 1]) if i else self.head
            nxt = int(chunks[i + 1][0][0]) if i < end else self.head
            # SAFETY: C reads a node only after checking it is live (for
            # runtime allocations) with plausible links; the head is valid.
            ret = lib.pfl_list_check_batch(head, prev, buf, n, nxt, self.offset, live, gen, entries)
            if ret:
                raise _walk_error(-ret)

    def entry(self, node: int) -> Any:
        """The typed value of the entry whose node is at ``node`` (container_of)."""
        return self.make(ffi.cast(self.c_ptr, node - self.offset))

    def _expect(self, snapshot: list[int], seen: int, nxt: int) -> None:
        if seen >= len(snapshot) or snapshot[seen] != nxt:
            raise Error(
                code.EAGAIN,
                "list was modified during iteration (an entry ahead was added, "
                "removed or moved)",
            )

    def iterate(self) -> Iterator[Any]:
        """``list_for_each_entry``: any modification of the list raises.

        The walk follows a snapshot of the node addresses taken when
        iteration starts: each step must meet the next snapshot node, the
        entry last yielded must keep its links, and at the end a fresh walk
        must equal the snapshot (catching changes behind the cursor).
        """
        snapshot = self.nodes()
        cur = self.head
        links = self.read(cur)
        seen = 0
        while True:
            nxt = links[0]
            if nxt == self.head:
                if seen != len(snapshot) or self.nodes() != snapshot:
                    raise Error(code.EAGAIN, "list was modified during iteration")
                return
            self._expect(snapshot, seen, nxt)
            seen += 1
            links = self.step(cur, nxt)
            cur = nxt
            yield self.entry(cur)
            self._live(cur)
            node = _node(cur)
            now = addr_of(node.next), addr_of(node.prev)
            if now != links:
                raise Error(
                    code.EAGAIN,
                    f"list was modified during iteration (entry {cur - self.offset:#x} "
                    "was unlinked or its neighbours changed)",
                )

    def iterate_safe(self) -> Iterator[Any]:
        """``list_for_each_entry_safe``: the entry just yielded may be deleted
        (and freed); any other modification ahead raises."""
        snapshot = self.nodes()
        cur = self.head
        nxt = self.read(cur)[0]
        seen = 0
        while nxt != self.head:
            self._expect(snapshot, seen, nxt)
            seen += 1
            links = self.step(cur, nxt)
            cur, after = nxt, links[0]
            yield self.entry(cur)
            # ``cur`` may be deleted (even freed) now: only ``after`` is read,
            # and it must still be linked where it was.
            if after != self.head:
                a_next, a_prev = self.read(after)
                if (
                    a_next == after
                    or self.read(a_prev)[0] != after
                    or self.read(a_next)[1] != after
                ):
                    raise Error(
                        code.EAGAIN,
                        f"entry {after - self.offset:#x} was unlinked during iteration "
                        "(only the current entry may be deleted)",
                    )
                cur = a_prev
            elif seen != len(snapshot):
                raise Error(code.EAGAIN, "list was modified during iteration")
            nxt = after

    def iterate_batched(self, batch: int) -> Iterator[Any]:
        """``list_for_each_entry`` a batch at a time: one FFI crossing per batch.

        The snapshot is walked in C (:meth:`chunks`). Before a batch is
        yielded, C checks each of its entries (live, unpoisoned, linked as
        in the snapshot: :meth:`check`) and Python makes all their values at
        once, before the loop body runs; at the end the whole list must
        still be the snapshot (:meth:`check` of all of it).
        (The entries of a batch are handed out by ``chain`` in C, without a
        generator step per entry.)
        """
        return itertools.chain.from_iterable(self.batches(batch))

    def batches(self, batch: int) -> Iterator[list[Any]]:
        """The values of :meth:`iterate_batched`, one checked batch (a list) at a time."""
        chunks, gen = self.chunks(batch)
        size = max((n for _, n in chunks), default=1)
        entries = ffi.new(_array_type(self.c_ptr), size)  # c_type *[size]
        c_entries = ffi.cast(_VOID_PP, entries)
        make = self.make
        for i, (_buf, n) in enumerate(chunks):
            self.check(chunks, gen, c_entries, i, i + 1)
            items = ffi.unpack(entries, n)
            # Every value is made now, from checked entries, before the loop
            # body (which may modify the list) runs.
            yield items if make is _ident else [make(p) for p in items]
        self.check(chunks, gen, ffi.NULL, 0, len(chunks))  # the whole list, unchanged


@functools.lru_cache(maxsize=512)
def _member_offset(c_type: str, member: str) -> int:
    """``offsetof(c_type, member)``, checking the member is a ``struct list_head``.

    Cached: C types do not change, and it runs at every :func:`clist_create`.
    """
    try:
        ct = ffi.typeof(c_type)
    except (ffi.error, TypeError, KeyError) as e:
        raise Error(code.EINVAL, f"unknown C type {c_type!r}: {e}") from None
    if ct.kind not in ("struct", "union"):
        raise Error(code.EINVAL, f"{c_type!r} is not a struct or union")
    path = member.split(".")
    t = ct
    for part in path:
        fields = dict(t.fields or []) if t.kind in ("struct", "union") else {}
        if part not in fields:
            raise Error(
                code.EINVAL,
                f"{t.cname} has no member {part!r} known to the bindings "
                "(declare it in a csrc/bindings cdef)",
            )
        t = fields[part].type
    if t is not _LIST_HEAD:
        raise Error(
            code.EINVAL, f"{c_type}.{member} is a {t.cname}, not a struct list_head"
        )
    return int(ffi.offsetof(ct, *path))


@functools.lru_cache(maxsize=512)
def _ptr_type(c_type: str) -> Any:
    """The cffi type ``c_type *`` (cached)."""
    return ffi.typeof(ffi.getctype(ffi.typeof(c_type), "*"))


@functools.lru_cache(maxsize=512)
def _array_type(ptr_type: Any) -> Any:
    """The cffi type ``c_type *[]`` of a ``c_type *`` type (cached)."""
    return ffi.typeof(ffi.getctype(ptr_type, "[]"))


_VOID_PP: Final = ffi.typeof("void **")


class CList(NoCopy, Generic[T]):
    """A typed, read-only view of a C list behind a sentinel ``list_head``.

    Iterating yields ``item(entry_ptr)`` for each entry, where
    ``entry_ptr`` is the ``c_type *`` containing the node (``container_of``).
    See the module documentation for what iteration checks. A CList keeps
    the node addresses of its last walk (8 bytes per entry): the next walk
    does not look up again, in the runtime's set of live allocations, the
    entries it meets at the same places, as long as nothing was freed since.

    Rust: ``kernel::interop::list::CList<T, OFFSET>``
    """

    __slots__ = ("_c_ptr", "_check_live", "_head", "_item", "_last", "_offset", "_owner")

    def __init__(
        self,
        head: Any,
        item: Callable[[Any], T],
        c_type: str,
        offset: int,
        owner: Any = None,
        check_live: bool | None = None,
    ) -> None:
        """Internal; use :func:`clist_create` or :meth:`from_raw`."""
        self._head = head
        self._owner = owner
        self._item = item
        self._offset = offset
        self._c_ptr = _ptr_type(c_type)
        self._check_live = check_live
        # The last checked walk's chunks and free generation (_Walk.chunks).
        self._last: tuple[list[tuple[Any, int]], int] | None = None

    @classmethod
    def from_raw(
        cls,
        head: Any,
        item: Callable[[Any], T],
        c_type: str,
        offset: int,
        *,
        check_live: bool | None = None,
    ) -> CList[T]:
        """A view of the list at ``head`` whose entries have their node at ``offset``.

        Safety: the entries must be ``c_type`` with a ``list_head`` at
        byte ``offset``; prefer :func:`clist_create`, which computes and
        checks the offset.

        Raises:
            Error: ``EINVAL`` if ``head`` is not an initialised
                ``struct list_head *``; ``EFAULT`` for poisoned links.

        Rust: ``CList::from_raw``
        """
        ptr, owner = _as_head(head)
        CListHead.from_raw(ptr)
        return cls(ptr, item, c_type, offset, owner, check_live)

    def _walk(self, make: Callable[[Any], Any]) -> _Walk:
        return _Walk(addr_of(self._head), self._offset, self._c_ptr, make, self._check_live, self)

    def head(self) -> CListHead:
        """The sentinel."""
        return CListHead(self._head, self._owner)

    def is_empty(self) -> bool:
        """Whether the list has no entries. Rust: ``CList::is_empty``."""
        return not self.head().is_linked()

    def iter(self) -> Iterator[T]:
        """Iterate over the entries, typed. Rust: ``CList::iter``.

        Raises (while iterating):
            Error: ``EAGAIN`` if the list is modified during iteration,
                ``EFAULT`` for poisoned links or a freed entry.
        """
        return self._walk(self._item).iterate()

    def __iter__(self) -> Iterator[T]:
        return self.iter()

    def iter_batched(self, batch: int = BATCH) -> Iterator[T]:
        """Iterate like :meth:`iter`, crossing the FFI once per ``batch`` entries.

        The same checks, made in C a batch at a time (module documentation):
        each value is made from an entry checked just before its batch is
        yielded, and a modification of the list raises at the start of the
        next batch or at the end, instead of at the next entry.

        Raises (while iterating):
            Error: ``EAGAIN`` if the list is modified during iteration,
                ``EFAULT`` for poisoned links or a freed entry; ``EINVAL``
                for a ``batch`` that is not a positive ``int``.
        """
        if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
            raise Error(code.EINVAL, f"batch must be a positive int, not {batch!r}")
        return self._walk(self._item).iterate_batched(batch)

    def __len__(self) -> int:
        """Number of entries (a checked walk; ``list_count_nodes``)."""
        return len(self._walk(self._item).nodes())

    def __repr__(self) -> str:
        return f"<CList {self._c_ptr.item.cname} at {addr_of(self._head):#x}>"


def clist_create(
    head: Any,
    item: Callable[[Any], T],
    c_type: str,
    member: str,
    *,
    check_live: bool | None = None,
) -> CList[T]:
    """A typed :class:`CList` over the C list at ``head``.

    Args:
        head: the sentinel: a ``struct list_head *``, a :class:`CListHead`
            or an ``Opaque`` of one.
        item: makes the Python value of an entry from its ``c_type *``
            (a wrapper class, or ``lambda p: p`` for the raw pointer).
        c_type: the entries' C struct, e.g. ``"struct gpu_buddy_block"``.
        member: the ``list_head`` member linking them, e.g. ``"link"``
            (``"a.b"`` for a nested member).
        check_live: whether to check each entry is a live runtime
            allocation before reading it; ``None`` decides on the first entry.

    Raises:
        Error: ``EINVAL`` if ``c_type`` is unknown, has no such member, the
            member is not a ``struct list_head``, or ``head`` is not an
            initialised ``struct list_head *``.

    Rust: ``kernel::interop::list::clist_create!``
    """
    offset = _member_offset(c_type, member)
    return CList.from_raw(head, item, c_type, offset, check_live=check_live)


# ---------------------------------------------------------------- kernel style


def _ident(p: Any) -> Any:
    return p


entry_ptr: Final[Callable[[Any], Any]] = _ident
"""The ``item`` that yields each entry's typed pointer (``c_type *``) itself.

Iteration passes entries through without calling anything per entry, the
fastest way to walk a list (e.g. ``clist_create(head, entry_ptr, ...)``).
"""


def container_of(ptr: Any, type: str, member: str) -> Any:
    """``container_of(ptr, type, member)``: the ``type *`` whose ``member`` is at ``ptr``.

    Safety: ``ptr`` must point at the ``member`` of a ``type``.

    Raises:
        Error: ``EINVAL`` for a NULL ``ptr``, an unknown type or member
            (only ``struct list_head`` members: see :func:`list_entry`).

    C header: include/linux/container_of.h
    """
    if ptr == ffi.NULL:
        raise Error(code.EINVAL, "container_of(NULL)")
    offset = _member_offset(type, member)
    return ffi.cast(ffi.getctype(ffi.typeof(type), "*"), addr_of(ptr) - offset)


def list_entry(ptr: Any, type: str, member: str) -> Any:
    """``list_entry(ptr, type, member)``: :func:`container_of` for a list node.

    C header: include/linux/list.h
    """
    return container_of(ptr, type, member)


def list_first_entry_or_null(head: Any, type: str, member: str) -> Any:
    """``list_first_entry_or_null(ptr, type, member)``: the first entry, or ``None``.

    Raises:
        Error: ``EINVAL``/``EFAULT`` as :func:`clist_create`.

    C header: include/linux/list.h
    """
    ptr, _owner = _as_head(head)
    nxt, _ = _links(addr_of(CListHead.from_raw(ptr).as_raw()))
    if nxt == addr_of(ptr):
        return None
    return list_entry(_node(nxt), type, member)


def list_for_each_entry(
    type: str, head: Any, member: str, *, check_live: bool | None = None
) -> Iterator[Any]:
    """``list_for_each_entry(pos, head, member)`` as a generator of ``type *``.

    The entry just yielded must stay in the list (use
    :func:`list_for_each_entry_safe` to delete it); any modification
    raises ``Error(EAGAIN)`` at the next step, a freed or poisoned entry
    ``Error(EFAULT)``.

    C header: include/linux/list.h
    """
    clist = clist_create(head, _ident, type, member, check_live=check_live)
    return clist._walk(_ident).iterate()


def list_for_each_entry_safe(
    type: str, head: Any, member: str, *, check_live: bool | None = None
) -> Iterator[Any]:
    """``list_for_each_entry_safe(pos, n, head, member)`` as a generator of ``type *``.

    The entry just yielded may be deleted (and freed) before the next
    step, as in C; the next entry is taken before yielding and checked to
    be still linked when iteration resumes (``Error(EAGAIN)`` otherwise).

    C header: include/linux/list.h
    """
    clist = clist_create(head, _ident, type, member, check_live=check_live)
    return clist._walk(_ident).iterate_safe()
