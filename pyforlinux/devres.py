"""Device-managed resources: revoked when the device unbinds.

Mirrors ``rust/kernel/devres.rs``. A :class:`Devres` holds a value for a
bound device, through a devres entry of the kernel's drivers/base/devres.c
(:meth:`pyforlinux.device.Device.devm_add_action`). The value is released
(its ``close()``) either when the ``Devres`` is closed or when the device
unbinds, whichever comes first; in the latter case access is revoked -- and
every reader has left (an RCU grace period) -- before the unbind completes. Afterwards
:meth:`Devres.try_access` gives ``None`` and :meth:`Devres.access` raises.

Rust: rust/kernel/devres.rs. C header: include/linux/device/devres.h
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pyforlinux._owner import NoCopy
from pyforlinux.device import Bound, Device, _add_devres, _remove_devres
from pyforlinux.error import Error, code
from pyforlinux.revocable import Revocable, RevocableGuard

T = TypeVar("T")
R = TypeVar("R")


class Devres(NoCopy, Generic[T]):
    """``data`` tied to the binding of ``dev``.

    Raises (constructor):
        Error: ``ENODEV`` if ``dev`` is a stale bound view; ``ENOMEM`` if the
            devres entry cannot be allocated -- the value is then released
            first (``devm_add_action_or_reset()``).

    Thread context: any; :meth:`close` and the unbind may race, and exactly
    one of them releases the value.

    Rust: ``kernel::devres::Devres<T>``
    """

    def __init__(self, dev: Device[Bound], data: T) -> None:
        self._dev = dev.as_bound()  # ENODEV for a stale view
        self._data: Revocable[T] = Revocable(data)
        self._closed = False  # set once, by close() or a failed add
        try:
            # dev.devm_add_action(), keeping the entry's cookie: close()
            # removes it by cookie instead of searching the device's entries.
            self._cookie = _add_devres(self._dev._check(), Devres._devres_callback, self)
        except Error:
            # devm_add_action_or_reset(): the value is released, as RfL's
            # Devres::new drops it when the devres entry cannot be made.
            self._closed = True
            self._data.revoke()
            raise

    @staticmethod
    def _devres_callback(self_: Devres[Any]) -> None:
        # The device unbinds: revoke (waits for readers) and release.
        self_._data.revoke()

    @classmethod
    def new_foreign_owned(cls, dev: Device[Bound], data: T) -> None:
        """Give ``data`` to the device: released at unbind, no handle kept."""
        cls(dev, data)

    def access(self, dev: Device[Bound]) -> T:
        """The value, given the bound device as proof it is not revoked.

        Raises:
            Error: ``EINVAL`` if ``dev`` is another device; ``ENODEV`` if
                ``dev`` is a stale bound view (the device unbound).
        """
        if not dev.same_device(self._dev):
            raise Error(code.EINVAL, "Devres.access() with another device")
        dev._check()
        guard = self._data.try_access()
        if guard is None:
            raise Error(code.ENODEV, "Devres has been revoked")
        with guard as value:
            return value

    def try_access(self) -> RevocableGuard[T] | None:
        """A guard (an RCU read section) over the value, or ``None`` once revoked."""
        return self._data.try_access()

    def try_access_with(self, f: Callable[[T], R]) -> R | None:
        """``f(value)`` under RCU, or ``None`` once revoked."""
        return self._data.try_access_with(f)

    @property
    def device(self) -> Device[Bound]:
        """The bound device this resource belongs to (may have gone stale)."""
        return self._dev

    def close(self) -> None:
        """Release the value now (if the unbind has not already); idempotent."""
        # Test and set with no call in between: atomic under the GIL (no lock).
        if self._closed:
            return
        self._closed = True
        # dev.devm_remove_action(Devres._devres_callback, self), by cookie.
        _remove_devres(self._dev._core, self._cookie)
        self._data.revoke()

    def __enter__(self) -> Devres[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
