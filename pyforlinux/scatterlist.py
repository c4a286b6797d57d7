"""Scatter-gather tables: ``SGTable[Owned[P]]``, ``SGTable[Borrowed]``, ``SGEntry``.

Mirrors ``rust/kernel/scatterlist.rs`` over the kernel's own
lib/scatterlist.c. A scatter-gather table lists the physically contiguous
segments of a buffer, each with the DMA address a device uses for it.

* ``SGTable[Owned[P]]`` (:meth:`SGTable.new`) owns everything: the pages
  ``P`` (any :class:`~pyforlinux.page.AsPageIter`, usually a
  :class:`~pyforlinux.page.PageBuffer`), the ``struct sg_table`` built by
  the real ``sg_alloc_table_from_pages_segment()`` (contiguous pages merge
  into one entry, no entry exceeds the device's max segment size), and
  its DMA mapping for a device, held as a
  :class:`~pyforlinux.devres.Devres`: the mapping is undone when the
  table is closed *or* when the device unbinds, whichever comes first.
  Teardown order: unmap, ``sg_free_table()``, then the pages.
* ``SGTable[Borrowed]`` is a view of a table someone else owns:
  :meth:`SGTable.from_raw` over a C ``struct sg_table *``, or
  :meth:`SGTable.deref` of an owned table (Rust's ``Deref``), which checks
  its owner on every access.

Both iterate their DMA-mapped entries (``nents`` of them, walked with the
real ``sg_next()``, so chained tables work) as :class:`SGEntry` objects.

Type states are checked by mypy: ``close()``, ``deref()``, ``with``,
``device`` and ``direction`` exist only on ``SGTable[Owned[P]]``; using
them on an ``SGTable[Borrowed]`` is a type error ("Invalid self
argument"). At run time:

=====================================================  ========
misuse                                                 errno
=====================================================  ========
``SGTable.new`` with no pages (size 0)                 EINVAL
max segment size below ``PAGE_SIZE``                   EINVAL
bad direction (``DataDirection.None_``) or flags       EINVAL
pages already owned by another table                   EBUSY
stale ``Device[Bound]`` (unbound device)               ENODEV
entry/iteration after the device unbound (unmapped)    ENODEV
any use after ``close()``                              EINVAL
allocation failure (``fail_nth``)                      ENOMEM
DMA mask too small for dma-direct                      EIO
=====================================================  ========

Thread context: any; :meth:`SGTable.new` may sleep (``GFP_KERNEL``).
Entry accessors may run concurrently with ``close()`` and with the unbind:
each access holds the table's lock and an RCU read section on the
mapping, so it sees either a live mapping or raises.

C header: include/linux/scatterlist.h (lib/scatterlist.c).
Rust: rust/kernel/scatterlist.rs
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from pyforlinux import dma
from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, leak_finalizer
from pyforlinux.alloc import Flags
from pyforlinux.device import Bound, Device
from pyforlinux.devres import Devres
from pyforlinux.error import Error, code, to_result
from pyforlinux.page import PAGE_SHIFT, PAGE_SIZE, AsPageIter

__all__ = ["Borrowed", "Owned", "SGEntry", "SGTable", "SGTableIter"]

_U32 = (1 << 32) - 1


class _Sealed:
    """Marker base of the SGTable type states (Rust's ``private::Sealed``)."""

    __slots__ = ()


P = TypeVar("P", bound=AsPageIter)
S = TypeVar("S", bound=_Sealed, covariant=True)


class _DmaMappedSgt(NoCopy):
    """The DMA mapping of one ``struct sg_table`` for one device (Rust ``DmaMappedSgt``).

    ``close()`` unmaps, once. Kept in a :class:`Devres`, so the device's
    unbind calls it if the table has not been closed before. Keeps the
    ``struct sg_table`` memory alive for as long as it may unmap it.
    """

    def __init__(self, dev: Device[Bound], sgt: Any, direction: dma.DataDirection) -> None:
        dma.map_sgtable(dev, sgt, direction)
        self._dev = dev.as_normal()
        self._sgt = sgt
        self._dir = direction
        self._lock = threading.Lock()
        self._mapped = True

    def close(self) -> None:
        with self._lock:
            if not self._mapped:
                return
            self._mapped = False
        # SAFETY: the table was mapped by __init__ with this device and
        # direction, is still allocated (freed only after this), and is
        # unmapped exactly once (the flag above).
        dma.unmap_sgtable(self._dev, self._sgt, self._dir)


class Owned(_Sealed, Generic[P]):
    """The type state of an ``SGTable`` that owns its pages, table and mapping.

    Users never build one; it is the ``SGTable[Owned[P]]`` of
    :meth:`SGTable.new`. Teardown order: the mapping (a ``Devres``), the
    ``struct sg_table``, the pages ``P``.

    Rust: ``kernel::scatterlist::Owned<P>``

    Thread context: any; see :class:`SGTable`.
    C: ``struct sg_table`` + ``dma_map_sgtable()`` + the pages.
    """

    __slots__ = ("_closed", "_dev", "_dir", "_dma", "_lock", "_pages", "_sgt")

    def __init__(
        self,
        dev: Device[Bound],
        sgt: Any,
        mapping: Devres[_DmaMappedSgt],
        pages: P,
        direction: dma.DataDirection,
    ) -> None:
        self._dev = dev
        self._sgt = sgt
        self._dma = mapping
        self._pages = pages
        self._dir = direction
        self._lock = threading.Lock()
        self._closed = False


class Borrowed(_Sealed):
    """The type state of an ``SGTable`` whose lifetime is managed elsewhere.

    Rust: ``kernel::scatterlist::Borrowed``

    Thread context: any; the owner guarantees validity (``from_raw``)
    or the owner is checked on each access (``deref``).
    C: a ``struct sg_table`` owned elsewhere (include/linux/scatterlist.h).
    """

    __slots__ = ("_owner", "_sgt")

    def __init__(self, sgt: Any, owner: Owned[Any] | None) -> None:
        self._sgt = sgt
        self._owner = owner


class _Access:
    """Context manager: the table is alive and mapped for the duration (or raise)."""

    __slots__ = ("_guard", "_owner")

    def __init__(self, owner: Owned[Any] | None) -> None:
        self._owner = owner
        self._guard: Any = None

    def __enter__(self) -> None:
        o = self._owner
        if o is None:
            return
        o._lock.acquire()
        try:
            if o._closed:
                raise Error(code.EINVAL, "SGTable used after close()")
            guard = o._dma.try_access()
            if guard is None:
                raise Error(
                    code.ENODEV, "SGTable's DMA mapping was revoked (the device unbound)"
                )
            self._guard = guard
        except BaseException:
            o._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        o = self._owner
        if o is None:
            return
        guard, self._guard = self._guard, None
        try:
            guard.release()
        finally:
            o._lock.release()


class SGEntry:
    """One DMA-mapped segment of an :class:`SGTable` (a ``struct scatterlist``).

    Obtained by iterating a table, never built by users. The accessors
    check that the table is still alive and mapped.

    Rust: ``kernel::scatterlist::SGEntry``

    Thread context: any; each accessor holds the table's lock and an RCU
    read section of the mapping while it reads.
    C: ``struct scatterlist`` (include/linux/scatterlist.h).
    """

    __slots__ = ("_owner", "_sg")

    def __init__(self, sg: Any, owner: Owned[Any] | None) -> None:
        self._sg = sg
        self._owner = owner

    def dma_address(self) -> dma.DmaAddress:
        """The DMA address of the segment (``sg_dma_address()``), unsigned 64 bits.

        Raises:
            Error: ``ENODEV`` if the mapping was revoked (device unbound);
                ``EINVAL`` if the owning table was closed.
        """
        with _Access(self._owner):
            # SAFETY: _Access keeps the table allocated and mapped while we read (or,
            # without an owner, from_raw's caller guarantees it).
            return int(lib.sg_dma_address(self._sg))

    def dma_len(self) -> int:
        """The length of the segment in bytes (``sg_dma_len()``; ``sg->length`` here).

        Raises:
            Error: as :meth:`dma_address`.
        """
        with _Access(self._owner):
            # SAFETY: as dma_address().
            return int(lib.sg_dma_len(self._sg))

    def page_pfn(self) -> int:
        """The page frame number of the segment's first page (``page_to_pfn(sg_page())``).

        Not in Rust (``SGEntry`` is opaque there); for tests and debugging.

        Raises:
            Error: as :meth:`dma_address`.
        """
        with _Access(self._owner):
            # SAFETY: as dma_address().
            return int(ffi.cast("uintptr_t", lib.sg_page(self._sg))) >> PAGE_SHIFT

    def offset(self) -> int:
        """Byte offset of the segment in its first page (``sg->offset``). Not in Rust."""
        with _Access(self._owner):
            return int(self._sg.offset)

    def as_raw(self) -> Any:
        """The ``struct scatterlist *``.

        Safety: valid only while the table is; prefer the accessors.
        """
        return self._sg

    def __repr__(self) -> str:
        return f"<SGEntry at {int(ffi.cast('uintptr_t', self._sg)):#x}>"


class SGTableIter(Iterator[SGEntry]):
    """Iterator over the DMA-mapped entries of an :class:`SGTable`.

    Yields ``nents`` entries at most, following the real ``sg_next()``.
    As in Rust, holding an iterator does not keep the entries mapped: they
    may be unmapped by the device's unbind, after which :meth:`__next__`
    and the entries' accessors raise ``ENODEV``.

    Rust: ``kernel::scatterlist::SGTableIter``

    Thread context: the thread that iterates.
    C: ``for_each_sgtable_dma_sg()`` with ``sg_next()`` (lib/scatterlist.c).
    """

    __slots__ = ("_nents", "_owner", "_pos")

    def __init__(self, sgt: Any, owner: Owned[Any] | None) -> None:
        self._owner = owner
        with _Access(owner):
            nents = int(sgt.nents)
            self._pos: Any = sgt.sgl if nents > 0 else None
        self._nents = nents

    def __iter__(self) -> SGTableIter:
        return self

    def __next__(self) -> SGEntry:
        entry = self._pos
        if entry is None:
            raise StopIteration
        with _Access(self._owner):
            self._nents = max(self._nents - 1, 0)
            # SAFETY: entry is a valid struct scatterlist of a live table.
            nxt = lib.sg_next(entry)
        self._pos = nxt if nxt != ffi.NULL and self._nents > 0 else None
        return SGEntry(entry, self._owner)


class SGTable(NoCopy, Generic[S]):
    """A scatter-gather table in type state ``S``: :class:`Owned` or :class:`Borrowed`.

    See the module documentation. Build one with :meth:`new` (owned) or
    :meth:`from_raw` (borrowed).

    Rust: ``kernel::scatterlist::SGTable<T>``

    Thread context: any; see the module documentation.
    C: ``struct sg_table`` (include/linux/scatterlist.h, lib/scatterlist.c).
    """

    __slots__ = ("__weakref__", "_fin", "_inner")

    def __init__(self, inner: S) -> None:
        """Internal; use :meth:`new` or :meth:`from_raw`."""
        self._inner = inner
        self._fin: Any = None

    # -- construction ------------------------------------------------------

    @staticmethod
    def from_raw(ptr: Any) -> SGTable[Borrowed]:
        """A borrowed view of a ``struct sg_table *`` managed elsewhere (e.g. by C).

        Safety: ``ptr`` must stay valid, and not be modified, for as long
        as the view and its entries are used (Rust's lifetime ``'a``); the
        view cannot check this.

        Raises:
            Error: ``EINVAL`` for ``NULL`` or a pointer of another type.

        Rust: ``SGTable::from_raw``
        """
        if not isinstance(ptr, ffi.CData) or ffi.typeof(ptr) is not ffi.typeof("struct sg_table *"):
            raise Error(code.EINVAL, f"SGTable.from_raw needs a struct sg_table *, not {ptr!r}")
        if ptr == ffi.NULL:
            raise Error(code.EINVAL, "SGTable.from_raw(NULL)")
        return SGTable(Borrowed(ptr, None))

    @staticmethod
    def new(dev: Device[Bound], pages: P, direction: dma.DataDirection,
            flags: Flags) -> SGTable[Owned[P]]:
        """Build a table over ``pages`` and DMA-map it for ``dev``.

        Takes ownership of ``pages`` (an :class:`~pyforlinux.page.AsPageIter`
        with ``close()``): from now on ``pages.close()`` raises ``EBUSY``
        and closing the table frees them. On failure nothing is kept and
        ``pages`` stay the caller's.

        The table is ``sg_alloc_table_from_pages_segment(sgt, pages,
        n_pages, 0, size, max_segment, flags)`` with ``size =
        pages.page_iter().size()`` bytes and ``max_segment`` the smaller of
        the device's ``dma.max_segment_size`` and
        :func:`~pyforlinux.dma.dma_max_mapping_size` (clamped to
        ``U32_MAX``); it is mapped with the device's mapper
        (:func:`~pyforlinux.dma.map_sgtable`), the mapping held as a
        :class:`~pyforlinux.devres.Devres` of ``dev``.

        Args:
            dev: the bound device that will do the DMA.
            pages: the backing memory; moved into the table.
            direction: the DMA direction (not ``None_``).
            flags: allocation flags for the scatterlist (``GFP_KERNEL``).

        Raises:
            Error: ``EINVAL`` for no pages (size 0), a max segment below
                ``PAGE_SIZE``, a bad direction or flags; ``EBUSY`` if
                ``pages`` already belong to a table; ``ENODEV`` if ``dev``
                is stale; ``ENOMEM``; ``EIO``/``ENOSPC`` from the mapper.

        Rust: ``SGTable::<Owned<P>>::new``
        """
        if not isinstance(dev, Device):
            raise Error(code.EINVAL, f"SGTable.new needs a Device[Bound], not {dev!r}")
        dev._check()
        if not isinstance(direction, dma.DataDirection) or direction is dma.DataDirection.None_:
            raise Error(code.EINVAL, f"bad DMA direction {direction!r}")
        if not isinstance(flags, Flags):
            raise Error(code.EINVAL, f"flags must be pyforlinux.alloc.Flags, not {flags!r}")
        if not isinstance(pages, AsPageIter):
            raise Error(code.EINVAL, f"{type(pages).__name__} does not implement AsPageIter")

        it = pages.page_iter()
        size = it.size()
        ptrs = [p.as_ptr() for p in it]
        # sg_alloc_table_from_pages_segment() dereferences pages[0]: no pages, no table.
        if not ptrs or size == 0:
            raise Error(code.EINVAL, "SGTable.new: no pages")
        if len(ptrs) > _U32:
            raise Error(code.EINVAL, f"SGTable.new: {len(ptrs)} pages do not fit an unsigned int")
        max_segment = min(
            int(dev.dma.max_segment_size), dma.dma_max_mapping_size(dev) or _U32, _U32
        )
        # The C WARNs and fails below PAGE_SIZE; refuse it without the WARN.
        if max_segment < PAGE_SIZE:
            raise Error(
                code.EINVAL, f"max segment size {max_segment} is below PAGE_SIZE ({PAGE_SIZE})"
            )

        pin = getattr(pages, "_pin", None)
        if callable(pin):
            pin("an SGTable")
        try:
            sgt = ffi.new("struct sg_table *")
            arr = ffi.new("struct page *[]", ptrs)
            to_result(
                # SAFETY: sgt is zeroed memory we own; arr holds len(ptrs) >= 1 valid
                # page pointers kept alive (pinned) by `pages`; size fits those pages
                # (PageIter checks it); max_segment >= PAGE_SIZE.
                lib.sg_alloc_table_from_pages_segment(
                    sgt, arr, len(ptrs), 0, size, max_segment, flags.as_raw()
                )
            )
            try:
                mapped = _DmaMappedSgt(dev, sgt, direction)
                try:
                    devres: Devres[_DmaMappedSgt] = Devres(dev, mapped)
                except BaseException:
                    mapped.close()
                    raise
            except BaseException:
                # SAFETY: allocated above, not mapped (the mapping failed or was undone).
                lib.sg_free_table(sgt)
                raise
        except BaseException:
            unpin = getattr(pages, "_unpin", None)
            if callable(unpin):
                unpin()
            raise
        table: SGTable[Owned[P]] = SGTable(Owned(dev, sgt, devres, pages, direction))
        table._fin = leak_finalizer(table, f"SGTable of {len(ptrs)} page(s) for {dev.name()}")
        return table

    # -- common to both states ---------------------------------------------

    def _sgt_owner(self) -> tuple[Any, Owned[Any] | None]:
        inner: Any = self._inner
        if isinstance(inner, Owned):
            return inner._sgt, inner
        return inner._sgt, inner._owner

    def iter(self) -> SGTableIter:
        """An iterator over the DMA-mapped entries (``for_each_sgtable_dma_sg``).

        Raises:
            Error: ``ENODEV`` if the mapping was revoked (device unbound);
                ``EINVAL`` after ``close()``.

        Rust: ``SGTable::iter``
        """
        sgt, owner = self._sgt_owner()
        return SGTableIter(sgt, owner)

    def __iter__(self) -> Iterator[SGEntry]:
        return self.iter()

    def as_raw(self) -> Any:
        """The ``struct sg_table *``.

        Safety: for passing to C while the table is alive; do not free or
        unmap it. Raises ``EINVAL`` after ``close()`` of an owned table.
        """
        sgt, owner = self._sgt_owner()
        if owner is not None and owner._closed:
            raise Error(code.EINVAL, "SGTable used after close()")
        return sgt

    # -- Owned only ----------------------------------------------------------

    def deref(self: SGTable[Owned[Any]]) -> SGTable[Borrowed]:
        """A borrowed view of this owned table (Rust's ``Deref`` to ``SGTable``).

        The view checks the owner on each access (``EINVAL`` after close,
        ``ENODEV`` after the device unbound).
        """
        inner = self._inner
        if inner._closed:
            raise Error(code.EINVAL, "SGTable used after close()")
        return SGTable(Borrowed(inner._sgt, inner))

    @property
    def device(self: SGTable[Owned[Any]]) -> Device[Bound]:
        """The device the table is mapped for (the view may have gone stale)."""
        return self._inner._dev

    @property
    def direction(self: SGTable[Owned[Any]]) -> dma.DataDirection:
        """The DMA direction of the mapping."""
        return self._inner._dir

    def is_mapped(self: SGTable[Owned[Any]]) -> bool:
        """Whether the DMA mapping is still in place (not closed, device not unbound)."""
        inner = self._inner
        return not inner._closed and inner._dma.try_access_with(lambda _m: True) is True

    def close(self: SGTable[Owned[Any]]) -> None:
        """Tear down: unmap (if the unbind has not), ``sg_free_table()``, free the pages.

        Idempotent. Thread context: process context (the unmap waits for an
        RCU grace period); not from inside an entry access.
        """
        inner = self._inner
        with inner._lock:
            if inner._closed:
                return
            inner._closed = True
        if self._fin is not None:
            self._fin.detach()
        inner._dma.close()  # revoke: unmap, unless the unbind already did
        # SAFETY: unmapped just above (or by the unbind); freed once (_closed).
        lib.sg_free_table(inner._sgt)
        pages: Any = inner._pages
        release = getattr(pages, "_close_pinned", None)
        if callable(release):
            release()
        else:
            pages.close()

    def __enter__(self: SGTable[Owned[P]]) -> SGTable[Owned[P]]:
        if self._inner._closed:
            raise Error(code.EINVAL, "SGTable used after close()")
        return self

    def __exit__(self: SGTable[Owned[Any]], *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "Owned" if isinstance(self._inner, Owned) else "Borrowed"
        return f"<SGTable[{state}]>"
