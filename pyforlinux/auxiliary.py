"""The auxiliary bus: devices named (modname, name, id), drivers matched by
an id table.

Mirrors ``rust/kernel/auxiliary.rs`` over the kernel's
drivers/base/auxiliary.c (compiled unmodified), with binding done by the
driver core's dd.c. A parent driver creates auxiliary devices with
:class:`Registration` (``auxiliary_device_init()`` +
``__auxiliary_device_add()``; removed on ``close()``); auxiliary drivers
(:class:`Driver`) are registered with :func:`register_driver`
(``__auxiliary_driver_register()``), which returns a
:class:`pyforlinux.driver.Registration`. Whenever a device and a driver
match (the device name's ``modname.name`` equals an id of the driver's
table: ``auxiliary_match_id()``), dd.c binds them: ``probe(adev,
id_info)`` runs with a :class:`~pyforlinux.device.Core` view (device lock
held) and returns the driver's data for the device; on unbind the bus
calls ``unbind(adev, data)``, the data is released (its ``close()``), and
dd.c's ``devres_release_all()`` then releases the device's devres, in
reverse order. As in the driver core, a probe that fails (raises) is
logged and leaves the device unbound (its devres released by dd.c); it
does not fail the device's or the driver's registration. The error is
kept in ``probe_error`` of the device.

Thread context: bind and unbind of one device are serialised by its
device lock; probe and unbind may sleep.

Rust: rust/kernel/auxiliary.rs. C header: include/linux/auxiliary_bus.h
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pyforlinux import driver
from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, drop_in_place
from pyforlinux.device import Bound, Core, Device, DeviceContext, Normal, _core_of, _DeviceCore
from pyforlinux.error import Error, code

Ctx = TypeVar("Ctx", bound=DeviceContext, covariant=True)
log = logging.getLogger("pyforlinux.auxiliary")


@dataclass(frozen=True)
class DeviceId:
    """An auxiliary device id: ``modname.name`` (``auxiliary::DeviceId``)."""

    modname: str
    name: str

    def match_name(self) -> str:
        """The string the bus matches: ``"modname.name"``."""
        return f"{self.modname}.{self.name}"


class AuxDevice(Device[Ctx], Generic[Ctx]):
    """An auxiliary device view (``auxiliary::Device<Ctx>``)."""

    __slots__ = ()

    def id(self) -> int:
        """The device's instance id (the ``.0`` of ``NovaCore.nova-drm.0``)."""
        return int(self._core.aux_id)  # type: ignore[attr-defined]

    def device_id(self) -> DeviceId:
        """The (modname, name) this device was created with."""
        return self._core.aux_devid  # type: ignore[attr-defined, no-any-return]


class Driver:
    """Base of auxiliary drivers (``auxiliary::Driver``).

    Subclasses set ``ID_TABLE`` to a list of ``(DeviceId, id_info)`` and
    implement :meth:`probe`; :meth:`unbind` is optional.
    """

    ID_TABLE: ClassVar[Sequence[tuple[DeviceId, Any]]] = ()

    def probe(self, adev: AuxDevice[Core], id_info: Any) -> Any:
        """Bind ``adev``; return the driver data for it (released at unbind).

        Raise :class:`~pyforlinux.error.Error` to refuse the device.
        """
        raise NotImplementedError

    def unbind(self, adev: AuxDevice[Core], data: Any) -> None:
        """The device is being unbound; ``data`` is what probe returned."""


_drv_cookies = itertools.count(1)
_drivers: dict[int, tuple[Driver, Any]] = {}  # cookie -> (driver, struct pfl_aux_driver *)
_drivers_lock = threading.Lock()


def _aux_core(adev: Any) -> _DeviceCore:
    core = _core_of(lib.pfl_aux_dev_to_dev(adev))
    if core is None:  # pragma: no cover - every auxiliary device is made here
        raise Error(code.ENODEV, "auxiliary device without a Python side")
    return core


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_aux_py_probe(drv_cookie: int, adev: Any, driver_data: int) -> int:
    """C -> Python: ``auxiliary_bus_probe()`` calls the driver's probe.

    Called by dd.c's ``really_probe()`` with the device lock held. Returns
    0 or a negative errno (dd.c then releases the devres the probe added and
    leaves the device unbound). Never raises into C.
    """
    with _drivers_lock:
        drv, _ = _drivers[int(drv_cookie)]
    core = _aux_core(adev)
    gen = core.bind(drv)
    core.probe_error = None
    try:
        core.end_binding_at_devres_release(gen)
    except Error as e:
        core.probe_error = e
        core.unbind()
        return -int(e.errno or code.ENOMEM)
    try:
        data = drv.probe(AuxDevice(core, Core, gen), drv.ID_TABLE[int(driver_data)][1])
    except Exception as e:
        # dd.c releases the devres the probe added, then the binding ends.
        err = e if isinstance(e, Error) else Error(code.EINVAL, f"probe raised {e!r}")
        core.probe_error = err
        log.warning("%s: probe of %s failed: %s", type(drv).__name__, core.name, err.strerror)
        if not isinstance(e, Error):
            log.exception("probe of %s raised", core.name)
        return -int(err.errno or code.EINVAL)
    core.drvdata = data
    return 0


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_aux_py_remove(drv_cookie: int, adev: Any) -> None:
    """C -> Python: ``auxiliary_bus_remove()`` calls the driver's remove.

    The driver's ``unbind``, then its data's ``close()``; dd.c releases the
    device's devres right after, the binding's end last. Never raises into C.
    """
    with _drivers_lock:
        drv, _ = _drivers[int(drv_cookie)]
    core = _aux_core(adev)
    data = core.drvdata
    try:
        drv.unbind(AuxDevice(core, Core, core.bind_gen), data)
    except Exception:
        log.exception("unbind of %s failed", core.name)
    finally:
        # The data goes first; the binding ends when dd.c has released the
        # device's devres (Device._core.end_binding_at_devres_release).
        core.drvdata = None
        try:
            drop_in_place(data)
        except Exception:
            log.exception("driver data of %s failed to close", core.name)


class _Bus:
    """The auxiliary bus's driver registration (``driver::RegistrationOps``)."""

    def register(self, drv: Any, name: str, module: Any) -> None:
        if not isinstance(drv, Driver):
            raise Error(code.EINVAL, f"{drv!r} is not an auxiliary driver")
        cookie = next(_drv_cookies)
        table = list(drv.ID_TABLE)
        pdrv = lib.pfl_aux_driver_new(len(table), cookie)
        if pdrv == ffi.NULL:
            raise Error(code.ENOMEM, f"auxiliary driver {name}")
        for i, (devid, _info) in enumerate(table):
            rc = lib.pfl_aux_driver_set_id(pdrv, i, devid.match_name().encode())
            if rc:
                lib.pfl_aux_driver_free(pdrv)
                raise Error(-rc, f"auxiliary driver {name}: id {devid.match_name()!r}")
        with _drivers_lock:
            _drivers[cookie] = (drv, pdrv)
        drv._pfl_aux_cookie = cookie  # type: ignore[attr-defined]
        rc = lib.pfl_aux_driver_register(pdrv, name.encode())  # binds matching devices
        if rc:
            with _drivers_lock:
                del _drivers[cookie]
            lib.pfl_aux_driver_free(pdrv)
            raise Error(-rc, f"auxiliary driver {name}")

    def unregister(self, drv: Any) -> None:
        cookie: int | None = getattr(drv, "_pfl_aux_cookie", None)
        if cookie is None:
            return
        with _drivers_lock:
            entry = _drivers.get(cookie)
        if entry is None:
            return
        lib.pfl_aux_driver_unregister(entry[1])  # unbinds its devices
        with _drivers_lock:
            del _drivers[cookie]
        lib.pfl_aux_driver_free(entry[1])


_bus = _Bus()


class Registration(NoCopy):
    """An auxiliary device ``modname.name.id`` under a bound ``parent``.

    Created, it is added to the bus (and bound if a driver matches);
    :meth:`close` unbinds and removes it. A parent driver keeps the
    registration in its driver data, so the child goes before the parent
    unbinds.

    Raises:
        Error: ``EINVAL`` for an empty name or modname, a ``/`` in them, or an
            id that is not a u32; ``ENODEV`` if ``parent`` is a stale bound view; ``EEXIST`` if
            ``modname.name.id`` already exists (what sysfs would say; sysfs
            is off here); ``ENOMEM`` as the C allocations.

    Rust: ``kernel::auxiliary::Registration``
    """

    def __init__(self, parent: Device[Bound], name: str, id: int, modname: str) -> None:
        from pyforlinux import device

        pcore = parent._check()
        if not name or not modname or "/" in name + modname:
            raise Error(code.EINVAL, f"auxiliary device name {modname!r}.{name!r}: "
                                     "both needed, no '/'")
        if not 0 <= id <= 0xFFFFFFFF:
            raise Error(code.EINVAL, f"auxiliary device id {id} is not a u32")
        full = f"{modname}.{name}.{id}"
        if device.find(full, "auxiliary") is not None:
            raise Error(code.EEXIST, f"auxiliary device {full} already exists")
        core = _DeviceCore(full, pcore, "auxiliary")
        core.aux_id = id  # type: ignore[attr-defined]
        core.aux_devid = DeviceId(modname, name)  # type: ignore[attr-defined]
        core.register()
        err = ffi.new("int *")
        with pcore.lock:
            if not pcore.alive:
                core.forget()
                raise Error(code.ENODEV, f"parent of auxiliary device {full} was released")
            padev = lib.pfl_aux_device_new(pcore.ptr, name.encode(), id, core.cookie, err)
        if padev == ffi.NULL:
            core.forget()
            raise Error(-err[0], f"auxiliary device {full}")
        # Tied to its Python side before device_add() can probe.
        core.attach(lib.pfl_aux_dev_to_dev(ffi.addressof(padev.adev)))
        # The C name (__auxiliary_device_add() prints the id with %d).
        core.name = f"{modname}.{name}.{int(ffi.cast('int', id))}"
        rc = lib.pfl_aux_device_add(padev, modname.encode())
        if rc:
            core.forget()
            raise Error(-rc, f"auxiliary device {full}")
        self._core: _DeviceCore | None = core
        self._padev: Any = padev

    def device(self) -> AuxDevice[Normal]:
        """The auxiliary device (a Normal view).

        Raises:
            Error: ``ENODEV`` after :meth:`close`.
        """
        if self._core is None:
            raise Error(code.ENODEV, "auxiliary device registration is closed")
        return AuxDevice(self._core, Normal, 0)

    def close(self) -> None:
        """Unbind and remove the device (``auxiliary_device_delete()``), drop
        the bus's reference (``auxiliary_device_uninit()``); idempotent."""
        core, self._core = self._core, None
        if core is not None:
            lib.pfl_aux_device_destroy(self._padev)
            self._padev = None

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def register_driver(drv: Driver, name: str, module: Any = None) -> driver.Registration[Driver]:
    """Register an auxiliary driver; it binds to matching devices now and later."""
    return driver.Registration(_bus, drv, name, module)


def devices() -> list[AuxDevice[Normal]]:
    """Every auxiliary device made here (Normal views), for inspection."""
    from pyforlinux import device

    out: list[AuxDevice[Normal]] = []
    for info in device.devices():
        if info.bus != "auxiliary":
            continue
        with device._cores_lock:
            cores = [c for c in device._cores.values()
                     if c.name == info.name and c.bus == "auxiliary"]
        out.extend(AuxDevice(c, Normal, 0) for c in cores)
    return out
