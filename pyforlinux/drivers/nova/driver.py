"""Nova's driver types (``drivers/gpu/drm/nova/driver.rs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyforlinux import auxiliary, drm, sysfs
from pyforlinux._owner import NoCopy
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Bound, Core
from pyforlinux.drivers.nova.file import File
from pyforlinux.drivers.nova.gem import NovaObject
from pyforlinux.drm import ioctl
from pyforlinux.sync.aref import ARef

INFO = drm.DriverInfo(major=0, minor=0, patchlevel=0, name="nova", desc="Nvidia Graphics")
NOVA_CORE_MODULE_NAME = "NovaCore"
AUXILIARY_NAME = "nova-drm"


@dataclass
class NovaData:
    """Per-device driver data: the auxiliary device bound."""

    adev: AuxDevice[Bound]


class NovaDrmDriver(drm.Driver):
    """The DRM side of Nova (``impl drm::Driver for NovaDriver``)."""

    Data = NovaData
    File = File
    Object = NovaObject
    INFO = INFO
    #: Beyond upstream (whose objects have no memory yet): dumb buffers in
    #: VRAM, so that a client finds an object's mmap offset with the core's
    #: ``DRM_IOCTL_MODE_MAP_DUMB`` (``drm_gem_dumb_map_offset()``).
    DUMB_BUFFERS = True
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, File.get_param),
        ("NOVA_GEM_CREATE", "drm_nova_gem_create", ioctl.AUTH | ioctl.RENDER_ALLOW,
         File.gem_create),
        ("NOVA_GEM_INFO", "drm_nova_gem_info", ioctl.AUTH | ioctl.RENDER_ALLOW, File.gem_info),
    ])


    @staticmethod
    def dumb_create(file: Any, dev: Any, args: Any) -> None:
        """``drm_driver.dumb_create``: a VRAM object for a ``width`` x ``height``
        buffer of ``bpp`` bits per pixel (checked by ``drm_mode_create_dumb()``);
        fills ``pitch`` (bytes per line), ``size`` (bytes) and ``handle``.

        Raises:
            Error: ``ENOSPC`` when VRAM is exhausted.
        """
        pitch = (int(args.width) * int(args.bpp) + 7) // 8
        with NovaObject.create(dev, pitch * int(args.height)) as obj:
            args.handle = obj.deref().create_handle(file)
            args.size = obj.deref().size()
        args.pitch = pitch


#: ``type NovaDevice = drm::Device<NovaDriver>``
NovaDevice = drm.Device[NovaDrmDriver]


class NovaDriverData(NoCopy):
    """What probe returns: holds the DRM device (``NovaDriver { drm }``)."""

    def __init__(self, drm_dev: ARef[NovaDevice]) -> None:
        self.drm = drm_dev

    def close(self) -> None:
        """Dropped at unbind: the driver's reference to the DRM device."""
        self.drm.close()


class NovaDriver(auxiliary.Driver):
    """``impl auxiliary::Driver for NovaDriver``."""

    ID_TABLE = ((DeviceId(NOVA_CORE_MODULE_NAME, AUXILIARY_NAME), None),)

    def probe(self, adev: AuxDevice[Core], id_info: Any) -> NovaDriverData:
        """Create the DRM device and register it, owned by the device's devres."""
        data = NovaData(adev.as_bound())  # type: ignore[arg-type]
        sysfs.devm_device_add_group(adev.as_bound(), vram_attributes())
        dev = drm.Device.new(NovaDrmDriver, adev, data)
        try:
            drm.Registration.new_foreign_owned(dev.deref(), adev, 0)
        except BaseException:
            dev.close()
            raise
        return NovaDriverData(dev)


def vram_attributes() -> sysfs.AttributeGroup:
    """Nova's sysfs files on its device, read-only, bytes in decimal:
    ``vram_total`` (VRAM size) and ``vram_used`` (allocated by the buddy
    allocator now), like amdgpu's ``mem_info_vram_total``/``_used``."""
    from pyforlinux.drivers import nova_core

    def buddy(dev: Any) -> Any:
        return nova_core.gpu_of(dev).buddy

    return sysfs.AttributeGroup([
        sysfs.DeviceAttribute.ro("vram_total", lambda dev: f"{buddy(dev).size()}\n"),
        sysfs.DeviceAttribute.ro("vram_used",
                                 lambda dev: f"{buddy(dev).size() - buddy(dev).avail()}\n"),
    ])
