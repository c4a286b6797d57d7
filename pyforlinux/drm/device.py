"""The DRM device.

Mirrors ``rust/kernel/drm/device.rs``: a :class:`Device` is a C
``struct drm_device`` carrying the driver's data, reference counted with
``drm_dev_get()``/``drm_dev_put()`` (``AlwaysRefCounted``), created for a
bound parent device (:meth:`Device.new`). Everything a device does for
clients -- minors, files, ioctls, GEM handles, mmap offsets -- is the
DRM core's C.

Allocation: Linux 6.12 has no ``__drm_dev_alloc()`` (what newer Rust for
Linux calls to embed ``struct drm_device`` in ``Device<T>``) and
``drm_dev_init()`` is static. Of the two allocators it has,
``drm_dev_alloc()`` is used: like ``__drm_dev_alloc()`` it returns the
only reference to the caller (an ``ARef``) and leaves the device's
lifetime to its references. ``__devm_drm_dev_alloc()`` would instead give
that reference to the parent's devres (dropped at unbind), which is not
``drm::Device::new``'s contract. The driver's data lives in the Python
object and is released from ``drm_driver.release`` (``Device::release``)
when the last reference is dropped; the C struct is not embedded, so
``from_raw`` is a lookup by address (as ``container_of``), not a cast.

Rust: rust/kernel/drm/device.rs. C header: include/drm/drm_device.h,
include/drm/drm_drv.h, drivers/gpu/drm/drm_drv.c
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, addr_of, addr_of_ptr, drop_in_place
from pyforlinux.device import Bound, Normal
from pyforlinux.device import Device as BusDevice
from pyforlinux.drm.driver import Driver
from pyforlinux.error import Error, code, from_err_ptr
from pyforlinux.sync.aref import ARef

if TYPE_CHECKING:
    from pyforlinux.drm.gem import Object

D = TypeVar("D", bound=Driver)
log = logging.getLogger("pyforlinux.drm")


class IoctlStats:
    """Per-ioctl call and error counts of a device's driver ioctls, for reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[tuple[str, int]] = Counter()

    def count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def error(self, name: str, errno: int) -> None:
        with self._lock:
            self.errors[(name, errno)] += 1


_devices_lock = threading.Lock()
_devices: dict[int, Device[Any]] = {}  # struct drm_device address -> Device






class Device(NoCopy, Generic[D]):
    """A DRM device of driver ``D`` with its data (``drm::Device<T>``).

    Counted: :meth:`inc_ref`/:meth:`dec_ref` are ``drm_dev_get()``/
    ``drm_dev_put()`` (use an ``ARef``); :meth:`new` returns the first
    reference. The data is released (its ``close()``) with the last one.

    Rust: ``kernel::drm::Device<T>``
    """

    def __init__(self, driver: type[D], parent: BusDevice[Bound], data: Any, raw: Any) -> None:
        self.driver = driver
        self.parent: BusDevice[Normal] = parent.as_normal()
        self.data = data
        self.registered = False
        self.unplugged = False
        self.nodes: list[str] = []
        self.stats = IoctlStats()
        self._raw: Any = raw
        self._lock = threading.Lock()
        #: Live GEM objects of the device (``gem.Object`` by C address), for reports.
        self.gem_objects: dict[int, Object[Any]] = {}

    @classmethod
    def new(cls, driver: type[D], parent: BusDevice[Bound], data: Any) -> ARef[Device[D]]:
        """A new DRM device of ``driver`` for ``parent`` (``drm_dev_alloc()``),
        not yet registered, as the caller's reference.

        Raises:
            Error: ``ENODEV`` if ``parent`` is a stale bound view; what
                ``drm_dev_alloc()`` returns (``ENOMEM``...).
        """
        parent._check()
        vtable = driver.vtable()  # owned by the device from here on
        raw = from_err_ptr(lib.pfl_drm_dev_alloc(vtable, parent.as_raw()))
        dev = cls(driver, parent, data, raw)
        with _devices_lock:
            _devices[addr_of_ptr(raw)] = dev
        return ARef.from_raw(dev)

    @staticmethod
    def from_raw(raw: Any) -> Device[Any]:
        """The :class:`Device` of a C ``struct drm_device *`` (``Device::from_raw``).

        Safety: ``raw`` is a live device made by :meth:`new` (the C
        callbacks' arguments are); ``ENODEV`` otherwise, never a crash.
        """
        # One dict read, atomic under the GIL: no lock (writers hold
        # _devices_lock among themselves).
        dev = _devices.get(addr_of(raw))
        if dev is None:
            raise Error(code.ENODEV, "not a pyforlinux DRM device")
        return dev

    def as_raw(self) -> Any:
        """The C ``struct drm_device *``.

        Raises:
            Error: ``ENODEV`` once the device was released.
        """
        raw = self._raw
        if raw is None:
            raise Error(code.ENODEV, "DRM device already released")
        return raw

    def bound_parent(self) -> BusDevice[Bound]:
        """The parent as a bound device: a registered, not unplugged DRM
        device implies its parent is bound (``AsRef<Device<Bound>>`` of a
        ``drm::Device<Registered>``).

        Raises:
            Error: ``ENODEV`` once the device is unplugged or the parent unbound.
        """
        if self.unplugged:
            raise Error(code.ENODEV, "DRM device is unplugged")
        core = self.parent._core
        if not core.bound:
            raise Error(code.ENODEV, "the DRM device's parent is not bound")
        return BusDevice(core, Bound, core.bind_gen)

    # -- reference counting -----------------------------------------------
    def inc_ref(self) -> None:
        """``drm_dev_get()``.

        Raises:
            Error: ``ENODEV`` once the device was released.
        """
        lib.drm_dev_get(self.as_raw())

    def dec_ref(self) -> None:
        """``drm_dev_put()``; the last reference releases the device
        (``drm_driver.release``, then the DRM core frees it).

        Safety: the caller owns the reference it drops (an ``ARef`` does).
        """
        lib.drm_dev_put(self.as_raw())

    def refcount(self) -> int:
        """The C reference count (``kref_read(&dev->ref)``), for tests and reports."""
        return int(lib.pfl_drm_dev_refcount(self.as_raw()))

    def open_count(self) -> int:
        """Files open on the device (``drm_device.open_count``)."""
        return 0 if self._raw is None else int(lib.pfl_drm_dev_open_count(self._raw))

    def _release(self) -> None:
        """``drm_driver.release``: the last reference is gone; drop the data."""
        with _devices_lock:
            _devices.pop(addr_of_ptr(self._raw), None)
        self._raw = None
        data, self.data = self.data, None
        drop_in_place(data)

    # -- drm_dev_enter / unplug ---------------------------------------------
    @contextmanager
    def enter(self) -> Iterator[None]:
        """``drm_dev_enter()``/``drm_dev_exit()``: run while not unplugged.

        Raises:
            Error: ``ENODEV`` if the device has been unplugged.
        """
        idx = ffi.new("int *")
        if not lib.drm_dev_enter(self.as_raw(), idx):
            raise Error(code.ENODEV, "DRM device is unplugged")
        try:
            yield
        finally:
            lib.drm_dev_exit(idx[0])

    def unplug(self) -> None:
        """``drm_dev_unplug()``: unregister, refuse new entries, wait for
        those inside (an SRCU grace period); idempotent."""
        with self._lock:
            if self.unplugged:
                return
            self.unplugged = True
        lib.drm_dev_unplug(self.as_raw())

    def is_unplugged(self) -> bool:
        """``drm_dev_is_unplugged()``."""
        return self._raw is None or bool(lib.pfl_drm_dev_is_unplugged(self._raw))


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_release(raw: Any) -> None:
    """``drm_driver.release`` of every pyforlinux driver (``Device::release``)."""
    with _devices_lock:
        dev = _devices.get(addr_of_ptr(raw))
    if dev is None:
        return  # pfl_drm_dev_alloc() failed after drm_dev_alloc(): no data yet
    try:
        dev._release()
    except Exception:
        log.exception("drm_driver.release: the driver's data raised on release")
