"""pyforlinux.dma: masks, attributes, directions, the device's mapper
(dma-direct by default, an IOMMU-like one pluggable), DMA-API-debug
records, and the device's DMA engine reaching memory only through mappings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import dma, faux
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import __GFP_ZERO, GFP_KERNEL
from pyforlinux.device import Bound, Device
from pyforlinux.dma import DataDirection, DmaMask, IommuMapper
from pyforlinux.error import Error, code
from pyforlinux.page import PAGE_SIZE, PageBuffer, Pages


@pytest.fixture
def reg() -> Iterator[faux.Registration]:
    r = faux.Registration("test-dev")
    yield r
    r.close()


@pytest.fixture
def dev(reg: faux.Registration) -> Device[Bound]:
    return reg.as_bound()


class RawTable:
    """A struct sg_table over some pages, built with the raw bindings."""

    def __init__(self, pages: Any, size: int, max_segment: int = 1 << 20) -> None:
        self.ptrs = [p.as_ptr() for p in pages.page_iter()]
        self.sgt = ffi.new("struct sg_table *")
        arr = ffi.new("struct page *[]", self.ptrs)
        assert lib.sg_alloc_table_from_pages_segment(
            self.sgt, arr, len(self.ptrs), 0, size, max_segment, GFP_KERNEL.as_raw()
        ) == 0

    def entries(self) -> list[Any]:
        out = []
        sg = self.sgt.sgl
        for _ in range(self.sgt.orig_nents):
            out.append(sg)
            sg = lib.sg_next(sg)
        return out

    def free(self) -> None:
        lib.sg_free_table(self.sgt)


# ---- values -----------------------------------------------------------------

def test_dma_mask_like_the_rust_doctests() -> None:
    assert DmaMask.new(0).value() == 0
    assert DmaMask.new(1).value() == 1
    assert DmaMask.new(32).value() == 0xFFFF_FFFF
    assert DmaMask.try_new(64).value() == (1 << 64) - 1
    for bad in (65, -1, 100):
        with pytest.raises(Error) as e:
            DmaMask.try_new(bad)
        assert e.value.errno == code.EINVAL


def test_attrs_combine() -> None:
    a = dma.DMA_ATTR_FORCE_CONTIGUOUS | dma.DMA_ATTR_NO_WARN
    assert a.as_raw() == (1 << 6) | (1 << 8)
    assert a.contains(dma.DMA_ATTR_NO_WARN)
    assert not a.contains(dma.DMA_ATTR_PRIVILEGED)
    assert (a & dma.DMA_ATTR_NO_WARN) == dma.DMA_ATTR_NO_WARN
    assert not (~a).contains(dma.DMA_ATTR_NO_WARN)


def test_data_direction_is_the_c_enum() -> None:
    assert DataDirection.Bidirectional.as_raw() == lib.DMA_BIDIRECTIONAL == 0
    assert DataDirection.ToDevice == lib.DMA_TO_DEVICE == 1
    assert DataDirection.FromDevice == lib.DMA_FROM_DEVICE == 2
    assert DataDirection.None_ == lib.DMA_NONE == 3
    assert DataDirection.ToDevice.device_may_read()
    assert not DataDirection.ToDevice.device_may_write()
    assert DataDirection.FromDevice.device_may_write()
    assert not DataDirection.FromDevice.device_may_read()


# ---- device settings ---------------------------------------------------------

def test_device_dma_settings(dev: Device[Bound]) -> None:
    assert dma.dma_get_mask(dev) == (1 << 64) - 1
    dma.dma_set_mask_and_coherent(dev, DmaMask.new(40))
    assert dma.dma_get_mask(dev) == (1 << 40) - 1
    assert dma.dma_get_max_seg_size(dev) == 65536  # the kernel's default
    dma.dma_set_max_seg_size(dev, 8 * PAGE_SIZE)
    assert dev.dma.max_segment_size == 8 * PAGE_SIZE
    for bad in (PAGE_SIZE - 1, 1 << 32, -5):
        with pytest.raises(Error) as e:
            dma.dma_set_max_seg_size(dev, bad)
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        dma.dma_set_mask(dev, 32)  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL
    assert isinstance(dma.get_mapper(dev), dma.DirectMapper)
    assert dma.dma_max_mapping_size(dev) == (1 << 64) - 1


def test_settings_on_an_unbound_device_are_enodev() -> None:
    reg = faux.Registration("gone")
    dev = reg.as_bound()
    reg.close()
    with pytest.raises(Error) as e:
        dma.dma_set_mask(dev, DmaMask.new(32))
    assert e.value.errno == code.ENODEV
    with pytest.raises(Error) as e:
        dma.set_mapper(dev, IommuMapper())
    assert e.value.errno == code.ENODEV


# ---- dma-direct -----------------------------------------------------------------

def test_direct_mapping_is_the_physical_address(dev: Device[Bound]) -> None:
    with PageBuffer.with_capacity(3 * PAGE_SIZE, GFP_KERNEL) as buf:
        buf.write(0, b"A" * 3 * PAGE_SIZE)
        t = RawTable(buf, 3 * PAGE_SIZE)
        dma.map_sgtable(dev, t.sgt, DataDirection.Bidirectional)
        assert t.sgt.nents == t.sgt.orig_nents == 3
        assert dma.live_mappings(dev) == 3
        for sg, page in zip(t.entries(), t.ptrs, strict=True):
            addr = int(ffi.cast("uintptr_t", page))
            assert lib.sg_dma_address(sg) == addr == lib.sg_phys(sg)
            assert lib.sg_dma_len(sg) == PAGE_SIZE
        assert lib.pfl_sgtable_dma_bytes(t.sgt) == 3 * PAGE_SIZE
        first = int(lib.sg_dma_address(t.sgt.sgl))
        assert dma.device_read(dev, first, 4) == b"AAAA"
        dma.device_write(dev, first + 1, b"zz")
        assert buf.read(0, 4) == b"AzzA"
        dma.unmap_sgtable(dev, t.sgt, DataDirection.Bidirectional)
        assert dma.live_mappings(dev) == 0
        assert t.sgt.nents == 0
        assert lib.sg_dma_address(t.sgt.sgl) == dma.DMA_MAPPING_ERROR
        with pytest.raises(Error) as e:
            dma.device_read(dev, first, 1)
        assert e.value.errno == code.EFAULT
        t.free()


def test_device_access_honours_the_direction(dev: Device[Bound]) -> None:
    with Pages.alloc(GFP_KERNEL | __GFP_ZERO, 0) as block:
        t = RawTable(block, PAGE_SIZE)
        dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        addr = int(lib.sg_dma_address(t.sgt.sgl))
        assert dma.device_read(dev, addr, 2) == b"\0\0"
        with pytest.raises(Error) as e:
            dma.device_write(dev, addr, b"x")
        assert e.value.errno == code.EACCES
        # a read crossing the end of the mapping faults, reading nothing beyond it
        with pytest.raises(Error) as e:
            dma.device_read(dev, addr + PAGE_SIZE - 1, 2)
        assert e.value.errno == code.EFAULT
        # unmap with the wrong direction is refused (DMA-API debug), then done right
        with pytest.raises(Error) as e:
            dma.unmap_sgtable(dev, t.sgt, DataDirection.FromDevice)
        assert e.value.errno == code.EINVAL
        dma.unmap_sgtable(dev, t.sgt, DataDirection.ToDevice)
        t.free()


def test_map_misuse(dev: Device[Bound]) -> None:
    with Pages.alloc(GFP_KERNEL, 0) as block:
        t = RawTable(block, PAGE_SIZE)
        with pytest.raises(Error) as e:
            dma.map_sgtable(dev, t.sgt, DataDirection.None_)
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            dma.unmap_sgtable(dev, t.sgt, DataDirection.ToDevice)  # never mapped
        assert e.value.errno == code.EINVAL
        dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        with pytest.raises(Error) as e:
            dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)  # twice
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error) as e:
            dma.set_mapper(dev, IommuMapper())  # live mappings
        assert e.value.errno == code.EBUSY
        dma.unmap_sgtable(dev, t.sgt, DataDirection.ToDevice)
        t.free()
    empty = ffi.new("struct sg_table *")
    with pytest.raises(Error) as e:
        dma.map_sgtable(dev, empty, DataDirection.ToDevice)
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        dma.device_read(dev, 0x1000, 1)
    assert e.value.errno == code.EFAULT


def test_direct_mapping_beyond_the_mask_is_eio(dev: Device[Bound]) -> None:
    dma.dma_set_mask(dev, DmaMask.new(32))
    with Pages.alloc(GFP_KERNEL, 1) as block:
        assert block.pfn() << 12 >= 1 << 32  # userspace memory sits above 4 GiB
        t = RawTable(block, 2 * PAGE_SIZE)
        with pytest.raises(Error) as e:
            dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        assert e.value.errno == code.EIO
        assert dma.live_mappings(dev) == 0
        t.free()


# ---- the IOMMU-like mapper ----------------------------------------------------------

def test_iommu_remaps_into_its_own_iova_space(dev: Device[Bound]) -> None:
    iommu = IommuMapper()
    dma.set_mapper(dev, iommu)
    dma.dma_set_mask(dev, DmaMask.new(32))  # a 32-bit device: only the IOMMU helps
    assert dma.get_mapper(dev) is iommu
    assert dma.dma_max_mapping_size(dev) == 3 << 30
    with PageBuffer.with_capacity(3 * PAGE_SIZE + 100, GFP_KERNEL) as buf:
        payload = bytes(range(256)) * 49
        buf.write(0, payload[: 3 * PAGE_SIZE + 100])
        t = RawTable(buf, 3 * PAGE_SIZE + 100)
        dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        ents = t.entries()
        addrs = [int(lib.sg_dma_address(sg)) for sg in ents]
        assert iommu.base <= addrs[0] and addrs[-1] < iommu.base + iommu.size
        assert all(a < 1 << 32 for a in addrs)
        assert all(a != int(lib.sg_phys(sg)) for a, sg in zip(addrs, ents, strict=True))
        # one contiguous IOVA range: the scattered pages look contiguous to the device
        assert addrs == [addrs[0] + i * PAGE_SIZE for i in range(4)]
        assert iommu.mapped_pages() == 4
        # the device reads the whole buffer through the IOMMU's page table in one go
        whole = 3 * PAGE_SIZE + 100
        assert dma.device_read(dev, addrs[0], whole) == buf.read(0, whole)
        with pytest.raises(Error) as e:
            dma.device_write(dev, addrs[1], b"no")  # ToDevice: IOMMU_READ only
        assert e.value.errno == code.EACCES
        dma.unmap_sgtable(dev, t.sgt, DataDirection.ToDevice)
        assert iommu.mapped_pages() == 0
        with pytest.raises(Error) as e:
            dma.device_read(dev, addrs[0], 1)
        assert e.value.errno == code.EFAULT
        # the IOVA range was given back: mapping again reuses it
        dma.map_sgtable(dev, t.sgt, DataDirection.FromDevice)
        assert int(lib.sg_dma_address(t.sgt.sgl)) == addrs[0]
        dma.device_write(dev, addrs[0] + PAGE_SIZE - 1, b"XY")  # crosses two scattered pages
        assert buf.read(PAGE_SIZE - 1, 2) == b"XY"
        with pytest.raises(Error) as e:
            dma.device_read(dev, addrs[0], 1)  # FromDevice: IOMMU_WRITE only
        assert e.value.errno == code.EACCES
        dma.unmap_sgtable(dev, t.sgt, DataDirection.FromDevice)
        t.free()
    dma.set_mapper(dev, None)
    assert isinstance(dma.get_mapper(dev), dma.DirectMapper)


def test_iommu_out_of_iova_space_is_enospc_and_maps_nothing(dev: Device[Bound]) -> None:
    iommu = IommuMapper(base=1 << 20, size=2 * PAGE_SIZE)
    dma.set_mapper(dev, iommu)
    with PageBuffer.with_capacity(3 * PAGE_SIZE, GFP_KERNEL) as buf:
        t = RawTable(buf, 3 * PAGE_SIZE)
        with pytest.raises(Error) as e:
            dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        assert e.value.errno == code.ENOSPC
        assert iommu.mapped_pages() == 0 and dma.live_mappings(dev) == 0
        t.free()


def test_iommu_respects_the_device_mask(dev: Device[Bound]) -> None:
    iommu = IommuMapper(base=1 << 20, size=1 << 30)
    dma.set_mapper(dev, iommu)
    dma.dma_set_mask(dev, DmaMask.new(21))  # only [0, 2 MiB) addressable
    with Pages.alloc(GFP_KERNEL, 9) as block:  # 2 MiB: cannot fit under the mask
        t = RawTable(block, 512 * PAGE_SIZE)
        with pytest.raises(Error) as e:
            dma.map_sgtable(dev, t.sgt, DataDirection.ToDevice)
        assert e.value.errno == code.ENOSPC
        t.free()


@pytest.mark.parametrize(("base", "size"), [(0, 4096), (100, 4096), (4096, 100), (4096, 0)])
def test_iommu_bad_space_is_einval(base: int, size: int) -> None:
    with pytest.raises(Error) as e:
        IommuMapper(base=base, size=size)
    assert e.value.errno == code.EINVAL


def test_set_mapper_rejects_non_mappers(dev: Device[Bound]) -> None:
    with pytest.raises(Error) as e:
        dma.set_mapper(dev, object())  # type: ignore[arg-type]
    assert e.value.errno == code.EINVAL
