"""The tinygpu DRM driver: binds to ``TinyDev.tinygpu`` devices and serves
the ioctls of include/uapi/drm/tinygpu_drm.h."""

import pathlib
from dataclasses import dataclass
from typing import Any

from pyforlinux import auxiliary, drm, printk, uapi
from pyforlinux.auxiliary import DeviceId
from pyforlinux.devres import Devres
from pyforlinux.drm import gem, ioctl
from pyforlinux.error import Error, code
from pyforlinux.module import Param, ThisModule, module

UAPI = uapi.load(pathlib.Path(__file__).parent / "include/uapi/drm/tinygpu_drm.h")
PAGE = 4096
MAX_OBJECT = Param(int, 64 << 20, "largest object, bytes")  # a module parameter


@dataclass
class DeviceData:
    """Device data (``dev.data``): the memory of the device we bound to."""

    adev: Any
    mem: Any


class TinyObject(gem.BaseDriverObject):
    """Object data (``obj.inner``): the object's blocks of device memory,
    held as a device resource (gone, ENODEV, once the device unbinds)."""

    def __init__(self, mem: Any, blocks: Devres) -> None:
        self.mem = mem
        self.blocks = blocks

    @classmethod
    def new(cls, dev: Any, size: int) -> "TinyObject":
        data: DeviceData = dev.data
        blocks = data.mem.alloc(size)
        return cls(data.mem, Devres(data.adev, blocks))

    def _spans(self, offset: int, length: int) -> list[tuple[int, int]]:
        guard = self.blocks.try_access()
        if guard is None:
            raise Error(code.ENODEV, "the device is gone")
        spans, pos = [], 0
        with guard as blocks:
            for b in blocks:
                lo, hi = max(offset, pos), min(offset + length, pos + b.size())
                if lo < hi:
                    spans.append((b.offset() + lo - pos, hi - lo))
                pos += b.size()
        return spans

    # mmap: a client's reads and writes of the mapping come here.
    def vm_read(self, obj: Any, offset: int, length: int) -> bytes:
        return b"".join(bytes(self.mem.bytes[a:a + n]) for a, n in self._spans(offset, length))

    def vm_write(self, obj: Any, offset: int, data: bytes) -> None:
        pos = 0
        for a, n in self._spans(offset, len(data)):
            self.mem.bytes[a:a + n] = data[pos:pos + n]
            pos += n

    def free(self, obj: Any) -> None:
        self.blocks.close()  # the blocks go back to the allocator


class TinyFile(drm.DriverFile):
    """Per-file data (``file.inner()``): what one client created."""

    def __init__(self) -> None:
        self.objects = 0

    @classmethod
    def open(cls, dev: Any) -> "TinyFile":
        return cls()

    @staticmethod
    def getparam(dev: Any, req: Any, file: Any) -> int:
        mem = dev.data.mem
        if req.param == UAPI.lib.TINYGPU_GETPARAM_MEM_SIZE:
            req.value = mem.buddy.size()
        elif req.param == UAPI.lib.TINYGPU_GETPARAM_MEM_FREE:
            req.value = mem.buddy.avail()
        elif req.param == UAPI.lib.TINYGPU_GETPARAM_FILE_OBJECTS:
            req.value = file.inner().objects
        else:
            raise Error(code.EINVAL, f"no parameter {req.param}")
        return 0

    @staticmethod
    def gem_create(dev: Any, req: Any, file: Any) -> int:
        size = (int(req.size) + PAGE - 1) // PAGE * PAGE
        if size == 0 or size > MAX_OBJECT.value:
            raise Error(code.EINVAL, f"object size {int(req.size)}")
        with gem.Object.new(dev, size) as obj:  # an ARef: dropped at the end of 'with'
            req.handle = obj.deref().create_handle(file)  # the handle holds its own
        file.inner().objects += 1
        printk.drm_dbg(dev, f"created a {size}-byte object, handle {int(req.handle)}")
        return 0

    @staticmethod
    def gem_info(dev: Any, req: Any, file: Any) -> int:
        with gem.Object.lookup_handle(file, int(req.handle)) as obj:
            req.size = obj.deref().size()
            req.mmap_offset = obj.deref().create_mmap_offset()
        return 0


class TinyDrm(drm.Driver):
    """The DRM driver: its data types, identity and ioctl table."""

    Data = DeviceData
    File = TinyFile
    Object = TinyObject
    INFO = drm.DriverInfo(major=1, minor=0, patchlevel=0, name="tinygpu",
                          desc="A tiny GPU")
    IOCTLS = ioctl.declare_drm_ioctls([
        ("TINYGPU_GETPARAM", "drm_tinygpu_getparam", ioctl.RENDER_ALLOW, TinyFile.getparam),
        ("TINYGPU_GEM_CREATE", "drm_tinygpu_gem_create", ioctl.AUTH | ioctl.RENDER_ALLOW,
         TinyFile.gem_create),
        ("TINYGPU_GEM_INFO", "drm_tinygpu_gem_info", ioctl.AUTH | ioctl.RENDER_ALLOW,
         TinyFile.gem_info),
    ], uapi=UAPI)


class TinyDriver(auxiliary.Driver):
    """Binds to ``TinyDev.tinygpu`` devices: one DRM device each."""

    ID_TABLE = ((DeviceId("TinyDev", "tinygpu"), None),)

    def probe(self, adev: Any, id_info: Any) -> Any:
        bound = adev.as_bound()
        data = DeviceData(bound, bound.parent().drvdata(object))
        dev = drm.Device.new(TinyDrm, adev, data)  # ARef: the driver's reference
        try:
            drm.Registration.new_foreign_owned(dev.deref(), adev, 0)
        except BaseException:
            dev.close()
            raise
        printk.drm_info(dev.deref(), f"tinygpu on {adev.name()}, nodes {dev.deref().nodes}")
        return dev  # the driver data: closed when the device unbinds


@module(name="tinygpu", authors=["You"], description="A tiny DRM driver", license="GPL v2",
        params={"max_object": MAX_OBJECT})
class TinyGpuModule:
    def __init__(self, this_module: ThisModule) -> None:
        TinyDrm.THIS_MODULE = this_module  # open files hold a use: unload is EBUSY
        self.registration = auxiliary.register_driver(TinyDriver(), "tinygpu", this_module)

    def close(self) -> None:
        self.registration.close()  # every bound device unbinds
        TinyDrm.THIS_MODULE = None
