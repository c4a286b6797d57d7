"""The generic device over the kernel's ``struct device``, with its contexts,
driver data and device resources.

Mirrors ``rust/kernel/device.rs``. A :class:`Device` is a view of one
``struct device`` of the kernel's driver core (drivers/base/core.c, dd.c,
devres.c, compiled unmodified), typed by the context the caller is in:

* :class:`Normal` -- any reference; the only context that is reference
  counted (:meth:`Device.inc_ref` / :meth:`Device.dec_ref` are
  ``get_device()`` / ``put_device()``, so an ``ARef[Device[Normal]]`` keeps
  the ``struct device`` alive);
* :class:`Bound` -- the device is bound to a driver for as long as the view
  is used: such views are handed to probe/remove and to code holding a
  bound device, and become invalid (``ENODEV``) once the device unbinds;
* :class:`Core` -- inside a bus callback (probe, remove) with the device
  lock held (``device_lock()``, taken by dd.c around probe and remove);
  :class:`Core` implies :class:`Bound`, which implies :class:`Normal`
  (``dev.as_bound()``, ``dev.as_normal()``).

mypy checks the context (``Device[Bound]`` where a bound device is needed);
the runtime checks that a bound view is used while its binding lasts. A
binding lasts, as the kernel's ``dev->driver``, from the start of the
driver's probe until dd.c has released the binding's devres
(``devres_release_all()`` after remove, or after a failed probe).

Device resources (devres): :meth:`Device.devm_add_action` registers a
release action as a real devres entry (``devres_alloc()`` +
``devres_add()``); dd.c's ``devres_release_all()`` runs the actions in
reverse order of registration when the device unbinds -- after the driver's
remove -- or when its probe fails. :mod:`pyforlinux.devres` builds on it.

Devices made by the safe layer (auxiliary and faux devices) have a Python
side (:class:`_DeviceCore`) named by a cookie their C struct carries; the
kernel's release callback of the device (the last ``put_device()``) ends it.
:func:`devices` walks every registered device of the driver core
(``devices_kset``), for a sysfs-like view.

Rust: rust/kernel/device.rs. C header: include/linux/device.h
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code

log = logging.getLogger("pyforlinux.device")


class DeviceContext:
    """Marker base of the device contexts (``kernel::device::DeviceContext``)."""


class Normal(DeviceContext):
    """Any reference to a device; the reference-counted context."""


class Bound(Normal):
    """The device is bound to a driver while this view is in use."""


class Core(Bound):
    """Inside a bus callback (probe/remove), with the device lock held."""


Ctx = TypeVar("Ctx", bound=DeviceContext, covariant=True)
T = TypeVar("T")


@dataclass
class DmaParms:
    """A device's DMA parameters (``struct device_dma_parameters``).

    ``max_segment_size`` is in bytes (the kernel's default is 64 KiB);
    ``mapper`` is the device's DMA mapping backend, set by
    :mod:`pyforlinux.dma` (``None``: dma-direct, DMA address = physical).
    """

    max_segment_size: int = 65536
    mapper: Any = None


_cookies = itertools.count(1)
_cores: dict[int, _DeviceCore] = {}  # cookie -> Python side of a live struct device
_cores_lock = threading.Lock()


class _DeviceCore:
    """The Python side of one ``struct device`` made by the safe layer.

    ``ptr`` is the ``struct device *``; valid while ``alive`` (the kernel's
    release callback clears it, under ``lock``). ``bound``/``bind_gen``
    track the binding (see the module documentation); ``drvdata`` is the
    bound driver's data.
    """

    def __init__(self, name: str, parent: _DeviceCore | None, bus: str) -> None:
        self.cookie = next(_cookies)
        self.name = name
        self.parent = parent
        self.bus = bus
        self.ptr: Any = ffi.NULL
        self.alive = False  # set once the C struct exists
        self.lock = threading.RLock()
        self.driver: Any = None
        self.drvdata: Any = None
        self.bind_gen = 0  # incremented at each bind and unbind
        self.bound = False
        self.probe_error: Error | None = None
        self.dma = DmaParms()
        self.release_hooks: list[Callable[[], None]] = []
        self.devres: dict[int, tuple[Callable[[Any], None], Any]] = {}
        self.user_refs = 0  # references taken through Device.inc_ref()

    def attach(self, ptr: Any) -> None:
        """Tie this side to its new ``struct device *`` (before device_add(),
        which may probe and so call back with the cookie)."""
        self.ptr = ptr
        self.alive = True

    def register(self) -> None:
        with _cores_lock:
            _cores[self.cookie] = self

    def forget(self) -> None:
        """The C struct was never made (or freed without our release)."""
        with _cores_lock:
            _cores.pop(self.cookie, None)
        self.alive = False
        self.ptr = ffi.NULL

    def bind(self, drv: Any) -> int:
        self.bind_gen += 1
        self.bound = True
        self.driver = drv
        return self.bind_gen

    def unbind(self) -> None:
        self.bound = False
        self.bind_gen += 1
        self.driver = None
        self.drvdata = None

    def end_binding_at_devres_release(self, gen: int) -> None:
        """Make the binding ``gen`` end when dd.c releases the device's devres.

        A devres action added first at bind is released last by
        ``devres_release_all()`` (after remove, or after a failed probe): the
        binding lasts, as the kernel's ``dev->driver``, until every resource
        of the binding is released (a DRM registration's unplug, released by
        devres, waits for ioctls that may still add resources).

        Raises:
            Error: ``ENOMEM`` if the devres entry cannot be allocated.
        """

        def end(_: object) -> None:
            with self.lock:
                if self.bind_gen == gen and self.bound:
                    self.unbind()

        _add_devres(self, end, None)

    def get(self) -> None:
        """``get_device()`` unless the device is already being released."""
        with self.lock:
            if not self.alive or not lib.kobject_get_unless_zero(ffi.addressof(self.ptr.kobj)):
                raise Error(code.ENODEV, f"device {self.name} has been released")
            self.user_refs += 1

    def put(self) -> None:
        """``put_device()`` of a reference taken by :meth:`get`; the last
        reference of all releases the device (and this side)."""
        with self.lock:
            if not self.alive or self.user_refs <= 0:
                raise Error(code.EINVAL, f"device {self.name}: reference count underflow")
            self.user_refs -= 1
            ptr = self.ptr
        lib.put_device(ptr)


def _core_of(ptr: Any) -> _DeviceCore | None:
    """The Python side of a ``struct device *`` made by the safe layer."""
    cookie = int(lib.pfl_dev_cookie(ptr))
    with _cores_lock:
        return _cores.get(cookie)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_device_py_release(cookie: int) -> None:
    """C -> Python: the device's release callback (its last ``put_device()``).

    Runs the release hooks (in reverse order) and ends the Python side; the
    C frees the struct right after. Never raises into C.
    """
    with _cores_lock:
        core = _cores.pop(int(cookie), None)
    if core is None:  # pragma: no cover - every cookie in C is registered
        return
    with core.lock:
        core.alive = False
        core.ptr = ffi.NULL
        hooks, core.release_hooks = core.release_hooks, []
    for hook in reversed(hooks):
        try:
            hook()
        except Exception:  # pragma: no cover - a hook's bug, reported
            log.exception("release hook of %s failed", core.name)


# Every use of _devres is one dict operation (set, pop), atomic under the GIL: no lock.
_devres: dict[int, tuple[_DeviceCore, Callable[[Any], None], Any]] = {}
_devres_ids = itertools.count(1)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_devres_py_release(cookie: int) -> None:
    """C -> Python: ``devres_release_all()`` releases one Python action.

    Called in the kernel's order (last added, first released), from the
    unbinding thread with the device lock held. Never raises into C.
    """
    entry = _devres.pop(int(cookie), None)
    if entry is None:  # pragma: no cover - every cookie in C is registered
        return
    core, action, data = entry
    core.devres.pop(int(cookie), None)
    try:
        action(data)
    except Exception:
        log.exception("devres action of %s failed", core.name)


def _add_devres(core: _DeviceCore, action: Callable[[Any], None], data: Any) -> int:
    """``devm_add_action(core's device, action, data)`` as a C devres entry;
    its cookie (for :func:`_remove_devres`)."""
    cookie = next(_devres_ids)
    _devres[cookie] = (core, action, data)
    core.devres[cookie] = (action, data)
    rc = lib.pfl_devm_add_action(core.ptr, cookie)
    if rc:
        _devres.pop(cookie, None)
        core.devres.pop(cookie, None)
        raise Error(-rc, f"devm_add_action on {core.name}")
    return cookie


def _remove_devres(core: _DeviceCore, cookie: int) -> bool:
    """Forget the devres entry ``cookie`` of ``core`` without running it;
    True if it was still registered (``devres_remove()``)."""
    with core.lock:
        if not core.alive:
            return False
        removed = lib.pfl_devm_remove_action(core.ptr, cookie)
    if removed:
        _devres.pop(cookie, None)
        core.devres.pop(cookie, None)
        return True
    return False


class Device(NoCopy, Generic[Ctx]):
    """A view of a ``struct device`` in context ``Ctx``; see the module
    documentation.

    Views are made by buses (e.g. :mod:`pyforlinux.auxiliary`), not by
    drivers. Two views are the same device iff :meth:`same_device`.

    Rust: ``kernel::device::Device<Ctx>``
    """

    __slots__ = ("_core", "_ctx", "_gen")

    def __init__(self, core: _DeviceCore, ctx: type[DeviceContext], gen: int) -> None:
        self._core = core
        self._ctx = ctx
        self._gen = gen

    # -- checks -----------------------------------------------------------
    def _check(self) -> _DeviceCore:
        core = self._core
        if not core.alive:
            raise Error(code.ENODEV, f"device {core.name} has been released")
        if issubclass(self._ctx, Bound) and (not core.bound or core.bind_gen != self._gen):
            raise Error(code.ENODEV, f"device {core.name} is no longer bound (stale bound view)")
        return core

    # -- identity ---------------------------------------------------------
    def name(self) -> str:
        """The device name (``dev_name()``), e.g. ``"NovaCore.nova-drm.0"``."""
        return self._core.name

    def same_device(self, other: Device[Any]) -> bool:
        """True if ``other`` is a view of the same ``struct device``."""
        return self._core is other._core

    @property
    def context(self) -> type[DeviceContext]:
        """The context class of this view (Normal, Bound or Core)."""
        return self._ctx

    def is_bound(self) -> bool:
        """Whether the device is bound to a driver now (any view)."""
        return self._core.alive and self._core.bound

    def parent(self) -> Device[Normal] | None:
        """The parent device, as a Normal view, or ``None``."""
        p = self._core.parent
        return None if p is None else Device(p, Normal, 0)

    def bound_parent(self: Device[Bound]) -> Device[Bound]:
        """The parent as a :class:`Bound` view: a bound child implies a bound
        parent (the parent's driver unbinds its children first).

        Raises:
            Error: ``ENODEV`` if there is no bound parent.
        """
        self._check()
        p = self._core.parent
        if p is None or not p.bound:
            raise Error(code.ENODEV, f"device {self._core.name} has no bound parent")
        return Device(p, Bound, p.bind_gen)

    def as_raw(self) -> Any:
        """The ``struct device *`` (cffi pointer), valid while the device lives.

        Raises:
            Error: ``ENODEV`` if the device was released or the bound view is stale.
        """
        return self._check().ptr

    # -- context conversions ----------------------------------------------
    def as_bound(self: Device[Bound]) -> Device[Bound]:
        """This view as :class:`Bound` (a :class:`Core` view is also bound)."""
        self._check()
        return type(self)(self._core, Bound, self._gen)

    def as_normal(self) -> Device[Normal]:
        """This view as :class:`Normal` (not counted: see :meth:`inc_ref`)."""
        return cast("Device[Normal]", type(self)(self._core, Normal, 0))

    # -- reference counting (Normal only) ---------------------------------
    def inc_ref(self) -> None:
        """Take a reference (``get_device()``); ``AlwaysRefCounted``.

        Raises:
            Error: ``EINVAL`` on a Bound/Core view (only Normal is counted);
                ``ENODEV`` if the device was released.
        """
        if self._ctx is not Normal:
            raise Error(code.EINVAL, "only Device[Normal] is reference counted")
        self._core.get()

    def dec_ref(self) -> None:
        """Drop a reference (``put_device()``); the last one releases it.

        Raises:
            Error: ``EINVAL`` on a Bound/Core view, or if it would drop the
                reference the device's bus registration holds.
        """
        if self._ctx is not Normal:
            raise Error(code.EINVAL, "only Device[Normal] is reference counted")
        self._core.put()

    def refcount(self) -> int:
        """The ``struct device``'s kobject reference count (0 once released)."""
        core = self._core
        with core.lock:
            return int(lib.pfl_dev_refcount(core.ptr)) if core.alive else 0

    # -- driver data ------------------------------------------------------
    def drvdata(self: Device[Bound], kind: type[T]) -> T:
        """The bound driver's data, checked to be a ``kind``.

        Raises:
            Error: ``ENODEV`` if not bound (stale view); ``ENOENT`` if the
                driver set none; ``EINVAL`` if it is not a ``kind``.
        """
        core = self._check()
        data = core.drvdata
        if data is None:
            raise Error(code.ENOENT, f"device {core.name} has no driver data")
        if not isinstance(data, kind):
            raise Error(code.EINVAL, f"driver data of {core.name} is not a {kind.__name__}")
        return data

    # -- device resources ---------------------------------------------------
    def devm_add_action(self: Device[Bound], action: Callable[[Any], None], data: Any) -> None:
        """Run ``action(data)`` when the device unbinds (``devm_add_action()``).

        The action is a devres entry of the C device: ``devres_release_all()``
        runs it, after the driver's remove, in reverse order of addition.

        Raises:
            Error: ``ENODEV`` if the view is stale (the device unbound);
                ``ENOMEM`` if the entry cannot be allocated.

        Thread context: any; never waits for the device lock (an unbind in
        progress may hold it): the devres list has its own lock
        (``dev->devres_lock``).
        """
        _add_devres(self._check(), action, data)

    def devm_remove_action(self, action: Callable[[Any], None], data: Any) -> bool:
        """Forget a registered action without running it; True if it was still
        registered (``devm_remove_action_nowarn()``: ``devres_remove()``)."""
        core = self._core
        for cookie, (a, d) in list(core.devres.items()):
            if a is action and d is data:
                return _remove_devres(core, cookie)
        return False

    # -- DMA ------------------------------------------------------------------
    @property
    def dma(self) -> DmaParms:
        """The device's DMA parameters (max segment size in bytes, mapper)."""
        return self._core.dma

    def __repr__(self) -> str:
        return f"<Device[{self._ctx.__name__}] {self._core.name}>"


@dataclass(frozen=True)
class DeviceInfo:
    """One registered ``struct device``, as a sysfs view would show it.

    ``path`` is the kobject path (``kobject_get_path()``, e.g.
    ``/devices/faux/nova-core-vgpu0``); ``bus``, ``class_name`` and
    ``driver`` are names or ``None``; ``devt`` is ``(major, minor)`` of a
    device with a device number, else ``None`` (``MAJOR()``/``MINOR()``:
    20-bit minor); ``refcount`` is the kobject's count at the time of the
    walk (including none of the walk's own).
    """

    name: str
    path: str
    parent: str | None
    bus: str | None
    class_name: str | None
    driver: str | None
    devt: tuple[int, int] | None
    refcount: int


def _cstr(p: Any) -> str | None:
    return None if p == ffi.NULL else ffi.string(p).decode()


def devices() -> Iterator[DeviceInfo]:
    """Every registered device of the driver core, parents before children
    (``devices_kset``, the order of /sys/devices).

    Each device is held (``get_device()``) while it is read; a device that
    is removed during the walk ends it early.

    C: ``devices_kset`` (drivers/base/core.c), via ``pfl_device_next()``.
    """
    dev = lib.pfl_device_next(ffi.NULL)
    try:
        while dev != ffi.NULL:
            path = lib.kobject_get_path(ffi.addressof(dev.kobj), lib.GFP_KERNEL)
            try:
                spath = _cstr(path) or ""
            finally:
                lib.pfl_kfree(path, 0)
            info = DeviceInfo(
                name=_cstr(lib.dev_name(dev)) or "",
                path=spath,
                parent=None if dev.parent == ffi.NULL else _cstr(lib.dev_name(dev.parent)),
                bus=_cstr(lib.pfl_dev_bus_name(dev)),
                class_name=_cstr(lib.pfl_dev_class_name(dev)),
                driver=_cstr(lib.pfl_dev_driver_name(dev)),
                devt=(int(dev.devt) >> 20, int(dev.devt) & 0xFFFFF) if dev.devt else None,
                refcount=int(lib.pfl_dev_refcount(dev)) - 1,
            )
            yield info
            dev = lib.pfl_device_next(dev)
    finally:
        if dev != ffi.NULL:
            lib.put_device(dev)


def find(name: str, bus: str | None = None) -> DeviceInfo | None:
    """The registered device named ``name`` (on ``bus`` if given), or ``None``."""
    for info in devices():
        if info.name == name and (bus is None or info.bus == bus):
            return info
    return None
