"""Faux devices: a bound device with no real bus behind it.

Mirrors ``rust/kernel/faux.rs``: :class:`Registration` creates a device
that is bound (to the faux driver) at once and stays bound until
:meth:`Registration.close`. The nova-core stand-in owns its virtual GPU
through one. The owner may attach its own data (:meth:`set_drvdata`),
readable by children through ``Device[Bound].drvdata()``.

Rust: rust/kernel/faux.rs. C header: include/linux/device/faux.h
"""

from __future__ import annotations

from typing import Any

from pyforlinux._owner import NoCopy, run_all
from pyforlinux.device import Bound, Device, Normal, _DeviceCore, _release_devres
from pyforlinux.error import Error, code


class Registration(NoCopy):
    """A faux device named ``name``, bound until :meth:`close`.

    Rust: ``kernel::faux::Registration``
    """

    def __init__(self, name: str, parent: Device[Normal] | None = None) -> None:
        core = _DeviceCore(name, None if parent is None else parent._core, "faux")
        with core.lock:
            core.bind_gen += 1
            core.bound = True
            core.driver = "faux_driver"
        self._core: _DeviceCore | None = core

    def _live(self) -> _DeviceCore:
        if self._core is None:
            raise Error(code.ENODEV, "faux device registration is closed")
        return self._core

    def as_bound(self) -> Device[Bound]:
        """The device, bound while the registration lives."""
        core = self._live()
        return Device(core, Bound, core.bind_gen)

    def set_drvdata(self, data: Any) -> None:
        """Attach the owner's data (released at :meth:`close`)."""
        self._live().drvdata = data

    def close(self) -> None:
        """Unbind (devres actions run, data released) and remove; idempotent."""
        core, self._core = self._core, None
        if core is None:
            return
        def drop_data() -> None:
            data, core.drvdata = core.drvdata, None
            close = getattr(data, "close", None)
            if callable(close):
                close()

        def done() -> None:
            core.bound = False
            core.bind_gen += 1
            core.driver = None

        try:
            with core.lock:
                # Every step runs even if one raises: never a half-bound device.
                run_all([drop_data, lambda: _release_devres(core), done],
                        f"faux device {core.name}")
        finally:
            core.put()

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
