"""Pages: owned page allocations, borrowed pages and page iterators.

Mirrors ``rust/kernel/page.rs`` (``Page``, ``BorrowedPage``, ``AsPageIter``,
``page_align``) and the page iterator of a vmalloc buffer
(``rust/kernel/alloc/allocator/iter.rs``: ``VmallocPageIter``).

**The page model** (csrc/include/linux/mm_types.h): a ``struct page *`` *is*
the page-aligned address of the memory it describes; the page frame
number is ``addr >> PAGE_SHIFT``, ``page_address(p) == p`` and the
"physical" address is the address itself. That is what lib/scatterlist.c
sees through ``page_to_pfn``/``page_address``/``nth_page``, and what the
dma-direct mapping of :mod:`pyforlinux.dma` turns into DMA addresses.
Memory comes from the runtime's page allocator (``pfl_alloc_pages``,
csrc/runtime/slab.c), so it is counted as live kernel objects (cache
``"pages"``) and takes part in fault injection.

Owners here:

* :class:`Page` -- one page (``alloc_page``);
* :class:`Pages` -- ``2**order`` physically contiguous pages (``alloc_pages``);
* :class:`PageBuffer` -- a ``VVec<u8>``-like byte buffer whose pages are
  allocated one by one, so they are physically scattered, as vmalloc's
  are. It is what ``SGTable.new`` is usually given.

All three implement :class:`AsPageIter` (``page_iter()``) and can be
*pinned* by a consumer that took ownership (an ``SGTable`` that DMA-maps
them): while pinned, :meth:`close` raises ``EBUSY`` instead of freeing
memory a device may still access. Any use after release raises
``Error(EINVAL)``; a :class:`BorrowedPage` checks that its owner is alive
before every access.

Thread context: any; page allocation with ``GFP_KERNEL`` may sleep.

C header: include/linux/mm.h, include/linux/gfp.h (pyforlinux's page
model: csrc/include/linux/mm_types.h).
Rust: rust/kernel/page.rs, rust/kernel/alloc/allocator/iter.rs
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int, leak_finalizer
from pyforlinux.alloc import AllocError, Flags
from pyforlinux.error import Error, code

__all__ = [
    "PAGE_MASK",
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "AsPageIter",
    "BorrowedPage",
    "Page",
    "PageBuffer",
    "PageIter",
    "Pages",
    "page_align",
]

PAGE_SHIFT: Final[int] = int(lib.PAGE_SHIFT)
"""log2 of the page size (``PAGE_SHIFT``, 12)."""
PAGE_SIZE: Final[int] = int(lib.PAGE_SIZE)
"""Bytes in a page (``PAGE_SIZE``, 4096)."""
PAGE_MASK: Final[int] = ~(PAGE_SIZE - 1) & ((1 << 64) - 1)
"""Mask giving the page of an address (``PAGE_MASK``, as an unsigned 64-bit value)."""

_MAX_ORDER: Final = 20  # the runtime refuses larger orders
_U64: Final = (1 << 64) - 1

_P = TypeVar("_P", bound="_PageOwner")


def page_align(addr: int) -> int | None:
    """Round ``addr`` (bytes, an unsigned ``usize``) up to a multiple of :data:`PAGE_SIZE`.

    Returns ``None`` on overflow of 64 bits, or for a negative ``addr``.

    Rust: ``kernel::page::page_align``. C: ``PAGE_ALIGN()``

    Thread context: any (pure arithmetic).
    """
    if addr < 0 or addr + PAGE_SIZE - 1 > _U64:
        return None
    return (addr + PAGE_SIZE - 1) & PAGE_MASK


def _args(offset: object, length: object, what: str) -> tuple[int, int]:
    """``offset``/``length`` as plain ``int``s (user code runs here, before any check)."""
    return arg_int(offset, f"{what}: offset"), arg_int(length, f"{what}: length")


def _check_range(offset: int, length: int, limit: int, what: str) -> None:
    if offset < 0 or length < 0 or offset > limit or length > limit - offset:
        raise Error(
            code.EINVAL, f"{what}: bytes {offset}..{offset}+{length} are outside 0..{limit}"
        )


def _read(addr: int, length: int) -> bytes:
    # SAFETY: callers checked that [addr, addr + length) lies in live page memory.
    return bytes(ffi.buffer(ffi.cast("char *", addr), length))


def _write(addr: int, data: bytes) -> None:
    # SAFETY: callers checked that [addr, addr + len(data)) lies in live page memory.
    ffi.memmove(ffi.cast("void *", addr), data, len(data))


def _zero(addr: int, length: int) -> None:
    # SAFETY: as _write.
    ffi.memmove(ffi.cast("void *", addr), bytes(length), length)


def _alloc_pages(flags: Flags, order: int, what: str) -> int:
    if not isinstance(flags, Flags):
        raise Error(code.EINVAL, f"{what}: flags must be pyforlinux.alloc.Flags, not {flags!r}")
    order = arg_int(order, f"{what}: order", 0, _MAX_ORDER)
    # SAFETY: the runtime's page allocator; order checked to be 0..20.
    p = lib.pfl_alloc_pages(flags.as_raw(), order, 0)
    if p == ffi.NULL:
        raise AllocError(f"{what}: alloc_pages(order {order}) failed")
    return int(ffi.cast("uintptr_t", p))


class _PageOwner(NoCopy):
    """Shared ownership logic: release once, pinning by a consumer, leak report."""

    _lock: threading.Lock
    _released: bool
    _pinned_by: str | None
    _fin: weakref.finalize[..., Any] | None

    def _init_owner(self, what: str) -> None:
        self._lock = threading.Lock()
        self._released = False
        self._pinned_by = None
        self._fin = leak_finalizer(self, what)

    def _check(self) -> None:
        if self._released:
            raise Error(code.EINVAL, f"{type(self).__name__} used after it was released")

    @property
    def closed(self) -> bool:
        """Whether the memory was released."""
        return self._released

    def _pin(self, by: str) -> None:
        """Mark the pages as owned by ``by`` (an SGTable): :meth:`close` refuses.

        Raises:
            Error: ``EINVAL`` if released; ``EBUSY`` if already pinned.
        """
        with self._lock:
            self._check()
            if self._pinned_by is not None:
                raise Error(code.EBUSY, f"{type(self).__name__} already owned by {self._pinned_by}")
            self._pinned_by = by

    def _unpin(self) -> None:
        with self._lock:
            self._pinned_by = None

    def _free(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        """Free the pages (Rust: ``drop``). Idempotent.

        Raises:
            Error: ``EBUSY`` while the pages are owned by a consumer such
                as an ``SGTable`` (close that instead; it frees them after
                the DMA unmap).

        Thread context: any; never sleeps.
        """
        with self._lock:
            if self._released:
                return
            if self._pinned_by is not None:
                raise Error(
                    code.EBUSY,
                    f"{type(self).__name__} is owned by {self._pinned_by}; close that instead",
                )
            self._released = True
        if self._fin is not None:
            self._fin.detach()
        self._free()

    def _close_pinned(self) -> None:
        """Release on behalf of the pinning consumer (teardown of the consumer)."""
        self._unpin()
        self.close()

    def __enter__(self: _P) -> _P:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _PageAccess(NoCopy):
    """Bounds-checked access to one page at ``_addr()`` (read/write/fill_zero)."""

    def _addr(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def as_ptr(self) -> Any:
        """The ``struct page *`` (which is the page's address in this model).

        Raises:
            Error: ``EINVAL`` if the owning memory was released.
        """
        return ffi.cast("struct page *", self._addr())

    def pfn(self) -> int:
        """The page frame number (``page_to_pfn()``: address >> PAGE_SHIFT)."""
        return self._addr() >> PAGE_SHIFT

    def phys_addr(self) -> int:
        """The physical address (``page_to_phys()``; the address itself here), bytes."""
        return self._addr()

    def nid(self) -> int:
        """The NUMA node of the page (always 0: one node). Rust: ``Page::nid``."""
        self._addr()
        return 0

    def read(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes from ``offset`` (bytes into the page).

        Raises:
            Error: ``EINVAL`` if ``offset..offset+length`` is not inside the
                page or the memory was released.

        Rust: ``Page::read_raw`` (safe here: the destination is a new bytes).
        """
        offset, length = _args(offset, length, "Page.read")
        addr = self._addr()
        _check_range(offset, length, PAGE_SIZE, "Page.read")
        return _read(addr + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        """Copy ``data`` into the page at ``offset`` (bytes).

        Raises:
            Error: ``EINVAL`` if it does not fit inside the page or the memory
                was released.

        Rust: ``Page::write_raw``
        """
        offset = arg_int(offset, "Page.write: offset")
        data = arg_bytes(data, "Page.write: data")
        addr = self._addr()
        _check_range(offset, len(data), PAGE_SIZE, "Page.write")
        _write(addr + offset, data)

    def fill_zero(self, offset: int, length: int) -> None:
        """Zero ``length`` bytes at ``offset``.

        Raises:
            Error: ``EINVAL`` as :meth:`read`.

        Rust: ``Page::fill_zero_raw``
        """
        offset, length = _args(offset, length, "Page.fill_zero")
        addr = self._addr()
        _check_range(offset, length, PAGE_SIZE, "Page.fill_zero")
        _zero(addr + offset, length)


class Page(_PageOwner, _PageAccess):
    """One owned page of memory (``struct page *`` from ``alloc_page``).

    Freed by :meth:`close` (``__free_pages(page, 0)``), exactly once.

    Rust: ``kernel::page::Page``

    Thread context: any; allocation may sleep with ``GFP_KERNEL``.
    C: ``alloc_pages(gfp, 0)`` / ``__free_pages()`` (include/linux/gfp.h).
    """

    def __init__(self) -> None:
        raise TypeError("use Page.alloc_page(flags)")

    @classmethod
    def alloc_page(cls, flags: Flags) -> Page:
        """Allocate a page (zeroed with ``__GFP_ZERO``).

        Raises:
            AllocError: ``ENOMEM`` (also when fault injection fails it).
            Error: ``EINVAL`` for flags that are not :class:`Flags`.

        Rust: ``Page::alloc_page``. C: ``alloc_pages(gfp, 0)``
        """
        addr = _alloc_pages(flags, 0, "Page.alloc_page")
        self = object.__new__(cls)
        self._page = addr
        self._init_owner(f"Page at {addr:#x}")
        return self

    _page: int

    def _addr(self) -> int:
        self._check()
        return self._page

    def _free(self) -> None:
        # SAFETY: allocated by alloc_page, freed once (close() sets _released).
        lib.pfl_free_pages(ffi.cast("void *", self._page), 0)

    def page_iter(self) -> PageIter:
        """An iterator over this one page (:class:`AsPageIter`); size PAGE_SIZE."""
        self._check()
        return PageIter(self, [self._page], PAGE_SIZE)

    def __repr__(self) -> str:
        state = " released" if self._released else ""
        return f"<Page pfn={self._page >> PAGE_SHIFT:#x}{state}>"


class BorrowedPage(_PageAccess):
    """A page owned by something else (a :class:`Pages`, a :class:`PageBuffer`).

    Valid while its owner is: every access checks that, and raises
    ``Error(EINVAL)`` after the owner was released (Rust's lifetime ``'a``).

    Rust: ``kernel::page::BorrowedPage<'a>``

    Thread context: any; concurrent writers to one page must
    synchronise themselves (as in Rust, a data race is the caller's).
    C: ``struct page *`` (``include/linux/mm_types.h`` page model).
    """

    __slots__ = ("_owner", "_page")

    def __init__(self, owner: _PageOwner, addr: int) -> None:
        self._owner = owner
        self._page = addr

    def _addr(self) -> int:
        self._owner._check()
        return self._page

    def __repr__(self) -> str:
        return f"<BorrowedPage pfn={self._page >> PAGE_SHIFT:#x} of {type(self._owner).__name__}>"


class PageIter(NoCopy, Iterator[BorrowedPage]):
    """Iterator of :class:`BorrowedPage` items over the pages of one owner.

    Pages come in the order of the owner's (virtual) buffer. :meth:`size`
    is the buffer size in bytes and may be less than ``page_count() *
    PAGE_SIZE`` (the last page is partly used).

    Args:
        owner: the owner of the pages; its ``_check()`` runs before each
            page is produced and must raise once the memory was released
            (every owner in this module has it; other ``AsPageIter``
            implementations provide one).
        pages: the page addresses (``struct page *`` values), in order.
        size: the buffer size in bytes, in ``((n-1)*PAGE_SIZE, n*PAGE_SIZE]``
            for ``n`` pages (0 for none).

    Raises:
        Error: ``EINVAL`` if ``size`` does not match the pages or an address
            is not page aligned.

    Rust: ``kernel::alloc::allocator::VmallocPageIter``

    Thread context: the thread that iterates (an iterator is not shared).
    C: ``vmalloc_to_page()`` per page (mm/vmalloc.c).
    """

    def __init__(self, owner: Any, pages: list[int], size: int) -> None:
        if size > len(pages) * PAGE_SIZE or (pages and size <= (len(pages) - 1) * PAGE_SIZE):
            raise Error(code.EINVAL, f"size {size} does not match {len(pages)} page(s)")
        if any(a <= 0 or a % PAGE_SIZE for a in pages):
            raise Error(code.EINVAL, "page addresses must be non-NULL and page aligned")
        self._owner = owner
        self._pages = pages
        self._size = size
        self._index = 0

    def size(self) -> int:
        """The size of the backing buffer, in bytes."""
        return self._size

    def page_count(self) -> int:
        """The number of pages of the backing buffer (``ceil(size / PAGE_SIZE)``)."""
        return len(self._pages)

    def __iter__(self) -> PageIter:
        return self

    def __next__(self) -> BorrowedPage:
        self._owner._check()
        if self._index >= len(self._pages):
            raise StopIteration
        addr = self._pages[self._index]
        self._index += 1
        return BorrowedPage(self._owner, addr)

    def __length_hint__(self) -> int:
        return len(self._pages) - self._index


@runtime_checkable
class AsPageIter(Protocol):
    """Something that owns pages and can iterate them (:class:`PageIter`).

    ``SGTable.new`` takes any ``AsPageIter`` that also has ``close()``; it
    owns it from then on and closes it after unmapping and freeing the
    table.

    Rust: ``kernel::page::AsPageIter``

    Thread context: as the implementation's (the ones here: any thread).
    C: ``vmalloc_to_page()`` page walks (mm/vmalloc.c).
    """

    def page_iter(self) -> PageIter:
        """A :class:`PageIter` over every page owned by ``self``."""
        ...

    def close(self) -> None:
        """Release the pages."""
        ...


class Pages(_PageOwner):
    """``2**order`` physically contiguous pages (``alloc_pages(gfp, order)``).

    ``page(i)`` borrows the i-th page; :meth:`page_iter` iterates them all
    (size ``PAGE_SIZE << order``). Byte access over the whole block with
    :meth:`read`/:meth:`write`.

    C: ``alloc_pages()``/``__free_pages()``.
    Rust: no direct equivalent (``Page`` is order 0); a multi-page ``Page``.

    Thread context: any; allocation may sleep with ``GFP_KERNEL``.
    """

    _base: int
    _order: int

    def __init__(self) -> None:
        raise TypeError("use Pages.alloc(flags, order)")

    @classmethod
    def alloc(cls, flags: Flags, order: int) -> Pages:
        """Allocate ``2**order`` contiguous pages.

        Raises:
            AllocError: ``ENOMEM``.
            Error: ``EINVAL`` for an order outside ``0..20`` or bad flags.
        """
        addr = _alloc_pages(flags, order, "Pages.alloc")
        self = object.__new__(cls)
        self._base = addr
        self._order = order
        self._init_owner(f"Pages order {order} at {addr:#x}")
        return self

    @property
    def order(self) -> int:
        """log2 of the number of pages."""
        return self._order

    def __len__(self) -> int:
        """Number of pages (``1 << order``)."""
        return 1 << self._order

    @property
    def size(self) -> int:
        """Size in bytes (``PAGE_SIZE << order``)."""
        return PAGE_SIZE << self._order

    def page(self, index: int) -> BorrowedPage:
        """The ``index``-th page, borrowed.

        Raises:
            Error: ``EINVAL`` if out of range or released.
        """
        index = arg_int(index, "page index")
        self._check()
        if not 0 <= index < len(self):
            raise Error(code.EINVAL, f"page index {index} out of range 0..{len(self)}")
        return BorrowedPage(self, self._base + index * PAGE_SIZE)

    def pfn(self) -> int:
        """The page frame number of the first page."""
        self._check()
        return self._base >> PAGE_SHIFT

    def read(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes at ``offset`` (bytes) of the block; ``EINVAL`` if outside."""
        offset, length = _args(offset, length, "Pages.read")
        self._check()
        _check_range(offset, length, self.size, "Pages.read")
        return _read(self._base + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        """Copy ``data`` into the block at ``offset``. Raises ``EINVAL`` if outside."""
        offset = arg_int(offset, "Pages.write: offset")
        data = arg_bytes(data, "Pages.write: data")
        self._check()
        _check_range(offset, len(data), self.size, "Pages.write")
        _write(self._base + offset, data)

    def page_iter(self) -> PageIter:
        """All pages in address order (:class:`AsPageIter`)."""
        self._check()
        pages = [self._base + i * PAGE_SIZE for i in range(len(self))]
        return PageIter(self, pages, self.size)

    def _free(self) -> None:
        # SAFETY: allocated with this order, freed once (close()).
        lib.pfl_free_pages(ffi.cast("void *", self._base), self._order)

    def __repr__(self) -> str:
        state = " released" if self._released else ""
        return f"<Pages order={self._order} pfn={self._base >> PAGE_SHIFT:#x}{state}>"


class PageBuffer(_PageOwner):
    """A byte buffer in separately allocated pages: Rust's ``VVec<u8>`` for DMA.

    Like a vmalloc buffer, it is one buffer of :meth:`capacity` bytes to
    its user, while its pages are allocated one at a time and so are not
    physically contiguous (in this runtime no two are adjacent). It has a
    length (bytes written with :meth:`extend_from_slice`) and a capacity;
    the page iterator covers the whole capacity (``VmallocPageIter::size``
    is the allocation size), so an ``SGTable`` maps ``capacity`` bytes.

    Rust: ``kernel::alloc::VVec<u8>`` with its ``AsPageIter`` impl
    (``VmallocPageIter``). C: ``vmalloc()`` / ``vmalloc_to_page()``.

    Thread context: any; one buffer is not synchronised (``!Sync``
    mutation, like ``VVec``); allocation may sleep with ``GFP_KERNEL``.
    """

    _pages: list[int]
    _cap: int
    _len: int

    def __init__(self) -> None:
        raise TypeError("use PageBuffer.with_capacity(capacity, flags)")

    @classmethod
    def with_capacity(cls, capacity: int, flags: Flags) -> PageBuffer:
        """A buffer of ``capacity`` bytes (length 0), ``ceil(capacity / PAGE_SIZE)`` pages.

        A zero capacity allocates nothing (and has no pages).

        Raises:
            AllocError: ``ENOMEM`` (pages allocated so far are freed).
            Error: ``EINVAL`` for a negative capacity or bad flags.

        Rust: ``VVec::<u8>::with_capacity(capacity, flags)``
        """
        capacity = arg_int(capacity, "PageBuffer capacity")
        self = object.__new__(cls)
        self._pages = []
        self._cap = 0
        self._len = 0
        self._init_owner("PageBuffer")
        try:
            self._grow(capacity, flags)
        except BaseException:
            self.close()
            raise
        return self

    def _grow(self, capacity: int, flags: Flags) -> None:
        need = -(-capacity // PAGE_SIZE)
        while len(self._pages) < need:
            self._pages.append(_alloc_pages(flags, 0, "PageBuffer"))
        self._cap = max(self._cap, capacity)

    def capacity(self) -> int:
        """Capacity in bytes (what the page iterator covers)."""
        self._check()
        return self._cap

    def __len__(self) -> int:
        """Length in bytes (written so far)."""
        self._check()
        return self._len

    def page_count(self) -> int:
        """Number of backing pages (``ceil(capacity / PAGE_SIZE)``)."""
        self._check()
        return len(self._pages)

    def extend_from_slice(self, data: bytes, flags: Flags) -> None:
        """Append ``data``, allocating pages if the capacity is exceeded.

        Raises:
            AllocError: ``ENOMEM`` (nothing appended).
            Error: ``EBUSY`` if growth is needed while a consumer (an
                ``SGTable``) owns the pages; ``EINVAL`` if released.

        Rust: ``Vec::extend_from_slice``
        """
        data = arg_bytes(data, "PageBuffer.extend_from_slice: data")
        self._check()
        end = self._len + len(data)
        if end > self._cap:
            if self._pinned_by is not None:
                raise Error(code.EBUSY, f"PageBuffer is owned by {self._pinned_by}; cannot grow")
            before = len(self._pages)
            try:
                self._grow(end, flags)
            except BaseException:
                for addr in self._pages[before:]:
                    # SAFETY: pages this buffer allocated, each freed once.
                    lib.pfl_free_pages(ffi.cast("void *", addr), 0)
                del self._pages[before:]
                raise
        self._copy_in(self._len, data)
        self._len = end

    def _copy_in(self, offset: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            off = offset + pos
            page, in_page = divmod(off, PAGE_SIZE)
            n = min(PAGE_SIZE - in_page, len(data) - pos)
            _write(self._pages[page] + in_page, data[pos : pos + n])
            pos += n

    def write(self, offset: int, data: bytes) -> None:
        """Overwrite bytes at ``offset`` inside the capacity (length grows to cover them).

        Raises:
            Error: ``EINVAL`` if ``offset..offset+len(data)`` exceeds the
                capacity or the buffer was released.
        """
        offset = arg_int(offset, "PageBuffer.write: offset")
        data = arg_bytes(data, "PageBuffer.write: data")
        self._check()
        _check_range(offset, len(data), self._cap, "PageBuffer.write")
        self._copy_in(offset, data)
        self._len = max(self._len, offset + len(data))

    def read(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes at ``offset`` inside the capacity.

        Raises:
            Error: ``EINVAL`` if outside the capacity or released.
        """
        offset, length = _args(offset, length, "PageBuffer.read")
        self._check()
        _check_range(offset, length, self._cap, "PageBuffer.read")
        out = bytearray()
        pos = 0
        while pos < length:
            off = offset + pos
            page, in_page = divmod(off, PAGE_SIZE)
            n = min(PAGE_SIZE - in_page, length - pos)
            out += _read(self._pages[page] + in_page, n)
            pos += n
        return bytes(out)

    def to_bytes(self) -> bytes:
        """The first ``len(self)`` bytes."""
        return self.read(0, len(self))

    def page(self, index: int) -> BorrowedPage:
        """The ``index``-th backing page, borrowed. Raises ``EINVAL`` if out of range."""
        index = arg_int(index, "page index")
        self._check()
        if not 0 <= index < len(self._pages):
            raise Error(code.EINVAL, f"page index {index} out of range 0..{len(self._pages)}")
        return BorrowedPage(self, self._pages[index])

    def page_iter(self) -> PageIter:
        """The backing pages in buffer order; ``size()`` is the capacity.

        Rust: ``AsPageIter::page_iter`` for ``VVec<T>``
        """
        self._check()
        return PageIter(self, list(self._pages), self._cap)

    def _free(self) -> None:
        pages, self._pages = self._pages, []
        for addr in pages:
            # SAFETY: pages this buffer allocated, each freed once.
            lib.pfl_free_pages(ffi.cast("void *", addr), 0)

    def __repr__(self) -> str:
        if self._released:
            return "<PageBuffer released>"
        return f"<PageBuffer len={self._len} cap={self._cap} pages={len(self._pages)}>"
