"""Nova's driver types (``drivers/gpu/drm/nova/driver.rs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyforlinux import auxiliary, drm
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
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, File.get_param),
        ("NOVA_GEM_CREATE", "drm_nova_gem_create", ioctl.AUTH | ioctl.RENDER_ALLOW,
         File.gem_create),
        ("NOVA_GEM_INFO", "drm_nova_gem_info", ioctl.AUTH | ioctl.RENDER_ALLOW, File.gem_info),
    ])


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
        dev = drm.Device.new(NovaDrmDriver, adev, data)
        try:
            drm.Registration.new_foreign_owned(dev.deref(), adev, 0)
        except BaseException:
            dev.close()
            raise
        return NovaDriverData(dev)
