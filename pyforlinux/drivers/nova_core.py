"""A stand-in for nova-core: the virtual GPU Nova binds to.

Upstream, nova-core (drivers/gpu/nova-core) drives the PCI GPU and creates
the auxiliary device ``NovaCore.nova-drm.0`` that Nova binds to. This
module does the same for a virtual GPU: a faux device presented in sysfs
as the PCI function of an NVIDIA AD102 (vendor 0x10de, device 0x2684, as
``lspci -n`` shows a GeForce RTX 4090), owning VRAM (real
memory, ``vram_size`` bytes) managed by the real GPU buddy allocator
(drivers/gpu/buddy.c through :class:`pyforlinux.gpu.buddy.GpuBuddy`), with
a VRAM BAR (BAR1) of ``bar1_size`` bytes. Unloading it removes the
auxiliary device, which unbinds Nova first.
"""

from __future__ import annotations

from typing import Any

from pyforlinux import auxiliary, faux, sysfs
from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int
from pyforlinux.error import Error, code
from pyforlinux.gpu.buddy import AllocatedBlocks, GpuBuddy, GpuBuddyAllocMode
from pyforlinux.module import Param, Size, ThisModule, module

MIB = 1 << 20
PAGE_SIZE = 4096

#: The PCI function the virtual GPU presents (an AD102: GeForce RTX 4090).
PCI_SLOT = "0000:01:00.0"
PCI_IDS = {"vendor": 0x10DE, "device": 0x2684, "subsystem_vendor": 0x10DE,
           "subsystem_device": 0x167C, "class": 0x030000, "revision": 0xA1}


def _pci_config_group() -> sysfs.AttributeGroup:
    """The PCI function's identity files (``drivers/pci/pci-sysfs.c``: ``%#06x``
    for ids, ``%#08x`` for ``class``, ``%#04x`` for ``revision``)."""
    widths = {"class": 8, "revision": 4}

    def attr(name: str, value: int) -> sysfs.DeviceAttribute:
        return sysfs.DeviceAttribute.ro(name, lambda dev: f"{value:#0{widths.get(name, 6)}x}\n")

    return sysfs.AttributeGroup([attr(k, v) for k, v in PCI_IDS.items()])


def _pci_identity() -> sysfs.BusIdentity:
    ids = PCI_IDS
    return sysfs.BusIdentity("pci", PCI_SLOT, {
        "DRIVER": "nova-core", "PCI_CLASS": f"{ids['class']:X}",
        "PCI_ID": f"{ids['vendor']:04X}:{ids['device']:04X}",
        "PCI_SUBSYS_ID": f"{ids['subsystem_vendor']:04X}:{ids['subsystem_device']:04X}",
        "PCI_SLOT_NAME": PCI_SLOT, "MODALIAS": f"pci:v{ids['vendor']:08X}d{ids['device']:08X}"})


class VirtualGpu(NoCopy):
    """The virtual GPU: VRAM and its buddy allocator; the faux device's data.

    ``vram_size`` and ``bar1_size`` are bytes. VRAM addresses are offsets
    from 0.
    """

    def __init__(self, vram_size: int, bar1_size: int) -> None:
        if vram_size < PAGE_SIZE or vram_size % PAGE_SIZE:
            raise Error(code.EINVAL, f"vram_size {vram_size} is not a positive page multiple")
        self.vram_size = vram_size
        self.bar1_size = bar1_size
        # SAFETY: freed in close(); the mapping layer bounds every access.
        self._vram = lib.pfl_vmalloc(vram_size, lib.GFP_KERNEL, 0)
        if self._vram == ffi.NULL:
            raise Error(code.ENOMEM, "VRAM")
        try:
            self.buddy = GpuBuddy(0, vram_size, PAGE_SIZE)
        except BaseException:
            lib.pfl_kfree(self._vram, 0)
            raise

    def alloc_vram(self, size: int) -> AllocatedBlocks:
        """Allocate ``size`` bytes of VRAM (page-sized minimum blocks).

        Raises:
            Error: ``ENOSPC`` when VRAM cannot hold it; ``EINVAL`` for a bad size.
        """
        return self.buddy.alloc_blocks(GpuBuddyAllocMode.Simple, size, PAGE_SIZE)

    def vram_read(self, addr: int, length: int) -> bytes:
        """Bytes of VRAM at ``addr``."""
        addr, length = arg_int(addr, "VRAM address"), arg_int(length, "length")
        self._check(addr, length)
        return bytes(ffi.buffer(ffi.cast("char *", self._vram) + addr, length))

    def vram_write(self, addr: int, data: bytes) -> None:
        """Store ``data`` in VRAM at ``addr``."""
        addr, data = arg_int(addr, "VRAM address"), arg_bytes(data, "VRAM data")
        self._check(addr, len(data))
        ffi.memmove(ffi.cast("char *", self._vram) + addr, data, len(data))

    def vram_clear(self, addr: int, length: int) -> None:
        """Zero VRAM ``[addr, addr+length)``."""
        addr, length = arg_int(addr, "VRAM address"), arg_int(length, "length")
        self._check(addr, length)
        ffi.memmove(ffi.cast("char *", self._vram) + addr, bytes(length), length)

    def _check(self, addr: int, length: int) -> None:
        if self._vram is None:
            raise Error(code.ENODEV, "the GPU is gone")
        if addr < 0 or length < 0 or addr + length > self.vram_size:
            raise Error(code.EFAULT, f"VRAM access [{addr:#x}, +{length}) out of range")

    def close(self) -> None:
        """Release the allocator and VRAM (the faux device unbinds)."""
        if self._vram is None:
            return
        self.buddy.close()
        lib.pfl_kfree(self._vram, 0)
        self._vram = None


@module(
    name="NovaCore",
    authors=["pyforlinux"],
    description="Nova Core stand-in: a virtual GPU for the Nova DRM driver",
    license="GPL v2",
    params={
        "vram_size": Param(Size, Size(256 * MIB), "VRAM size, bytes (K/M/G suffixes)"),
        "bar1_size": Param(Size, Size(256 * MIB), "BAR1 (VRAM BAR) size, bytes"),
    },
)
class NovaCoreModule(NoCopy):
    """Module init: the virtual GPU and its ``NovaCore.nova-drm.0`` device."""

    def __init__(self, this_module: ThisModule) -> None:
        self.this = this_module
        self.gpu_dev = faux.Registration("nova-core-vgpu0")
        try:
            self.gpu = VirtualGpu(this_module.param("vram_size").value,
                                  this_module.param("bar1_size").value)
            self.gpu_dev.set_drvdata(self.gpu)
            sysfs.set_bus_identity(self.gpu_dev.as_bound(), _pci_identity())
            sysfs.devm_device_add_group(self.gpu_dev.as_bound(), _pci_config_group())
            self.aux = auxiliary.Registration(self.gpu_dev.as_bound(), "nova-drm", 0, "NovaCore")
        except BaseException:
            self.gpu_dev.close()
            raise

    def close(self) -> None:
        """Module exit: remove the auxiliary device (Nova unbinds), then the GPU."""
        self.aux.close()
        self.gpu_dev.close()


def gpu_of(dev: Any) -> VirtualGpu:
    """The virtual GPU behind a bound ``NovaCore.nova-drm`` device (its parent's data)."""
    return dev.bound_parent().drvdata(VirtualGpu)  # type: ignore[no-any-return]
