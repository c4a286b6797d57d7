"""The DRM driver descriptor and device registration.

Mirrors ``rust/kernel/drm/driver.rs``. A DRM driver is a subclass of
:class:`Driver` naming its types and constants, as the Rust trait does:

* ``Data`` -- the type of the driver's per-device data;
* ``File`` -- its :class:`~pyforlinux.drm.file.DriverFile` (per-client data);
* ``Object`` -- its :class:`~pyforlinux.drm.gem.BaseDriverObject` (per-object
  data), or ``shmem.Object[T]`` for shmem-backed objects
  (:mod:`pyforlinux.drm.gem.shmem`; upstream's ``type Object: AllocImpl``);
* ``INFO`` -- a :class:`DriverInfo` (major, minor, patchlevel, name, desc);
* ``IOCTLS`` -- a table from :func:`~pyforlinux.drm.ioctl.declare_drm_ioctls`.

From these the C ``struct drm_driver`` of the class is built once
(:meth:`Driver.vtable`, the ``VTABLE`` of rust/kernel/drm/device.rs):
``DRIVER_GEM | DRIVER_RENDER``, the GEM file operations, the ioctl table
of C trampolines, and ``open``/``postclose``/``release`` callbacks into
Python. The DRM core itself -- minors, files, ioctl dispatch, handles -- is
the unmodified C of drivers/gpu/drm.

:class:`Registration` registers a :class:`~pyforlinux.drm.device.Device`
(``drm_dev_register()``: its nodes become openable) and unplugs it on
``close()``; :meth:`Registration.new_foreign_owned` gives the registration
to the parent device's devres, so it ends when the parent unbinds.

Rust: rust/kernel/drm/driver.rs. C header: include/drm/drm_drv.h
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.device import Bound
from pyforlinux.device import Device as BusDevice
from pyforlinux.devres import Devres
from pyforlinux.error import Error, code

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.ioctl import IoctlDesc
    from pyforlinux.module import ThisModule

log = logging.getLogger("pyforlinux.drm")

#: ``drm_driver.date`` in Linux 6.12 must not be NULL (``drm_copy_field()``
#: WARNs); upstream dropped the field in 6.14 and VERSION reports "0" since.
DATE = "0"


@dataclass(frozen=True)
class DriverInfo:
    """Driver metadata (``drm::DriverInfo``): version and names."""

    major: int
    minor: int
    patchlevel: int
    name: str
    desc: str


class Driver:
    """Base of DRM drivers (``drm::Driver``); see the module documentation."""

    Data: ClassVar[type[Any]] = object
    File: ClassVar[type[Any]]
    Object: ClassVar[type[Any]]
    INFO: ClassVar[DriverInfo]
    IOCTLS: ClassVar[tuple[IoctlDesc, ...]] = ()
    #: The module that owns the driver: open files hold a use of it.
    THIS_MODULE: ClassVar[ThisModule | None] = None
    #: Dumb buffers (``drm_driver.dumb_create``): the driver implements
    #: ``dumb_create(file, dev, args)`` and the core's
    #: ``DRM_IOCTL_MODE_CREATE_DUMB``/``MAP_DUMB``/``DESTROY_DUMB`` work
    #: (upstream: ``AllocOps.dumb_create``, ``None`` for ``gem::Object``).
    DUMB_BUFFERS: ClassVar[bool] = False
    #: ``DRIVER_SYNCOBJ``: the C core (drm_syncobj.c) serves the
    #: ``DRM_IOCTL_SYNCOBJ_*`` ioctls on the driver's files; the driver
    #: reaches a file's syncobjs with :class:`pyforlinux.drm.syncobj.Syncobj`.
    SYNCOBJ: ClassVar[bool] = False

    @staticmethod
    def dumb_create(file: Any, dev: Any, args: Any) -> None:
        """``drm_driver.dumb_create`` (only called with ``DUMB_BUFFERS``):
        make an object for ``args`` (a ``struct drm_mode_create_dumb``: width,
        height, bpp in; handle, pitch, size out), with a handle in ``file``.

        Raises:
            Error: ``EOPNOTSUPP`` here; the driver's errors.
        """
        raise Error(code.EOPNOTSUPP, "driver has no dumb buffers")

    @classmethod
    def vtable(cls) -> Any:
        """A new C ``struct drm_driver *`` for the class (the ``VTABLE`` of
        rust/kernel/drm/device.rs): one per device, handed to
        ``pfl_drm_dev_alloc()``, which frees it with the device (a C driver's
        is static; a Python class has no module image to keep it in).

        Raises:
            Error: ``ENOMEM``; ``EINVAL`` if the ioctl table does not fit.
        """
        info = cls.INFO
        features = lib.DRIVER_GEM | lib.DRIVER_RENDER
        if cls.SYNCOBJ:
            features |= lib.DRIVER_SYNCOBJ
        pfl = lib.PFL_DRM_DRIVER_DUMB if cls.DUMB_BUFFERS else 0
        from pyforlinux.drm import gem

        # The object data's open()/close() are called only if it has its own
        # (read here, once per device, as Rust's OBJECT_FUNCS are built once):
        # the defaults do nothing, so plain objects skip two calls into Python.
        data = gem.driver_object_type(cls)
        if getattr(data, "open", None) is not gem.BaseDriverObject.open:
            pfl |= lib.PFL_DRM_DRIVER_GEM_OPEN
        if getattr(data, "close", None) is not gem.BaseDriverObject.close:
            pfl |= lib.PFL_DRM_DRIVER_GEM_CLOSE
        drv = lib.pfl_drm_driver_new(info.name.encode(), info.desc.encode(), DATE.encode(),
                                     info.major, info.minor, info.patchlevel, features, pfl)
        if drv == ffi.NULL:
            raise Error(code.ENOMEM, f"drm_driver of {cls.__name__}")
        gem.alloc_impl(cls)._alloc_ops(drv)  # the object type's ALLOC_OPS
        for index, desc in enumerate(cls.IOCTLS):
            ret = lib.pfl_drm_driver_set_ioctl(drv, index, desc.cmd, desc.flags,
                                               f"DRM_IOCTL_{desc.name}".encode())
            if ret < 0:
                lib.pfl_drm_driver_free(drv)
                raise Error.from_errno(ret)
        return drv


D = TypeVar("D", bound=Driver)

# The /dev/dri directory: node paths of registered devices, for listing
# (what udev makes from the minors). Opening goes through the C chrdev.
_nodes_lock = threading.Lock()
_nodes: dict[str, Device[Any]] = {}


def node_path(minor: int) -> str:
    """The /dev path of DRM minor ``minor`` (``drm_devnode()``'s names)."""
    return f"/dev/dri/renderD{minor}" if minor >= 128 else f"/dev/dri/card{minor}"


def node_minor(path: str) -> int:
    """The minor number of a /dev/dri path.

    Raises:
        Error: ``ENOENT`` for a path that is not a DRM node name.
    """
    for prefix in ("/dev/dri/card", "/dev/dri/renderD"):
        rest = path.removeprefix(prefix)
        if rest != path and rest.isdigit():
            return int(rest)
    raise Error(code.ENOENT, f"no DRM node {path}")


def lookup_node(path: str) -> Device[Any]:
    """The registered device behind a node path (``/dev/dri/card0``).

    Raises:
        Error: ``ENOENT`` if no registered device has that node.
    """
    with _nodes_lock:
        dev = _nodes.get(path)
    if dev is None:
        raise Error(code.ENOENT, f"no DRM node {path}")
    return dev


def nodes() -> list[str]:
    """Every registered node path."""
    with _nodes_lock:
        return sorted(_nodes)


class Registration(NoCopy, Generic[D]):
    """A registered DRM device (``drm_dev_register()`` until ``close()``).

    Registering creates the primary node ``/dev/dri/cardN`` and the render
    node ``/dev/dri/renderD(128+N)`` (the core's minor allocation).

    ``close()`` calls ``drm_dev_unplug()`` (upstream's ``Drop`` calls
    ``drm_dev_unregister()``): files still open get ``ENODEV`` and the
    handlers in flight finish first, so a driver's ioctls never run on a
    parent that unbound.

    Raises:
        Error: ``EBUSY`` if the device is already registered or was
            unplugged; what ``drm_dev_register()`` returns.

    Rust: ``drm::Registration<T>``
    """

    def __init__(self, drm: Device[D], flags: int = 0) -> None:
        raw = drm.as_raw()
        if drm.registered:
            raise Error(code.EBUSY, "DRM device already registered")
        if drm.unplugged:
            raise Error(code.EBUSY, "DRM device was unplugged")
        ret = lib.drm_dev_register(raw, flags)
        if ret < 0:
            raise Error.from_errno(ret)
        drm.inc_ref()  # the registration holds the device (ARef)
        drm.registered = True
        paths = [node_path(i) for i in (lib.pfl_drm_minor_index(raw, lib.DRM_MINOR_PRIMARY),
                                        lib.pfl_drm_minor_index(raw, lib.DRM_MINOR_RENDER))
                 if i >= 0]
        drm.nodes = paths
        with _nodes_lock:
            for n in paths:
                _nodes[n] = drm
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
        """``drm_dev_unplug()``: nodes go away, open files get ``ENODEV``
        from now on, in-flight ioctls finish first; idempotent."""
        drm, self._drm = self._drm, None
        if drm is None:
            return
        with _nodes_lock:
            for n in drm.nodes:
                _nodes.pop(n, None)
        drm.unplug()
        drm.registered = False
        drm.dec_ref()

    def __enter__(self) -> Registration[D]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_dumb_create(raw_file: Any, raw_dev: Any, args: Any) -> int:
    """``drm_driver.dumb_create`` of drivers with ``DUMB_BUFFERS``: the
    driver's ``dumb_create(file, dev, args)``; ``drm_mode_create_dumb()``
    has checked the arguments and computed nothing yet."""
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

    try:
        dev = Device.from_raw(raw_dev)
        with dev.enter():
            dev.driver.dumb_create(File.from_raw(raw_file), dev, args)
        return 0
    except Error as e:
        return e.to_errno()
    except Exception:
        log.exception("drm_driver.dumb_create: driver bug")
        return -code.EIO
