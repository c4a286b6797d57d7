"""The GPU buddy allocator over the real ``drivers/gpu/buddy.c``.

Mirrors ``rust/kernel/gpu/buddy.rs``:

- :class:`GpuBuddy` manages ``size`` bytes of some address space starting at
  ``base_offset`` in power-of-two blocks of at least ``chunk_size`` bytes
  (``gpu_buddy_init``). The C allocator requires its user to serialise
  every call; here it lives in a :class:`~pyforlinux.sync.lock.mutex.Mutex`
  (Rust: ``Mutex<()>`` beside an ``Opaque<gpu_buddy>``; here the mutex
  protects the ``Opaque`` itself), shared through an
  :class:`~pyforlinux.sync.arc.Arc` by the allocator handle and every
  :class:`AllocatedBlocks`, so blocks keep their allocator alive and
  ``gpu_buddy_fini`` runs when the last of them goes;
- :meth:`GpuBuddy.alloc_blocks` (``gpu_buddy_alloc_blocks``) takes a
  :class:`GpuBuddyAllocMode` (``Simple``, ``Range(start, end)``,
  ``TopDown``) and :class:`GpuBuddyAllocFlags` (``Contiguous``, ``Clear``,
  ``TrimDisable``) and returns the blocks as an :class:`AllocatedBlocks`,
  which owns the C ``list_head`` they are linked on and frees them
  (``gpu_buddy_free_list``) on :meth:`AllocatedBlocks.close` / ``with``;
- iteration yields :class:`AllocatedBlock` views of the blocks linked on
  the real ``gpu_buddy_block.link`` (Rust walks them with
  ``clist_create!``); the list does not change until the blocks are
  freed, so it is read once, in C (``pfl_gpu_buddy_blocks``: one FFI
  crossing, a bounded walk that checks every link and raises ``EFAULT``
  for a broken list instead of following it).

Units: every size and offset is in bytes, a ``u64``. ``Range`` bounds are
relative to the managed space (``0..size``, without ``base_offset``), as in
Rust (they go to C unchanged); block offsets are absolute
(``base_offset + gpu_buddy_block_offset()``).

Errors (:class:`~pyforlinux.error.Error`): ``EINVAL`` and ``ENOSPC`` as
the C returns them (sizes not multiples of ``chunk_size``, a minimum block
size below ``chunk_size`` or not a power of two, a range outside the space;
no free block large enough), ``ENOMEM`` for allocation failure; ``EINVAL``
also for an empty or inverted ``Range`` (checked here, as Rust does), for
values that are not ``u64`` and for use after ``close()``.

Thread context: process context (the mutex may sleep); any thread, any
number of threads at once.

C header: include/linux/gpu_buddy.h (drivers/gpu/buddy.c).
Rust: rust/kernel/gpu/buddy.rs
"""

from __future__ import annotations

import enum
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Final

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_int, leak_finalizer
from pyforlinux.alloc import GFP_KERNEL
from pyforlinux.error import Error, code, to_result
from pyforlinux.sync.arc import Arc
from pyforlinux.sync.lock.mutex import Mutex, new_mutex
from pyforlinux.types import Opaque

__all__ = [
    "AllocatedBlock",
    "AllocatedBlocks",
    "GpuBuddy",
    "GpuBuddyAllocFlag",
    "GpuBuddyAllocFlags",
    "GpuBuddyAllocMode",
    "GpuBuddyParams",
]

_U64: Final = 1 << 64


def _u64(value: object, what: str) -> int:
    # A plain int (user __index__ runs here, before any check); EINVAL otherwise.
    return arg_int(value, what, 0, _U64 - 1)


# The unmodified C cannot serve requests of 2**32 chunks or more:
# gpu_buddy_alloc_blocks() computes ``order = fls(pages) - 1`` with
# ``unsigned long pages`` but ``fls(unsigned int)`` (include/asm-generic/
# bitops/fls.h), so the page count is truncated to 32 bits -- a wrong order,
# EINVAL for a valid request, or a loop of order-0 allocations that runs
# until memory is gone. And ``roundup_pow_of_two(size)`` (include/linux/
# log2.h) shifts by 64 -- undefined -- for a contiguous request above 2**63.
# Such requests are refused here with E2BIG (see docs/reliability.md).
_MAX_PAGES: Final = (1 << 32) - 1


# ---------------------------------------------------------------- modes and flags


@dataclass(frozen=True)
class GpuBuddyAllocMode:
    """How to allocate: ``Simple``, ``Range(start, end)`` or ``TopDown``.

    The modes are mutually exclusive; modifiers are :class:`GpuBuddyAllocFlags`.

    - ``GpuBuddyAllocMode.Simple``: anywhere (the C's default, which takes
      the highest-addressed free block of the right order first);
    - ``GpuBuddyAllocMode.Range(start, end)``: inside ``[start, end)``
      (bytes, relative to the managed space; ``GPU_BUDDY_RANGE_ALLOCATION``);
      ``end - start == size`` asks for exactly that range;
    - ``GpuBuddyAllocMode.TopDown``: from the top of the address space
      (``GPU_BUDDY_TOPDOWN_ALLOCATION``).

    Attributes:
        kind: ``"Simple"``, ``"Range"`` or ``"TopDown"``.
        start: the range start (bytes; ``0`` unless ``Range``).
        end: the range end, exclusive (bytes; ``0`` unless ``Range``).

    Raises:
        Error: ``EINVAL`` when built directly with another ``kind``.

    Rust: ``GpuBuddyAllocMode``
    """

    kind: str
    start: int = 0
    end: int = 0

    def __post_init__(self) -> None:
        # Stored as plain str/int: no user code runs when alloc_blocks() reads them.
        kind = str.__str__(self.kind) if isinstance(self.kind, str) else None
        if kind not in ("Simple", "Range", "TopDown"):
            raise Error(code.EINVAL, f"no GpuBuddyAllocMode {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "start", _u64(self.start, "range start"))
        object.__setattr__(self, "end", _u64(self.end, "range end"))

    Simple: ClassVar[GpuBuddyAllocMode]
    TopDown: ClassVar[GpuBuddyAllocMode]

    @classmethod
    def Range(cls, start: int, end: int) -> GpuBuddyAllocMode:  # the Rust variant name
        """Allocate within ``[start, end)`` (bytes, ``u64``, relative to the space).

        Raises:
            Error: ``EINVAL`` for values that are not ``u64`` (an empty or
                inverted range is refused by :meth:`GpuBuddy.alloc_blocks`,
                as in Rust).
        """
        return cls("Range", _u64(start, "range start"), _u64(end, "range end"))

    def as_flags(self) -> int:
        """The C mode flag (``0``, ``GPU_BUDDY_RANGE_ALLOCATION`` or ``..._TOPDOWN_...``)."""
        return _MODE_FLAGS[self.kind]

    def range(self) -> tuple[int, int]:
        """``(start, end)``, ``(0, 0)`` for the other modes (what C receives)."""
        return (self.start, self.end) if self.kind == "Range" else (0, 0)

    def __repr__(self) -> str:
        if self.kind == "Range":
            return f"GpuBuddyAllocMode.Range({self.start:#x}, {self.end:#x})"
        return f"GpuBuddyAllocMode.{self.kind}"


GpuBuddyAllocMode.Simple = GpuBuddyAllocMode("Simple")
GpuBuddyAllocMode.TopDown = GpuBuddyAllocMode("TopDown")


class GpuBuddyAllocFlags(enum.IntFlag):
    """Modifiers of an allocation, combinable with ``|``; ``GpuBuddyAllocFlags(0)`` is none.

    C header: include/linux/gpu_buddy.h (``GPU_BUDDY_*_ALLOCATION``).
    Rust: ``GpuBuddyAllocFlags``/``GpuBuddyAllocFlag``
    """

    Contiguous = int(lib.GPU_BUDDY_CONTIGUOUS_ALLOCATION)
    """One physically contiguous range (size rounded up to a power of two, then trimmed)."""
    Clear = int(lib.GPU_BUDDY_CLEAR_ALLOCATION)
    """Prefer blocks known to be cleared (zeroed)."""
    TrimDisable = int(lib.GPU_BUDDY_TRIM_DISABLE)
    """Keep a contiguous allocation rounded up to its power of two (no trim)."""


GpuBuddyAllocFlag = GpuBuddyAllocFlags
"""Rust's single-flag type; in Python the same ``IntFlag``."""

_NO_FLAGS: Final = GpuBuddyAllocFlags(0)
# Computed once: IntFlag arithmetic costs microseconds per allocation.
_ALLOWED_FLAGS: Final = int(
    GpuBuddyAllocFlags.Contiguous | GpuBuddyAllocFlags.Clear | GpuBuddyAllocFlags.TrimDisable
)
_MODE_FLAGS: Final = {
    "Simple": 0,
    "Range": int(lib.GPU_BUDDY_RANGE_ALLOCATION),
    "TopDown": int(lib.GPU_BUDDY_TOPDOWN_ALLOCATION),
}


@dataclass(frozen=True)
class GpuBuddyParams:
    """Creation parameters (Rust: ``GpuBuddyParams``).

    Attributes:
        base_offset: where the managed region starts (bytes, ``u64``); added
            to every block offset.
        size: bytes managed (``u64``; rounded down to ``chunk_size`` by C).
        chunk_size: the minimum allocation unit (bytes, a power of two,
            at least 4 KiB; Rust's ``Alignment``).
    """

    base_offset: int
    size: int
    chunk_size: int


# ---------------------------------------------------------------- the allocator


class _GpuBuddyInner(NoCopy):
    """The C ``struct gpu_buddy`` under its mutex (Rust: ``GpuBuddyInner``).

    Invariant: the ``Opaque`` holds an initialised allocator until
    :meth:`close` (the Arc's drop) runs ``gpu_buddy_fini``.
    """

    __slots__ = ("lock", "mm", "params")

    def __init__(self, params: GpuBuddyParams) -> None:
        self.params = params
        mm = Opaque.try_ffi_init(
            "struct gpu_buddy",
            lambda p: int(lib.gpu_buddy_init(p, params.size, params.chunk_size)),
        )
        # The ``struct gpu_buddy *`` (the Opaque's, fixed until fini): every
        # allocator call holds ``lock`` (the guard is the proof; its value is
        # the same Opaque). Without the lock only what never changes is read:
        # the size and chunk size, and an allocation's own block list
        # (``_read_blocks``).
        self.mm: Any = ffi.cast("struct gpu_buddy *", mm.get())
        try:
            self.lock: Mutex[Opaque[Any]] = new_mutex(mm, "GpuBuddyInner.lock")
        except BaseException:
            lib.gpu_buddy_fini(mm.get())
            raise

    def close(self) -> None:
        """``gpu_buddy_fini`` under the lock, then free the mutex (Rust: ``PinnedDrop``)."""
        with self.lock.lock() as g:
            # SAFETY: initialised (invariant), exclusive (the guard); every
            # AllocatedBlocks holds an Arc, so no block is still allocated.
            lib.gpu_buddy_fini(g.value.get())
        self.lock.close()


class GpuBuddy(NoCopy):
    """A GPU buddy allocator instance (a reference-counted handle).

    ``GpuBuddy(base_offset, size, chunk_size)`` (or
    ``GpuBuddy.new(GpuBuddyParams(...))``) runs ``gpu_buddy_init``. The
    allocator lives until this handle is closed **and** every
    :class:`AllocatedBlocks` from it is closed; then ``gpu_buddy_fini``
    runs. A handle garbage collected unclosed is reported (``LeakWarning``).

    Raises:
        Error: ``EINVAL`` (C: ``size < chunk_size``, ``chunk_size`` below
            4 KiB or not a power of two; here: values that are not ``u64``
            or ``base_offset + size`` past ``2**64``), ``ENOMEM``.

    Thread context: process context; the handle may be shared by threads.

    Rust: ``GpuBuddy`` (``Arc<GpuBuddyInner>``)
    """

    __slots__ = ("__weakref__", "_arc", "_c_safe", "_params")

    def __init__(self, base_offset: int, size: int, chunk_size: int) -> None:
        params = GpuBuddyParams(
            _u64(base_offset, "base_offset"), _u64(size, "size"), _u64(chunk_size, "chunk_size")
        )
        if params.base_offset + params.size > _U64:
            raise Error(code.EINVAL, "base_offset + size overflows a u64")
        inner = _GpuBuddyInner(params)
        try:
            self._arc: Arc[_GpuBuddyInner] = Arc.new(inner, GFP_KERNEL)
        except BaseException:
            inner.close()
            raise
        self._params = params
        # Requests with 2 * size + min_block_size up to this many bytes are
        # below what _check_c_limits() refuses (see alloc_blocks).
        self._c_safe = _MAX_PAGES * params.chunk_size

    @classmethod
    def new(cls, params: GpuBuddyParams) -> GpuBuddy:
        """Create an allocator from :class:`GpuBuddyParams`. Rust: ``GpuBuddy::new``."""
        return cls(params.base_offset, params.size, params.chunk_size)

    def _inner(self) -> _GpuBuddyInner:
        return self._arc.deref()  # EINVAL once closed

    def base_offset(self) -> int:
        """The base offset added to block offsets (bytes). Rust: ``base_offset()``."""
        return self._params.base_offset

    def chunk_size(self) -> int:
        """The minimum allocation unit (bytes, a power of two). Rust: ``chunk_size()``."""
        return self._params.chunk_size

    def size(self) -> int:
        """The total managed size as requested (bytes). Rust: ``size()``."""
        return self._params.size

    def avail(self) -> int:
        """The free bytes now (``gpu_buddy.avail``, read under the lock).

        Raises:
            Error: ``EINVAL`` after :meth:`close`.

        Rust: ``GpuBuddy::avail``
        """
        inner = self._inner()
        with inner.lock.lock() as g:
            # SAFETY: an initialised allocator (invariant), read under its lock.
            return int(ffi.cast("struct gpu_buddy *", g.value.get()).avail)

    def alloc_blocks(
        self,
        mode: GpuBuddyAllocMode,
        size: int,
        min_block_size: int,
        flags: GpuBuddyAllocFlags | int = _NO_FLAGS,
    ) -> AllocatedBlocks:
        """Allocate ``size`` bytes in blocks of at least ``min_block_size``.

        Args:
            mode: :class:`GpuBuddyAllocMode`.
            size: bytes (a multiple of ``chunk_size``; rounded up to
                ``min_block_size`` by C).
            min_block_size: bytes, a power of two ``>= chunk_size``
                (Rust: ``Alignment``).
            flags: :class:`GpuBuddyAllocFlags`.

        Returns:
            The blocks (at least one), owned: close them to free them.

        Raises:
            Error: ``EINVAL`` for an empty or inverted ``Range``, bad
                arguments or a closed allocator; ``ENOSPC`` when no free
                blocks satisfy the request; ``ENOMEM``; all as
                ``gpu_buddy_alloc_blocks`` returns them.

        Rust: ``GpuBuddy::alloc_blocks``
        """
        if not isinstance(mode, GpuBuddyAllocMode):
            raise Error(code.EINVAL, f"mode must be a GpuBuddyAllocMode, not {mode!r}")
        size = arg_int(size, "size", 0, _U64 - 1)  # _u64()
        min_block_size = arg_int(min_block_size, "min_block_size", 0, _U64 - 1)
        if flags is _NO_FLAGS:
            c_flags = 0  # the default: a known valid constant, nothing to convert
        else:
            if isinstance(flags, bool) or not isinstance(flags, int):
                raise Error(code.EINVAL, f"flags {flags!r} are not GpuBuddyAllocFlags")
            c_flags = arg_int(int(flags), "flags")  # plain int (IntFlag's costs microseconds)
            if c_flags & ~_ALLOWED_FLAGS or c_flags < 0:
                raise Error(code.EINVAL, f"flags {flags!r} are not GpuBuddyAllocFlags")
        kind = mode.kind  # a plain str and ints (GpuBuddyAllocMode.__post_init__)
        if kind == "Range":
            start, end = mode.start, mode.end  # mode.range()
            if start >= end:
                raise Error(code.EINVAL, f"{mode!r} is empty or inverted")
        else:
            start = end = 0
        # _check_c_limits() can refuse only a request of at least _MAX_PAGES
        # chunks (its effective size is below 2 * size + min_block_size):
        # below that bound it is not called.
        if 2 * size + min_block_size > self._c_safe:
            self._check_c_limits(mode, start, end, size, min_block_size, c_flags)
        c_flags |= _MODE_FLAGS[kind]
        blocks = AllocatedBlocks._new(self._arc.clone())
        try:
            inner = blocks._inner
            with inner.lock.lock():
                # SAFETY: the allocator is initialised and the guard makes this
                # call exclusive; on success C links the blocks on our head,
                # on failure it has freed whatever it took.
                ret = lib.gpu_buddy_alloc_blocks(
                    inner.mm, start, end, size, min_block_size, blocks._head, c_flags
                )
            if ret:
                to_result(ret)
        except BaseException:
            blocks.close()
            raise
        return blocks

    def _check_c_limits(
        self, mode: GpuBuddyAllocMode, start: int, end: int, size: int, min_block: int,
        c_flags: int,
    ) -> None:
        """Refuse (``E2BIG``) what gpu_buddy_alloc_blocks() computes wrongly (see _MAX_PAGES)."""
        chunk = self._params.chunk_size
        mm_size = self._params.size - self._params.size % chunk if chunk else 0
        if chunk <= 0 or size < chunk or min_block < chunk or size > mm_size:
            return  # the C refuses these itself (EINVAL) before the arithmetic
        if mode.kind == "Range" and end - start == size:
            return  # an exact range: __gpu_buddy_alloc_range(), no page arithmetic
        if c_flags & int(GpuBuddyAllocFlags.Contiguous):
            if size > 1 << 63:
                raise Error(
                    code.E2BIG,
                    f"a contiguous {size}-byte request: the C's roundup_pow_of_two() "
                    "would shift by 64 (include/linux/log2.h)",
                )
            eff = 1 << (size - 1).bit_length()
        else:
            eff = -(-size // min_block) * min_block
        if eff // chunk > _MAX_PAGES:
            raise Error(
                code.E2BIG,
                f"{size} bytes is {eff // chunk} chunks; gpu_buddy_alloc_blocks() handles "
                f"at most {_MAX_PAGES} (its fls() takes an unsigned int)",
            )

    @property
    def closed(self) -> bool:
        """Whether this handle was closed."""
        return self._arc.closed

    def close(self) -> None:
        """Drop this handle; the allocator goes with the last :class:`AllocatedBlocks`.

        Idempotent.
        """
        if not self._arc.closed:
            self._arc.close()

    def __enter__(self) -> GpuBuddy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        p = self._params
        return (
            f"<GpuBuddy base {p.base_offset:#x} size {p.size:#x} chunk {p.chunk_size:#x}"
            f"{' closed' if self.closed else ''}>"
        )


# ---------------------------------------------------------------- blocks


_BLOCKS_GUESS: Final = 16  # blocks read in the first call (most allocations have fewer)
_LIST_HEAD_P: Final = ffi.typeof("struct list_head *")
_U64_ARRAY: Final = ffi.typeof("u64[]")
_UINT_ARRAY: Final = ffi.typeof("unsigned int[]")


def _read_blocks(inner: _GpuBuddyInner, head: Any) -> tuple[tuple[int, int], ...]:
    """The blocks on ``head`` as ``(offset, order)``, in one C call (two if
    more than :data:`_BLOCKS_GUESS`); ``EFAULT`` for a list that is not one."""
    # SAFETY: head is an AllocatedBlocks' own list, holding blocks of this
    # (live: the caller's Arc) allocator; the caller's state lock excludes
    # close(), the only other user of the list; the C walk is bounded.
    mm = inner.mm
    room = _BLOCKS_GUESS
    while True:
        offsets = ffi.new(_U64_ARRAY, room)
        orders = ffi.new(_UINT_ARRAY, room)
        n = int(lib.pfl_gpu_buddy_blocks(mm, head, offsets, orders, room))
        if n < 0:
            raise Error(-n, "the list of an AllocatedBlocks is corrupted")
        if n <= room:
            return tuple(zip(offsets[0:n], orders[0:n], strict=True))
        room = n


class AllocatedBlocks(NoCopy):
    """Blocks allocated by :meth:`GpuBuddy.alloc_blocks`, freed on :meth:`close`.

    Owns the C ``list_head`` the blocks are linked on (through
    ``gpu_buddy_block.link``) and a reference to the allocator (the
    allocator outlives its blocks). Iterate for :class:`AllocatedBlock`
    views (valid until :meth:`close`). A forgotten one is reported
    (``LeakWarning``) and its blocks stay allocated.

    Errors: ``EINVAL`` for iteration after :meth:`close`.

    Thread context: process context (``close`` takes the allocator mutex);
    iteration and close may race safely (close waits for the walk).

    Rust: ``AllocatedBlocks``
    """

    __slots__ = ("__weakref__", "_buddy", "_cache", "_fin", "_head", "_inner", "_state")
    _buddy: Arc[_GpuBuddyInner]
    _inner: _GpuBuddyInner  # _buddy.deref(): used only while _buddy is open
    _head: Any  # struct list_head *, Python-owned
    _state: threading.Lock
    _cache: tuple[tuple[int, int], ...] | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        raise TypeError("use GpuBuddy.alloc_blocks()")

    @classmethod
    def _new(cls, buddy: Arc[_GpuBuddyInner]) -> AllocatedBlocks:
        self: AllocatedBlocks = object.__new__(cls)
        self._buddy = buddy
        self._inner = buddy.deref()
        # A plain cffi allocation (freed with this object, after close()
        # emptied it): CListHead's Opaque wrapper costs more than the call.
        self._head = ffi.new(_LIST_HEAD_P)
        lib.INIT_LIST_HEAD(self._head)
        self._state = threading.Lock()
        self._cache = None
        self._fin = leak_finalizer(self, "AllocatedBlocks")
        return self

    @property
    def closed(self) -> bool:
        """Whether the blocks were freed."""
        return self._buddy.closed

    def _blocks(self) -> tuple[tuple[int, int], ...]:
        """``(gpu_buddy_block_offset(), gpu_buddy_block_order())`` of each block, in
        list order: read from C once (the list does not change until close)."""
        with self._state:
            if self._buddy.closed:
                raise Error(code.EINVAL, "AllocatedBlocks used after close()")
            if self._cache is None:
                self._cache = _read_blocks(self._inner, self._head)
            return self._cache

    def is_empty(self) -> bool:
        """Whether no block is on the list. Rust: ``AllocatedBlocks::is_empty``."""
        with self._state:
            if self._buddy.closed:
                raise Error(code.EINVAL, "AllocatedBlocks used after close()")
            return bool(lib.list_empty(self._head))

    def iter(self) -> Iterator[AllocatedBlock]:
        """The blocks, in list order (Rust: ``AllocatedBlocks::iter``).

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        blocks = self._blocks()
        params = self._inner.params  # immutable; the checks were _blocks()'s
        return iter([AllocatedBlock(off, order, self, params) for off, order in blocks])

    __iter__ = iter  # the same method: one call fewer per ``for b in blocks``

    def __len__(self) -> int:
        """The number of blocks."""
        return len(self._blocks())

    def close(self) -> None:
        """Free the blocks (``gpu_buddy_free_list``) and drop the allocator reference.

        Idempotent. Rust: ``PinnedDrop for AllocatedBlocks``
        """
        with self._state:
            if self._buddy.closed:
                return
            inner = self._inner  # the allocator, alive: _buddy is open
            with inner.lock.lock():
                # SAFETY: the list holds blocks of this allocator only; the
                # guard makes the call exclusive. The list is empty afterwards.
                lib.gpu_buddy_free_list(inner.mm, self._head, 0)
            self._fin.detach()
            self._buddy.close()  # gpu_buddy_fini if it was the last reference

    def __enter__(self) -> AllocatedBlocks:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AllocatedBlocks{' closed' if self.closed else ''}>"


class AllocatedBlock(NoCopy):
    """One allocated block, borrowed from its :class:`AllocatedBlocks`.

    Every accessor raises ``Error(EINVAL)`` once the blocks were closed
    (the Rust borrow ``AllocatedBlock<'a>`` cannot outlive them).

    Rust: ``AllocatedBlock<'a>``
    """

    __slots__ = ("_blocks", "_order", "_params", "_raw_offset")

    def __init__(
        self, raw_offset: int, order: int, blocks: AllocatedBlocks, params: GpuBuddyParams
    ) -> None:
        self._raw_offset = raw_offset
        self._order = order
        self._blocks = blocks
        self._params = params

    def _check(self) -> None:
        if self._blocks._buddy.closed:  # self._blocks.closed
            raise Error(code.EINVAL, "AllocatedBlock used after its AllocatedBlocks was closed")

    def offset(self) -> int:
        """The absolute offset: ``base_offset + gpu_buddy_block_offset()`` (bytes)."""
        self._check()
        return self._params.base_offset + self._raw_offset

    def order(self) -> int:
        """The block's order: ``size == chunk_size << order``."""
        self._check()
        return self._order

    def size(self) -> int:
        """The block's size in bytes (``chunk_size << order``)."""
        self._check()
        return self._params.chunk_size << self._order

    def __repr__(self) -> str:
        if self._blocks.closed:
            return "<AllocatedBlock (freed)>"
        return f"<AllocatedBlock offset {self.offset():#x} size {self.size():#x}>"
