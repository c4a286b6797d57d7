"""Nova DRM driver (``drivers/gpu/drm/nova`` upstream), in pyforlinux.

``nova.rs`` upstream is ``module_auxiliary_driver!``: a module whose init
registers the auxiliary driver :class:`~.driver.NovaDriver` and whose exit
unregisters it. The driver binds to ``NovaCore.nova-drm`` devices (made by
:mod:`pyforlinux.drivers.nova_core`) and registers a DRM device serving
Nova's UAPI (``include/uapi/drm/nova_drm.h``).
"""

from __future__ import annotations

from pyforlinux import auxiliary
from pyforlinux._owner import NoCopy
from pyforlinux.driver_package import DriverPackage
from pyforlinux.drivers.nova import driver as _driver
from pyforlinux.module import ThisModule, module

#: Nova as a driver package (``pyforlinux run nova``): the nova-core
#: stand-in, then Nova; its UAPI (nova_drm.h) is in the project's build.
DRIVER = DriverPackage(
    name="nova",
    modules=["pyforlinux.drivers.nova_core", "pyforlinux.drivers.nova"],
    session="pyforlinux.run:nova_session",
    scenarios=["pyforlinux.faultsweep:NovaUnbind"],
    description="Nova on a virtual GPU (nova-core stand-in)",
)


@module(
    name="Nova",
    authors=["Danilo Krummrich"],
    description="Nova GPU driver",
    license="GPL v2",
    alias=["auxiliary:NovaCore.nova-drm"],
)
class NovaModule(NoCopy):
    """``module_auxiliary_driver!``: register the driver on init, unregister on exit."""

    def __init__(self, this_module: ThisModule) -> None:
        _driver.NovaDrmDriver.THIS_MODULE = this_module
        self.registration = auxiliary.register_driver(_driver.NovaDriver(), "Nova", this_module)

    def close(self) -> None:
        """Unregister: every bound Nova device unbinds."""
        self.registration.close()
        _driver.NovaDrmDriver.THIS_MODULE = None
