"""Direct memory access: DMA addresses, directions, masks and device mappings.

Mirrors ``rust/kernel/dma.rs`` (``DmaAddress``, ``DmaMask``, ``Attrs`` and
``attrs``, ``DataDirection``, the ``dma::Device`` setters) and, because
``kernel/dma/`` is not part of the C built here, the part of the C DMA
mapping API that ``SGTable`` needs (``dma_map_sgtable``,
``dma_unmap_sgtable``, ``dma_max_mapping_size``).

**How a device maps memory.** Every device has a mapper
(``dev.dma.mapper``; ``None`` means dma-direct):

* :class:`DirectMapper` (the default) -- dma-direct: the DMA address is the
  physical address of the page model (csrc/include/linux/mm_types.h), so
  a page at ``0x7f12_3456_7000`` is seen by the device at that address.
  An entry beyond the device's DMA mask cannot be mapped (``EIO``, as
  ``dma_map_sgtable()`` reports it; there is no swiotlb here).
* :class:`IommuMapper` -- an IOMMU-like mapper: every mapping gets a
  contiguous range of a separate IOVA space (by default
  ``[1 GiB, 4 GiB)``, below a 32-bit mask) through its own page table, with
  per-page read/write permissions from the direction. It is what lets a
  32-bit device reach memory above 4 GiB.

Other mappers implement :class:`DmaMapper` and are installed with
:func:`set_mapper`.

Every mapping is also recorded per device (as ``CONFIG_DMA_API_DEBUG``
does): :func:`live_mappings` counts them, unmapping something that is
not mapped raises ``EINVAL``, and :func:`device_read` /
:func:`device_write` play the device's DMA engine: they reach memory
only through a live mapping, honouring its direction (``EFAULT`` for an
unmapped bus address, ``EACCES`` for a write to a ``ToDevice`` mapping or
a read of a ``FromDevice`` one), and never touch anything else.

Thread context: any; the per-device state has its own lock. Mapping
functions need a bound device (``Device[Bound]``; ``ENODEV`` if stale).

C header: include/linux/dma-mapping.h, include/linux/dma-direction.h
(kernel/dma/direct.c and drivers/iommu/dma-iommu.c semantics).
Rust: rust/kernel/dma.rs
"""

from __future__ import annotations

import bisect
import enum
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import arg_bytes, arg_int
from pyforlinux.device import Bound, Device, _DeviceCore
from pyforlinux.error import Error, code
from pyforlinux.page import PAGE_SHIFT, PAGE_SIZE

__all__ = [
    "DMA_ATTR_ALLOC_SINGLE_PAGES",
    "DMA_ATTR_FORCE_CONTIGUOUS",
    "DMA_ATTR_NO_KERNEL_MAPPING",
    "DMA_ATTR_NO_WARN",
    "DMA_ATTR_PRIVILEGED",
    "DMA_ATTR_SKIP_CPU_SYNC",
    "DMA_ATTR_WEAK_ORDERING",
    "DMA_ATTR_WRITE_COMBINE",
    "DMA_MAPPING_ERROR",
    "Attrs",
    "DataDirection",
    "DirectMapper",
    "DmaAddress",
    "DmaMapper",
    "DmaMask",
    "IommuMapper",
    "Mapping",
    "device_read",
    "device_write",
    "dma_get_mask",
    "dma_get_max_seg_size",
    "dma_max_mapping_size",
    "dma_set_mask",
    "dma_set_mask_and_coherent",
    "dma_set_max_seg_size",
    "get_mapper",
    "live_mappings",
    "map_sgtable",
    "set_mapper",
    "unmap_sgtable",
]

DmaAddress: TypeAlias = int
"""A bus address a device uses for DMA (C ``dma_addr_t``, unsigned 64 bits).

Rust: ``kernel::dma::DmaAddress``
"""

DMA_MAPPING_ERROR: Final[DmaAddress] = (1 << 64) - 1
"""The ``dma_addr_t`` that means "not mapped" (``DMA_MAPPING_ERROR``, ``~0``)."""

_U64: Final = (1 << 64) - 1
_U32: Final = (1 << 32) - 1
SIZE_MAX: Final = _U64


# ---------------------------------------------------------------- masks, attributes


@dataclass(frozen=True)
class DmaMask:
    """A DMA mask: the lowest ``n`` bits set (``DMA_BIT_MASK(n)``), ``n`` in ``0..64``.

    Rust: ``kernel::dma::DmaMask``

    Thread context: any (an immutable value).
    C header: include/linux/dma-mapping.h (``DMA_BIT_MASK``).
    """

    _value: int

    @classmethod
    def new(cls, n: int) -> DmaMask:
        """``DMA_BIT_MASK(n)``.

        Raises:
            Error: ``EINVAL`` unless ``0 <= n <= 64`` (Rust rejects it at build time).
        """
        return cls.try_new(n)

    @classmethod
    def try_new(cls, n: int) -> DmaMask:
        """``DMA_BIT_MASK(n)``, or ``EINVAL`` for ``n`` outside ``0..64``.

        Rust: ``DmaMask::try_new``
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 64:
            raise Error(code.EINVAL, f"a DMA mask has 0..64 bits, not {n!r}")
        return cls(0 if n == 0 else _U64 >> (64 - n))

    def value(self) -> int:
        """The mask as an unsigned 64-bit ``int``. Rust: ``DmaMask::value``."""
        return self._value


@dataclass(frozen=True)
class Attrs:
    """DMA mapping attributes (``unsigned long attrs`` of the C API).

    Combine with ``|``, intersect with ``&``, invert with ``~`` (the Rust
    type implements ``Not``), test with :meth:`contains`.

    Rust: ``kernel::dma::Attrs``

    Thread context: any (an immutable value).
    C header: include/linux/dma-mapping.h (``DMA_ATTR_*``).
    """

    _raw: int = 0

    def as_raw(self) -> int:
        """The C ``unsigned long`` value."""
        return self._raw

    def contains(self, flags: Attrs) -> bool:
        """Whether every bit of ``flags`` is set."""
        return self._raw & flags._raw == flags._raw

    def __or__(self, other: Attrs) -> Attrs:
        return Attrs(self._raw | other._raw)

    def __and__(self, other: Attrs) -> Attrs:
        return Attrs(self._raw & other._raw)

    def __invert__(self) -> Attrs:
        return Attrs(~self._raw & _U32)


DMA_ATTR_WEAK_ORDERING: Final = Attrs(1 << 1)
"""Reads and writes to the mapping may be weakly ordered."""
DMA_ATTR_WRITE_COMBINE: Final = Attrs(1 << 2)
"""Writes to the mapping may be buffered."""
DMA_ATTR_NO_KERNEL_MAPPING: Final = Attrs(1 << 4)
"""No kernel virtual mapping is needed for the buffer."""
DMA_ATTR_SKIP_CPU_SYNC: Final = Attrs(1 << 5)
"""Skip CPU cache synchronisation (the buffer is already in the device domain)."""
DMA_ATTR_FORCE_CONTIGUOUS: Final = Attrs(1 << 6)
"""Force physically contiguous allocation."""
DMA_ATTR_ALLOC_SINGLE_PAGES: Final = Attrs(1 << 7)
"""Hint: allocating single pages is fine (no TLB-friendly contiguity needed)."""
DMA_ATTR_NO_WARN: Final = Attrs(1 << 8)
"""Do not warn on allocation/mapping failure."""
DMA_ATTR_PRIVILEGED: Final = Attrs(1 << 9)
"""The buffer is accessible only at an elevated privilege level."""


class DataDirection(enum.IntEnum):
    """The direction of a DMA transfer (C ``enum dma_data_direction``).

    Rust: ``kernel::dma::DataDirection``. C header: include/linux/dma-direction.h

    Thread context: any (an immutable value).
    """

    Bidirectional = int(lib.DMA_BIDIRECTIONAL)
    """The device may read and write the buffer."""
    ToDevice = int(lib.DMA_TO_DEVICE)
    """The CPU prepared the data; the device reads it."""
    FromDevice = int(lib.DMA_FROM_DEVICE)
    """The device writes the data; the CPU reads it afterwards."""
    None_ = int(lib.DMA_NONE)
    """Not for data transfer (debugging); invalid for a mapping."""

    def as_raw(self) -> int:
        """The C enum value."""
        return int(self)

    def device_may_read(self) -> bool:
        """Whether a mapping in this direction lets the device read (``IOMMU_READ``)."""
        return self in (DataDirection.Bidirectional, DataDirection.ToDevice)

    def device_may_write(self) -> bool:
        """Whether a mapping in this direction lets the device write (``IOMMU_WRITE``)."""
        return self in (DataDirection.Bidirectional, DataDirection.FromDevice)


def _check_dir(direction: object) -> DataDirection:
    if not isinstance(direction, DataDirection) or direction is DataDirection.None_:
        raise Error(
            code.EINVAL,
            f"a DMA mapping needs Bidirectional, ToDevice or FromDevice, not {direction!r}",
        )
    return direction


# ---------------------------------------------------------------- per-device state


@dataclass(frozen=True)
class Mapping:
    """One live DMA mapping: ``size`` bytes at bus address ``dma`` for ``phys``.

    ``dma`` and ``phys`` are byte addresses; ``direction`` is how it was mapped.

    Thread context: any (an immutable record).
    C: one ``dma_debug_entry`` of kernel/dma/debug.c. Rust: none.
    """

    dma: DmaAddress
    phys: int
    size: int
    direction: DataDirection


class _DmaState:
    """DMA state of one device: masks and the DMA-API-debug mapping records."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mask = _U64
        self.coherent_mask = _U64
        # id(sgt cdata) or a tag -> list of mappings (one per entry)
        self.records: dict[int, list[Mapping]] = {}

    def all_mappings(self) -> list[Mapping]:
        with self.lock:
            return [m for ms in self.records.values() for m in ms]


_states: weakref.WeakKeyDictionary[_DeviceCore, _DmaState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def _state(dev: Device[Any]) -> _DmaState:
    core = dev._core
    with _states_lock:
        st = _states.get(core)
        if st is None:
            st = _DmaState()
            _states[core] = st
        return st


# ---------------------------------------------------------------- mappers


@runtime_checkable
class DmaMapper(Protocol):
    """A DMA mapping backend (the role of ``struct dma_map_ops``).

    A mapper maps a physically contiguous range for a device and gives it a
    bus address; it translates bus addresses back for the device's DMA
    engine (:func:`device_read`). Implementations must be thread safe.

    C: ``struct dma_map_ops`` (include/linux/dma-map-ops.h). Rust: none.
    """

    name: str

    def max_mapping_size(self, dev: Device[Any]) -> int:
        """Largest single mapping, in bytes (``SIZE_MAX`` if unlimited)."""
        ...

    def map_range(self, dev: Device[Any], phys: int, size: int, direction: DataDirection,
                  mask: int) -> DmaAddress:
        """Map ``size`` bytes at physical ``phys``; the bus address must be under ``mask``.

        Raises ``Error(EIO)`` if it cannot (``DMA_MAPPING_ERROR``), ``ENOMEM``/
        ``ENOSPC`` if out of address space.
        """
        ...

    def map_ranges(self, dev: Device[Any], ranges: list[tuple[int, int]],
                   direction: DataDirection, mask: int) -> list[DmaAddress]:
        """Map several ranges ``(phys, size)`` as one unit (a scatterlist); all or none."""
        ...

    def unmap_ranges(self, dev: Device[Any], mappings: list[Mapping]) -> None:
        """Undo :meth:`map_range`/:meth:`map_ranges` for these mappings."""
        ...

    def translate(self, dev: Device[Any], dma: DmaAddress, write: bool) -> int:
        """The physical address the device reaches at bus address ``dma``.

        Raises ``Error(EFAULT)`` if unmapped, ``Error(EACCES)`` if the
        mapping does not allow the access.
        """
        ...


def _dma_capable(addr: int, size: int, mask: int) -> bool:
    end = addr + max(size, 1) - 1
    return end <= mask


class DirectMapper:
    """dma-direct: the bus address is the physical address (no translation).

    Mapping fails with ``EIO`` for memory beyond the device's DMA mask
    (there is no swiotlb bounce buffer). Translation for the device's DMA
    engine is checked against the live mappings of the device (DMA-API
    debugging), so a device never reaches unmapped memory.

    C: kernel/dma/direct.c (``dma_direct_map_sg``)

    Thread context: any; stateless (the records live in the device's state).
    Rust: none (the C DMA core does this under ``dma::Device``).
    """

    name = "dma-direct"

    def max_mapping_size(self, dev: Device[Any]) -> int:
        """``SIZE_MAX``: dma-direct without swiotlb has no limit."""
        return SIZE_MAX

    def map_range(self, dev: Device[Any], phys: int, size: int, direction: DataDirection,
                  mask: int) -> DmaAddress:
        """``phys`` itself, if the device can address it; else ``EIO``."""
        if not _dma_capable(phys, size, mask):
            raise Error(
                code.EIO, f"dma-direct: {phys:#x}+{size:#x} is beyond the DMA mask {mask:#x}"
            )
        return phys

    def map_ranges(self, dev: Device[Any], ranges: list[tuple[int, int]],
                   direction: DataDirection, mask: int) -> list[DmaAddress]:
        """Each range at its physical address; ``EIO`` (none mapped) if one is beyond the mask."""
        return [self.map_range(dev, p, s, direction, mask) for p, s in ranges]

    def unmap_ranges(self, dev: Device[Any], mappings: list[Mapping]) -> None:
        """Nothing to undo for dma-direct."""

    def translate(self, dev: Device[Any], dma: DmaAddress, write: bool) -> int:
        """``dma`` itself, if a live mapping of ``dev`` covers it with the right direction."""
        for m in _state(dev).all_mappings():
            if m.dma <= dma < m.dma + m.size:
                if (write and m.direction.device_may_write()) or (
                    not write and m.direction.device_may_read()
                ):
                    return m.phys + (dma - m.dma)
        for m in _state(dev).all_mappings():
            if m.dma <= dma < m.dma + m.size:
                raise Error(
                    code.EACCES,
                    f"dma-direct: {'write to' if write else 'read of'} {dma:#x}, "
                    f"mapped {m.direction.name}",
                )
        raise Error(code.EFAULT, f"dma-direct: bus address {dma:#x} is not mapped for this device")


class IommuMapper:
    """An IOMMU-like mapper: a separate IOVA space with its own page table.

    Each :meth:`map_ranges` call allocates one contiguous IOVA range
    (first fit, page granular, below the device's DMA mask) and maps every
    page of every range into it, in order; a range that starts inside a
    page keeps its offset. Pages get read and/or write permission from the
    direction (``ToDevice``: read, ``FromDevice``: write), and
    :meth:`translate` faults (``EFAULT``/``EACCES``) like an IOMMU would.

    One instance is one IOMMU domain; install it on a device with
    :func:`set_mapper` (devices may share a domain).

    Args:
        base: first IOVA (bytes, page aligned); default 1 GiB.
        size: size of the IOVA space in bytes (page multiple); default 3 GiB,
            so the space ends at 4 GiB and fits a 32-bit DMA mask.

    Raises:
        Error: ``EINVAL`` for an unaligned or empty space, or one beyond 64 bits.

    C: drivers/iommu/dma-iommu.c (``iommu_dma_map_sg``), drivers/iommu/iova.c

    Thread context: any; one internal lock serialises the IOVA
    allocator and the page table.
    Rust: none (the C IOMMU layer, behind ``dma::Device``).
    """

    name = "iommu"

    def __init__(self, base: int = 1 << 30, size: int = 3 << 30) -> None:
        if base % PAGE_SIZE or size % PAGE_SIZE or size <= 0 or base <= 0 or base + size > _U64:
            raise Error(code.EINVAL, f"bad IOVA space {base:#x}+{size:#x}")
        self._lock = threading.Lock()
        self._base = base
        self._size = size
        # free extents (start_pfn, npages), sorted by start
        self._free: list[tuple[int, int]] = [(base >> PAGE_SHIFT, size >> PAGE_SHIFT)]
        # iova pfn -> (phys pfn, may_read, may_write)
        self._ptes: dict[int, tuple[int, bool, bool]] = {}
        # iova start pfn of each allocation -> npages
        self._allocs: dict[int, int] = {}

    @property
    def base(self) -> int:
        """First IOVA of the space (bytes)."""
        return self._base

    @property
    def size(self) -> int:
        """Size of the IOVA space (bytes)."""
        return self._size

    def mapped_pages(self) -> int:
        """Pages currently mapped in the page table."""
        with self._lock:
            return len(self._ptes)

    def max_mapping_size(self, dev: Device[Any]) -> int:
        """The size of the IOVA space, bytes."""
        return self._size

    def _alloc_iova(self, npages: int, mask: int) -> int:
        limit = (mask + 1) >> PAGE_SHIFT  # first pfn the device cannot address
        for i, (start, n) in enumerate(self._free):
            if n >= npages and start + npages <= limit:
                if n == npages:
                    del self._free[i]
                else:
                    self._free[i] = (start + npages, n - npages)
                self._allocs[start] = npages
                return start
        raise Error(
            code.ENOSPC, f"iommu: no free IOVA range of {npages} page(s) under mask {mask:#x}"
        )

    def _free_iova(self, start: int) -> None:
        npages = self._allocs.pop(start)
        i = bisect.bisect_left(self._free, (start, 0))
        self._free.insert(i, (start, npages))
        # merge with neighbours
        if i + 1 < len(self._free) and start + npages == self._free[i + 1][0]:
            self._free[i] = (start, npages + self._free[i + 1][1])
            del self._free[i + 1]
        if i > 0 and self._free[i - 1][0] + self._free[i - 1][1] == self._free[i][0]:
            self._free[i - 1] = (self._free[i - 1][0], self._free[i - 1][1] + self._free[i][1])
            del self._free[i]

    def map_range(self, dev: Device[Any], phys: int, size: int, direction: DataDirection,
                  mask: int) -> DmaAddress:
        """Map one range; returns its IOVA. ``ENOSPC`` if the IOVA space is full."""
        return self.map_ranges(dev, [(phys, size)], direction, mask)[0]

    def map_ranges(self, dev: Device[Any], ranges: list[tuple[int, int]],
                   direction: DataDirection, mask: int) -> list[DmaAddress]:
        """Map the ranges back to back in one fresh IOVA range (page granular)."""
        spans = []
        for phys, size in ranges:
            first = phys >> PAGE_SHIFT
            last = (phys + max(size, 1) - 1) >> PAGE_SHIFT
            spans.append((phys, first, last - first + 1))
        total = sum(n for _, _, n in spans)
        r, w = direction.device_may_read(), direction.device_may_write()
        with self._lock:
            start = self._alloc_iova(total, mask)
            out = []
            pfn = start
            for phys, first, n in spans:
                for k in range(n):
                    self._ptes[pfn + k] = (first + k, r, w)
                out.append((pfn << PAGE_SHIFT) + (phys & (PAGE_SIZE - 1)))
                pfn += n
            return out

    def unmap_ranges(self, dev: Device[Any], mappings: list[Mapping]) -> None:
        """Clear the page table entries and free the IOVA range(s)."""
        with self._lock:
            starts = set()
            for m in mappings:
                first = m.dma >> PAGE_SHIFT
                last = (m.dma + max(m.size, 1) - 1) >> PAGE_SHIFT
                for pfn in range(first, last + 1):
                    self._ptes.pop(pfn, None)
            # every allocation whose pages are all gone is freed
            for start, n in list(self._allocs.items()):
                if not any(start + k in self._ptes for k in range(n)):
                    starts.add(start)
            for start in starts:
                self._free_iova(start)

    def translate(self, dev: Device[Any], dma: DmaAddress, write: bool) -> int:
        """Walk the page table; ``EFAULT`` if unmapped, ``EACCES`` if not permitted."""
        with self._lock:
            pte = self._ptes.get(dma >> PAGE_SHIFT)
        if pte is None:
            raise Error(code.EFAULT, f"iommu fault: IOVA {dma:#x} is not mapped")
        phys_pfn, r, w = pte
        if (write and not w) or (not write and not r):
            raise Error(
                code.EACCES, f"iommu fault: {'write to' if write else 'read of'} IOVA {dma:#x}"
            )
        return (phys_pfn << PAGE_SHIFT) | (dma & (PAGE_SIZE - 1))


_DIRECT: Final = DirectMapper()


# ---------------------------------------------------------------- device settings


def _bound(dev: Device[Bound]) -> Device[Bound]:
    if not isinstance(dev, Device):
        raise Error(code.EINVAL, f"not a Device: {dev!r}")
    dev._check()
    return dev


def dma_set_mask(dev: Device[Bound], mask: DmaMask) -> None:
    """Set the streaming DMA mask (``dma_set_mask()``); the default is 64 bits.

    Raises:
        Error: ``ENODEV`` if ``dev`` is a stale bound view; ``EINVAL`` if
            ``mask`` is not a :class:`DmaMask`.

    Thread context: like Rust's (unsafe) ``dma::Device::dma_set_mask``, not
    concurrently with mapping for the same device.

    C: ``dma_set_mask()``. Rust: ``dma::Device::dma_set_mask``.
    """
    _bound(dev)
    if not isinstance(mask, DmaMask):
        raise Error(code.EINVAL, f"not a DmaMask: {mask!r}")
    st = _state(dev)
    with st.lock:
        st.mask = mask.value()


def dma_set_mask_and_coherent(dev: Device[Bound], mask: DmaMask) -> None:
    """Set both the streaming and the coherent mask (``dma_set_mask_and_coherent()``).

    Raises:
        Error: as :func:`dma_set_mask`.

    Thread context: as :func:`dma_set_mask`.
    C: ``dma_set_mask_and_coherent()``. Rust: ``dma::Device::dma_set_mask_and_coherent``.
    """
    dma_set_mask(dev, mask)
    st = _state(dev)
    with st.lock:
        st.coherent_mask = mask.value()


def dma_get_mask(dev: Device[Any]) -> int:
    """The device's streaming DMA mask (``dma_get_mask()``), unsigned 64 bits.

    Thread context: any. C: ``dma_get_mask()``. Rust: none.
    """
    st = _state(dev)
    with st.lock:
        return st.mask


def dma_set_max_seg_size(dev: Device[Bound], size: int) -> None:
    """Set the largest DMA segment the device handles, in bytes (``dma_set_max_seg_size()``).

    Stored in ``dev.dma.max_segment_size`` (the kernel's default is 64 KiB).

    Raises:
        Error: ``EINVAL`` unless ``PAGE_SIZE <= size <= U32_MAX`` (an
            ``unsigned int``; scatterlists cannot have smaller segments);
            ``ENODEV`` if ``dev`` is stale.

    Thread context: not concurrently with mapping for the device.
    C: ``dma_set_max_seg_size()``. Rust: ``dma::Device::dma_set_max_seg_size``.
    """
    _bound(dev)
    if isinstance(size, bool) or not isinstance(size, int) or not PAGE_SIZE <= size <= _U32:
        raise Error(code.EINVAL, f"max segment size must be {PAGE_SIZE}..{_U32}, not {size!r}")
    dev.dma.max_segment_size = size


def dma_get_max_seg_size(dev: Device[Any]) -> int:
    """The device's max segment size, bytes (``dma_get_max_seg_size()``).

    Thread context: any. C: ``dma_get_max_seg_size()``. Rust: none.
    """
    return int(dev.dma.max_segment_size)


def get_mapper(dev: Device[Any]) -> DmaMapper:
    """The device's mapper: ``dev.dma.mapper``, or the dma-direct one if ``None``.

    Thread context: any. C: ``get_dma_ops()``. Rust: none.
    """
    m = dev.dma.mapper
    return _DIRECT if m is None else m


def set_mapper(dev: Device[Bound], mapper: DmaMapper | None) -> None:
    """Install a mapper (``None``: dma-direct), like attaching an IOMMU domain.

    Raises:
        Error: ``EBUSY`` while the device has live mappings; ``EINVAL`` if
            ``mapper`` is not a :class:`DmaMapper`; ``ENODEV`` if stale.

    Thread context: not concurrently with mapping for the device.
    C: ``iommu_attach_device()`` / ``set_dma_ops()``. Rust: none.
    """
    _bound(dev)
    if mapper is not None and not isinstance(mapper, DmaMapper):
        raise Error(code.EINVAL, f"not a DmaMapper: {mapper!r}")
    st = _state(dev)
    with st.lock:
        if st.records:
            raise Error(code.EBUSY, f"device {dev.name()} has live DMA mappings")
        dev.dma.mapper = mapper


def dma_max_mapping_size(dev: Device[Any]) -> int:
    """Largest single mapping the device's mapper supports, bytes (``dma_max_mapping_size()``).

    Rust's ``SGTable`` uses it as the segment limit (0 means unlimited there).

    Thread context: any. C: ``dma_max_mapping_size()``
    (include/linux/dma-mapping.h). Rust: called by ``SGTable::new``.
    """
    return int(get_mapper(dev).max_mapping_size(dev))


def live_mappings(dev: Device[Any]) -> int:
    """Number of live DMA mappings (scatterlist entries count one each) of ``dev``.

    Thread context: any (a snapshot).
    C: kernel/dma/debug.c's entry count. Rust: none.
    """
    return len(_state(dev).all_mappings())


# ---------------------------------------------------------------- sg tables


def _entries(sgt: Any) -> list[Any]:
    """Every CPU entry of ``struct sg_table *sgt`` (``for_each_sgtable_sg``, real sg_next)."""
    out = []
    sg = sgt.sgl
    for _ in range(int(sgt.orig_nents)):
        if sg == ffi.NULL:
            break
        out.append(sg)
        # SAFETY: sg is an entry of a valid table (the caller's contract).
        sg = lib.sg_next(sg)
    return out


def map_sgtable(dev: Device[Bound], sgt: Any, direction: DataDirection,
                attrs: Attrs = Attrs(0)) -> None:
    """Map every entry of ``sgt`` for ``dev`` (``dma_map_sgtable()``).

    Sets ``sg_dma_address()`` of each entry (``sg_dma_len()`` is
    ``sg->length`` in this configuration) and ``sgt->nents`` to the
    number of mapped entries; all or nothing.

    Safety: ``sgt`` (``struct sg_table *``) must be a valid, allocated,
    unmapped table whose pages stay alive until :func:`unmap_sgtable`,
    which must be called exactly once, with the same device and
    direction. (``SGTable`` does all of this.)

    Raises:
        Error: ``EINVAL`` for an empty table, a bad direction or a table
            already mapped for ``dev``; ``EIO`` if dma-direct cannot reach
            an entry (DMA mask); ``ENOSPC`` if an IOMMU has no IOVA space;
            ``ENODEV`` if ``dev`` is stale.

    Thread context: process context (an IOMMU mapper may allocate).
    C: ``dma_map_sgtable()`` (include/linux/dma-mapping.h).
    Rust: called by ``DmaMappedSgt::new`` in rust/kernel/scatterlist.rs.
    """
    _bound(dev)
    direction = _check_dir(direction)
    if sgt == ffi.NULL or sgt.sgl == ffi.NULL or int(sgt.orig_nents) == 0:
        raise Error(code.EINVAL, "dma_map_sgtable of an empty sg_table")
    key = int(ffi.cast("uintptr_t", sgt))
    st = _state(dev)
    mapper = get_mapper(dev)
    with st.lock:
        if key in st.records:
            raise Error(code.EINVAL, "sg_table is already mapped for this device")
        mask = st.mask
    if mapper is _DIRECT:
        # One C call for the whole table (csrc/helpers/scatterlist.c).
        # SAFETY: sgt is a valid allocated table (the caller's contract).
        ret = lib.pfl_dma_direct_map_sgtable(sgt, mask)
        if ret < 0:
            raise Error(-ret, "dma-direct: an entry is beyond the device's DMA mask")
        ents = _entries(sgt)
        maps = [
            Mapping(int(lib.sg_dma_address(sg)), int(lib.sg_phys(sg)), int(sg.length), direction)
            for sg in ents
        ]
    else:
        ents = _entries(sgt)
        # SAFETY: ents are entries of the caller's valid table.
        ranges = [(int(lib.sg_phys(sg)), int(sg.length)) for sg in ents]
        addrs = mapper.map_ranges(dev, ranges, direction, mask)
        maps = []
        for sg, (phys, size), addr in zip(ents, ranges, addrs, strict=True):
            # SAFETY: sg is an entry of the caller's valid table (walked with sg_next).
            sg.dma_address = addr
            maps.append(Mapping(addr, phys, size, direction))
        sgt.nents = len(ents)
    with st.lock:
        st.records[key] = maps


def unmap_sgtable(dev: Device[Any], sgt: Any, direction: DataDirection,
                  attrs: Attrs = Attrs(0)) -> None:
    """Undo :func:`map_sgtable` (``dma_unmap_sgtable()``).

    The entries' DMA addresses become ``DMA_MAPPING_ERROR`` and
    ``sgt->nents`` 0. Works on a device that is unbinding (a devres
    action runs after the binding is torn down), so it takes any view.

    Raises:
        Error: ``EINVAL`` if ``sgt`` is not mapped for ``dev``, or with
            another direction (DMA-API debugging's complaints).

    Thread context: any (the device's unbind runs it as a devres action).
    C: ``dma_unmap_sgtable()``. Rust: ``Drop for DmaMappedSgt``.
    """
    direction = _check_dir(direction)
    key = int(ffi.cast("uintptr_t", sgt))
    st = _state(dev)
    with st.lock:
        maps = st.records.get(key)
        if maps is None:
            raise Error(code.EINVAL, "dma_unmap_sgtable of a table that is not mapped")
        if maps and maps[0].direction is not direction:
            raise Error(
                code.EINVAL,
                f"dma_unmap_sgtable with {direction.name}, mapped {maps[0].direction.name}",
            )
        del st.records[key]
    get_mapper(dev).unmap_ranges(dev, maps)
    # SAFETY: the caller guarantees sgt is still a valid table.
    lib.pfl_sgtable_clear_dma(sgt)


# ---------------------------------------------------------------- the device side


def _device_access(
    dev: Device[Any], dma: DmaAddress, size: int, write: bool
) -> list[tuple[int, int]]:
    """Physical (address, length) chunks for a device access, page by page."""
    dma = arg_int(dma, "DMA address", 0, _U64)
    size = arg_int(size, "DMA access size", 0, _U64)
    if size < 0 or dma < 0 or dma + size - 1 > _U64:
        raise Error(code.EINVAL, f"bad DMA access {dma:#x}+{size}")
    mapper = get_mapper(dev)
    chunks = []
    pos = 0
    while pos < size:
        addr = dma + pos
        n = min(PAGE_SIZE - (addr & (PAGE_SIZE - 1)), size - pos)
        phys = mapper.translate(dev, addr, write)
        # the end of the chunk must be mapped too (same page, same mapping for IOMMUs;
        # for dma-direct check the last byte explicitly)
        if n > 1:
            last = mapper.translate(dev, addr + n - 1, write)
            if last != phys + n - 1:
                raise Error(code.EFAULT, f"DMA access {addr:#x}+{n} crosses mappings")
        chunks.append((phys, n))
        pos += n
    return chunks


def device_read(dev: Device[Any], dma: DmaAddress, size: int) -> bytes:
    """The device reads ``size`` bytes at bus address ``dma`` (its DMA engine).

    Raises:
        Error: ``EFAULT`` if any byte is not mapped for ``dev``; ``EACCES``
            if a mapping does not allow device reads (``FromDevice``);
            ``EINVAL`` for a negative size.

    Thread context: any; concurrent CPU writes to the buffer race as
    they would with a real device.
    C/Rust: none (it plays the hardware; kernel/dma/debug.c checks the mapping).
    """
    out = bytearray()
    for phys, n in _device_access(dev, dma, size, False):
        # SAFETY: phys..phys+n lies in a live mapping, whose pages are alive.
        out += ffi.buffer(ffi.cast("char *", phys), n)
    return bytes(out)


def device_write(dev: Device[Any], dma: DmaAddress, data: bytes) -> None:
    """The device writes ``data`` at bus address ``dma``.

    Raises:
        Error: ``EFAULT`` if any byte is not mapped; ``EACCES`` if a mapping
            does not allow device writes (``ToDevice``).

    Thread context: any, as :func:`device_read`.
    C/Rust: none (it plays the hardware).
    """
    data = arg_bytes(data, "device_write data")
    pos = 0
    for phys, n in _device_access(dev, dma, len(data), True):
        # SAFETY: as device_read.
        ffi.memmove(ffi.cast("void *", phys), data[pos : pos + n], n)
        pos += n
