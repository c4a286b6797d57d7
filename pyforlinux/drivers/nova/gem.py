"""Nova's GEM objects (``drivers/gpu/drm/nova/gem.rs``), backed by VRAM.

Beyond upstream (whose objects have no backing yet): each object's memory
is a set of VRAM blocks from the virtual GPU's buddy allocator, held as a
device resource of the bound Nova device -- revoked (returned to the
allocator) if the device unbinds while clients still hold the object, after
which access through a mapping fails with ``ENODEV``. The blocks' bytes are
what a client reads and writes through the object's mmap offset.
"""

from __future__ import annotations

from typing import Any

from pyforlinux._owner import arg_bytes
from pyforlinux.devres import Devres
from pyforlinux.drivers import nova_core
from pyforlinux.drm import gem
from pyforlinux.drm.file import File
from pyforlinux.error import Error, code
from pyforlinux.gpu.buddy import AllocatedBlocks
from pyforlinux.sync.aref import ARef

PAGE = 1 << 12


class NovaObject(gem.BaseDriverObject):
    """GEM object data: the object's VRAM, as a device resource."""

    def __init__(self, gpu: nova_core.VirtualGpu, vram: Devres[AllocatedBlocks]) -> None:
        self.gpu = gpu
        self.vram = vram

    @classmethod
    def new(cls, dev: Any, size: int) -> NovaObject:
        """``BaseDriverObject::new``: allocate and clear ``size`` bytes of VRAM.

        Raises:
            Error: ``ENOSPC`` when VRAM cannot hold ``size`` bytes.
        """
        adev = dev.bound_parent()
        gpu = nova_core.gpu_of(adev)
        blocks = gpu.alloc_vram(size)
        try:
            for b in blocks:
                gpu.vram_clear(b.offset(), b.size())
            return cls(gpu, Devres(adev, blocks))
        except BaseException:
            blocks.close()
            raise

    @staticmethod
    def create(dev: Any, size: int) -> ARef[gem.Object[Any]]:
        """``NovaObject::new``: a new object of ``size`` bytes rounded up to
        4096 (``gem::Object::new``).

        Raises:
            Error: ``EINVAL`` for 0 or a size that overflows when rounded.
        """
        aligned = (size + PAGE - 1) // PAGE * PAGE
        if size <= 0 or aligned >= 1 << 64:
            raise Error(code.EINVAL, f"GEM object size {size}")
        return gem.Object.new(dev, aligned)

    @staticmethod
    def lookup_handle(file: File[Any], handle: int) -> ARef[gem.Object[Any]]:
        """The object of ``handle`` in ``file`` (``ENOENT`` if none)."""
        return gem.Object.lookup_handle(file, handle)

    # -- the mapping's memory ------------------------------------------------
    def _segments(self, offset: int, length: int) -> list[tuple[int, int]]:
        """VRAM (address, length) pieces covering object bytes [offset, +length)."""
        guard = self.vram.try_access()
        if guard is None:
            raise Error(code.ENODEV, "the object's VRAM was revoked (device unbound)")
        out = []
        with guard as blocks:
            pos = 0
            for b in blocks:
                bsize = b.size()
                lo, hi = max(offset, pos), min(offset + length, pos + bsize)
                if lo < hi:
                    out.append((b.offset() + lo - pos, hi - lo))
                pos += bsize
        return out

    def vm_read(self, obj: gem.Object[Any], offset: int, length: int) -> bytes:
        """Read object bytes from VRAM."""
        return b"".join(self.gpu.vram_read(a, n) for a, n in self._segments(offset, length))

    def vm_write(self, obj: gem.Object[Any], offset: int, data: bytes) -> None:
        """Write object bytes to VRAM."""
        data = arg_bytes(data, "VRAM data")  # exact bytes: each segment gets exactly n
        pos = 0
        for a, n in self._segments(offset, len(data)):
            self.gpu.vram_write(a, data[pos : pos + n])
            pos += n

    def blocks(self) -> list[tuple[int, int, int]]:
        """(offset, order, size) of each VRAM block, for reports ([] if revoked)."""
        guard = self.vram.try_access()
        if guard is None:
            return []
        with guard as blocks:
            return [(b.offset(), b.order(), b.size()) for b in blocks]

    def free(self, obj: gem.Object[Any]) -> None:
        """The object is gone: give its VRAM back (if the unbind has not)."""
        self.vram.close()
