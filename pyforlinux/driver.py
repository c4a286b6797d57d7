"""Generic driver registration.

Mirrors ``rust/kernel/driver.rs``: a bus implements
:class:`RegistrationOps`; :class:`Registration` registers a driver with its
bus on creation and unregisters it on :meth:`Registration.close` (which
unbinds every device the driver is bound to).

Rust: rust/kernel/driver.rs. C header: include/linux/device/driver.h
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code

D = TypeVar("D")


class RegistrationOps(Protocol):
    """What a bus does to (un)register a driver (``driver::RegistrationOps``)."""

    def register(self, drv: Any, name: str, module: Any) -> None:
        """Add ``drv`` to the bus and probe the devices it matches."""

    def unregister(self, drv: Any) -> None:
        """Unbind ``drv`` from its devices and remove it from the bus."""


class Registration(NoCopy, Generic[D]):
    """A driver registered with a bus until :meth:`close`.

    ``drv`` is the driver (an instance of the bus's driver type).

    Raises:
        Error: ``EBUSY`` if ``drv`` is already registered.

    Rust: ``kernel::driver::Registration<T>``
    """

    def __init__(self, ops: RegistrationOps, drv: D, name: str, module: Any = None) -> None:
        if getattr(drv, "_pfl_registered", False):
            raise Error(code.EBUSY, f"driver {name} is already registered")
        self._ops = ops
        self._drv: D | None = drv
        self.name = name
        ops.register(drv, name, module)
        drv._pfl_registered = True  # type: ignore[attr-defined]

    @property
    def driver(self) -> D:
        """The registered driver.

        Raises:
            Error: ``ENODEV`` after :meth:`close`.
        """
        if self._drv is None:
            raise Error(code.ENODEV, f"driver {self.name} is unregistered")
        return self._drv

    def close(self) -> None:
        """Unregister (unbinding its devices); idempotent."""
        drv, self._drv = self._drv, None
        if drv is not None:
            self._ops.unregister(drv)
            drv._pfl_registered = False  # type: ignore[attr-defined]

    def __enter__(self) -> Registration[D]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
