"""The DRM driver descriptor and device registration.

Mirrors ``rust/kernel/drm/driver.rs``. A DRM driver is a subclass of
:class:`Driver` naming its types and constants, as the Rust trait does:

* ``Data`` -- the type of the driver's per-device data;
* ``File`` -- its :class:`~pyforlinux.drm.file.DriverFile` (per-client data);
* ``Object`` -- its :class:`~pyforlinux.drm.gem.BaseDriverObject` (per-object data);
* ``INFO`` -- a :class:`DriverInfo` (major, minor, patchlevel, name, desc);
* ``IOCTLS`` -- a table from :func:`~pyforlinux.drm.ioctl.declare_drm_ioctls`.

:class:`Registration` registers a :class:`~pyforlinux.drm.device.Device`
(its nodes become openable) and unregisters it on ``close()``;
:meth:`Registration.new_foreign_owned` gives the registration to the
parent device's devres, so it ends when the parent unbinds.

Rust: rust/kernel/drm/driver.rs. C header: include/drm/drm_drv.h
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._owner import NoCopy
from pyforlinux.device import Bound
from pyforlinux.device import Device as BusDevice
from pyforlinux.devres import Devres
from pyforlinux.error import Error, code

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.ioctl import IoctlDesc
    from pyforlinux.module import ThisModule


@dataclass(frozen=True)
class DriverInfo:
    """Driver metadata (``drm::DriverInfo``): version and names."""

    major: int
    minor: int
    patchlevel: int
    name: str
    desc: str
    date: str = ""


class Driver:
    """Base of DRM drivers (``drm::Driver``); see the module documentation."""

    Data: ClassVar[type[Any]] = object
    File: ClassVar[type[Any]]
    Object: ClassVar[type[Any]]
    INFO: ClassVar[DriverInfo]
    IOCTLS: ClassVar[tuple[IoctlDesc, ...]] = ()
    #: The module that owns the driver: open files hold a use of it.
    THIS_MODULE: ClassVar[ThisModule | None] = None


D = TypeVar("D", bound=Driver)

_minors_lock = threading.Lock()
_minors: dict[str, Device[Any]] = {}
_indices: set[int] = set()  # minor indices in use; the lowest free is taken


def lookup_node(path: str) -> Device[Any]:
    """The registered device behind a node path (``/dev/dri/card0``).

    Raises:
        Error: ``ENOENT`` if no registered device has that node.
    """
    with _minors_lock:
        dev = _minors.get(path)
    if dev is None:
        raise Error(code.ENOENT, f"no DRM node {path}")
    return dev


def nodes() -> list[str]:
    """Every registered node path."""
    with _minors_lock:
        return sorted(_minors)


class Registration(NoCopy, Generic[D]):
    """A registered DRM device (``drm_dev_register()`` until ``close()``).

    Registering creates the primary node ``/dev/dri/cardN`` and the render
    node ``/dev/dri/renderD(128+N)``, N the lowest free index (as the
    kernel's minor idr).

    Raises:
        Error: ``EBUSY`` if the device is already registered; ``ENODEV`` if
            it has been unplugged.

    Rust: ``drm::Registration<T>``
    """

    def __init__(self, drm: Device[D], flags: int = 0) -> None:
        drm.inc_ref()  # the registration holds the device (ARef)
        try:
            with _minors_lock:
                if drm.registered:
                    raise Error(code.EBUSY, "DRM device already registered")
                if drm.unplugged:
                    raise Error(code.ENODEV, "DRM device is unplugged")
                index = min(set(range(len(_indices) + 1)) - _indices)
                _indices.add(index)
                drm.nodes = [f"/dev/dri/card{index}", f"/dev/dri/renderD{128 + index}"]
                for n in drm.nodes:
                    _minors[n] = drm
                drm.registered = True
        except Error:
            drm.dec_ref()
            raise
        self._drm: Device[D] | None = drm

    @classmethod
    def new_foreign_owned(cls, drm: Device[D], dev: BusDevice[Bound], flags: int = 0) -> None:
        """Register, and let ``dev``'s devres own the registration.

        Raises:
            Error: ``EINVAL`` if ``dev`` is not the DRM device's parent;
                ``ENODEV`` if ``dev`` is a stale bound view.
        """
        if not drm.parent.same_device(dev):
            raise Error(code.EINVAL, "Registration.new_foreign_owned with a device "
                                     "that is not the DRM device's parent")
        dev._check()
        Devres.new_foreign_owned(dev, cls(drm, flags))

    def device(self) -> Device[D]:
        """The registered device.

        Raises:
            Error: ``ENODEV`` after ``close()``.
        """
        if self._drm is None:
            raise Error(code.ENODEV, "DRM registration is closed")
        return self._drm

    def close(self) -> None:
        """``drm_dev_unregister()`` + unplug: nodes go away, open files get
        ``ENODEV`` from now on, in-flight ioctls finish first; idempotent."""
        drm, self._drm = self._drm, None
        if drm is None:
            return
        with _minors_lock:
            for n in drm.nodes:
                _minors.pop(n, None)
            _indices.discard(int(drm.nodes[0].removeprefix("/dev/dri/card")))
            drm.registered = False
        drm.unplug()
        drm.dec_ref()

    def __enter__(self) -> Registration[D]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
