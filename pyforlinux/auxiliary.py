"""The auxiliary bus: devices named (modname, name, id), drivers matched by
an id table.

Mirrors ``rust/kernel/auxiliary.rs``. A parent driver creates auxiliary
devices with :class:`Registration` (removed on ``close()``); auxiliary
drivers (:class:`Driver`) are registered with :func:`register_driver`,
which returns a :class:`pyforlinux.driver.Registration`. Whenever a
device and a driver match (same ``modname.name``), the bus binds them:
``probe(adev, id_info)`` runs with a :class:`~pyforlinux.device.Core`
view and returns the driver's data for the device; on unbind the bus
calls ``unbind(adev, data)``, releases the data (its ``close()``), and
then the device's devres actions, in reverse order. As in the driver
core, a probe that fails (raises) is logged and leaves the device unbound
(its devres released); it does not fail the device's or the driver's
registration. The error is kept in ``probe_error`` of the device.

Thread context: bind and unbind of one device are serialised by its
device lock; probe and unbind may sleep.

Rust: rust/kernel/auxiliary.rs. C header: include/linux/auxiliary_bus.h
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pyforlinux import driver
from pyforlinux._owner import NoCopy, run_all
from pyforlinux.device import (
    Bound,
    Core,
    Device,
    DeviceContext,
    Normal,
    _DeviceCore,
    _release_devres,
)
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


class _Bus:
    """The auxiliary bus: its devices and drivers."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.devices: list[_DeviceCore] = []
        self.drivers: list[Driver] = []

    # driver.RegistrationOps
    def register(self, drv: Any, name: str, module: Any) -> None:
        if not isinstance(drv, Driver):
            raise Error(code.EINVAL, f"{drv!r} is not an auxiliary driver")
        with self.lock:
            self.drivers.append(drv)
            devices = list(self.devices)
        for core in devices:
            self._try_bind(core, drv)

    def unregister(self, drv: Any) -> None:
        with self.lock:
            if drv in self.drivers:
                self.drivers.remove(drv)
            devices = [c for c in self.devices if c.driver is drv]
        for core in devices:
            unbind(core)

    def add_device(self, core: _DeviceCore) -> None:
        with self.lock:
            self.devices.append(core)
            drivers = list(self.drivers)
        for drv in drivers:
            if self._try_bind(core, drv):
                break

    def del_device(self, core: _DeviceCore) -> None:
        unbind(core)
        with self.lock:
            if core in self.devices:
                self.devices.remove(core)

    def _try_bind(self, core: _DeviceCore, drv: Driver) -> bool:
        for devid, info in drv.ID_TABLE:
            if devid == core.aux_devid:  # type: ignore[attr-defined]
                try:
                    return bind(core, drv, info, AuxDevice)
                except Error as e:
                    # As the driver core: a failed probe is logged and the
                    # device stays unbound; adding the device still succeeds.
                    core.probe_error = e  # type: ignore[attr-defined]
                    log.warning("%s: probe of %s failed: %s", type(drv).__name__,
                                core.name, e.strerror)
                    return False
        return False


_bus = _Bus()


def bind(core: _DeviceCore, drv: Any, info: Any, view: type[Device[Any]]) -> bool:
    """Probe ``drv`` for the device (``really_probe()``); True if bound."""
    with core.lock:
        if core.bound or not core.alive:
            return False
        core.bind_gen += 1
        core.bound = True
        core.driver = drv
        try:
            data = drv.probe(view(core, Core, core.bind_gen), info)
        except Error:
            # Probe failed: undo what it set up, the device stays unbound.
            _release_devres(core)
            core.bound = False
            core.bind_gen += 1
            core.driver = None
            raise
        core.drvdata = data
        return True


def unbind(core: _DeviceCore) -> None:
    """Unbind the device from its driver (``device_release_driver()``)."""
    with core.lock:
        if not core.bound:
            return
        drv = core.driver
        adev: AuxDevice[Core] = AuxDevice(core, Core, core.bind_gen)
        data = core.drvdata
        def done() -> None:
            core.bound = False
            core.bind_gen += 1
            core.driver = None

        def drop_data() -> None:
            core.drvdata = None
            close = getattr(data, "close", None)
            if callable(close):
                close()

        # Every step runs even if one raises: never a half-bound device.
        run_all([lambda: drv.unbind(adev, data), drop_data, lambda: _release_devres(core),
                 done], f"unbind of {core.name}")


class Registration(NoCopy):
    """An auxiliary device ``modname.name.id`` under a bound ``parent``.

    Created, it is added to the bus (and bound if a driver matches);
    :meth:`close` unbinds and removes it. A parent driver keeps the
    registration in its driver data, so the child goes before the parent
    unbinds.

    Raises:
        Error: ``ENODEV`` if ``parent`` is a stale bound view; ``EEXIST`` if
            ``modname.name.id`` already exists.

    Rust: ``kernel::auxiliary::Registration``
    """

    def __init__(self, parent: Device[Bound], name: str, id: int, modname: str) -> None:
        parent._check()
        full = f"{modname}.{name}.{id}"
        with _bus.lock:
            if any(c.name == full for c in _bus.devices):
                raise Error(code.EEXIST, f"auxiliary device {full} already exists")
            core = _DeviceCore(full, parent._core, "auxiliary")
            core.aux_id = id  # type: ignore[attr-defined]
            core.aux_devid = DeviceId(modname, name)  # type: ignore[attr-defined]
        self._core: _DeviceCore | None = core
        _bus.add_device(core)

    def device(self) -> AuxDevice[Normal]:
        """The auxiliary device (a Normal view).

        Raises:
            Error: ``ENODEV`` after :meth:`close`.
        """
        if self._core is None:
            raise Error(code.ENODEV, "auxiliary device registration is closed")
        return AuxDevice(self._core, Normal, 0)

    def close(self) -> None:
        """Unbind and remove the device, drop the bus's reference; idempotent."""
        core, self._core = self._core, None
        if core is not None:
            _bus.del_device(core)
            core.put()

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def register_driver(drv: Driver, name: str, module: Any = None) -> driver.Registration[Driver]:
    """Register an auxiliary driver; it binds to matching devices now and later."""
    return driver.Registration(_bus, drv, name, module)


def devices() -> list[AuxDevice[Normal]]:
    """Every device on the bus (Normal views), for inspection."""
    with _bus.lock:
        return [AuxDevice(c, Normal, 0) for c in _bus.devices]
