"""Faux devices: a bound device with no real bus behind it.

Mirrors ``rust/kernel/faux.rs``: :class:`Registration` creates a device
that is bound (to the faux driver) at once and stays bound until
:meth:`Registration.close`. The nova-core stand-in owns its virtual GPU
through one. The owner may attach its own data (:meth:`set_drvdata`),
readable by children through ``Device[Bound].drvdata()``.

The device is a real ``struct device`` on the kernel's driver core: a faux
bus with one driver that binds every device at ``device_add()``, as
upstream's drivers/base/faux.c (6.15; 6.12 has none, so
csrc/helpers/device.c hosts that bus, under the root device ``faux``).
Closing unregisters it (``device_unregister()``): dd.c unbinds it, running
its devres in reverse order, and the last reference frees it.

Rust: rust/kernel/faux.rs. C header: include/linux/device/faux.h (6.15)
"""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, drop_in_place
from pyforlinux.device import Bound, Device, Normal, _DeviceCore
from pyforlinux.error import Error, code


class Registration(NoCopy):
    """A faux device named ``name``, bound until :meth:`close`.

    Raises:
        Error: ``EINVAL`` for an empty name; ``EEXIST`` if a faux device of
            that name exists; ``ENODEV`` if ``parent`` was released; ``ENOMEM``
            as the C allocations. A ``/`` in the name becomes ``!``, as
            ``kobject_set_name()`` does (:meth:`Device.name` is the C name).

    Rust: ``kernel::faux::Registration``
    """

    def __init__(self, name: str, parent: Device[Normal] | None = None) -> None:
        from pyforlinux import device

        pcore = None if parent is None else parent._core
        if not isinstance(name, str) or not name:
            # kobject_add_internal() WARNs on an empty name and fails with EINVAL.
            raise Error(code.EINVAL, f"a faux device needs a name, not {name!r}")
        if device.find(name, "faux") is not None:
            raise Error(code.EEXIST, f"faux device {name} already exists")
        core = _DeviceCore(name, pcore, "faux")
        core.register()
        err = ffi.new("int *")
        with core.lock:
            if pcore is not None:
                with pcore.lock:
                    if not pcore.alive:
                        core.forget()
                        raise Error(code.ENODEV, f"parent of faux device {name} was released")
                    fdev = lib.pfl_faux_device_new(pcore.ptr, name.encode(), core.cookie, err)
            else:
                fdev = lib.pfl_faux_device_new(ffi.NULL, name.encode(), core.cookie, err)
            if fdev == ffi.NULL:
                core.forget()
                raise Error(-err[0], f"faux device {name}")
            core.attach(ffi.addressof(fdev.dev))
            core.name = ffi.string(lib.dev_name(core.ptr)).decode()
            gen = core.bind("faux_driver")
            try:
                core.end_binding_at_devres_release(gen)
            except Error:
                core.unbind()
                lib.pfl_faux_device_destroy(fdev)
                raise
        self._core: _DeviceCore | None = core
        self._fdev: Any = fdev

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
        """Unbind (data released, then devres actions in reverse order) and
        remove (``device_unregister()``); idempotent."""
        core, self._core = self._core, None
        if core is None:
            return
        data, core.drvdata = core.drvdata, None
        try:
            drop_in_place(data)
        finally:
            # dd.c unbinds it: devres released, the binding's end last.
            lib.pfl_faux_device_destroy(self._fdev)
        self._fdev = None

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
