"""The generic device, with its contexts, driver data and device resources.

Mirrors ``rust/kernel/device.rs``. A :class:`Device` is a view of one
device core (the ``struct device``), typed by the context the caller is
in:

* :class:`Normal` -- any reference; the only context that is reference
  counted (:meth:`Device.inc_ref` / :meth:`Device.dec_ref`, so an
  ``ARef[Device[Normal]]`` keeps the device alive);
* :class:`Bound` -- the device is bound to a driver for as long as the view
  is used: such views are handed to probe/remove and to code holding a
  bound device, and become invalid (``ENODEV``) once the device unbinds;
* :class:`Core` -- inside a bus callback (probe, remove) with the device
  lock held; :class:`Core` implies :class:`Bound`, which implies
  :class:`Normal` (``dev.as_bound()``, ``dev.as_normal()``).

mypy checks the context (``Device[Bound]`` where a bound device is needed);
the runtime checks that a bound view is used while its binding lasts.

Device resources (devres): :meth:`Device.devm_add_action` registers a
release action that runs, in reverse order of registration, when the
device unbinds -- after the driver's remove and before the unbind
completes (``devres_release_all()``). :mod:`pyforlinux.devres` builds on it.

Rust: rust/kernel/device.rs. C header: include/linux/device.h
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pyforlinux._owner import NoCopy, run_all
from pyforlinux.error import Error, code


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

_ids = itertools.count(1)


@dataclass
class DmaParms:
    """A device's DMA parameters (``struct device_dma_parameters``).

    ``max_segment_size`` is in bytes (the kernel's default is 64 KiB);
    ``mapper`` is the device's DMA mapping backend, set by
    :mod:`pyforlinux.dma` (``None``: dma-direct, DMA address = physical).
    """

    max_segment_size: int = 65536
    mapper: Any = None


class _DeviceCore:
    """The state of one ``struct device``; shared by all its views."""

    def __init__(self, name: str, parent: _DeviceCore | None, bus: str) -> None:
        self.id = next(_ids)
        self.name = name
        self.parent = parent
        self.bus = bus
        self.refcount = 1  # the creator's (bus registration's) reference
        self.alive = True
        self.lock = threading.RLock()  # device_lock(): serialises bind/unbind
        self.driver: Any = None
        self.drvdata: Any = None
        self.bind_gen = 0  # incremented at each bind and unbind
        self.bound = False
        # The devres list has its own lock, as the kernel's dev->devres_lock:
        # an ioctl inside drm_dev_enter() may add a resource (Nova's VRAM)
        # while the unbind, holding the device lock, waits for that ioctl to
        # leave (drm_dev_unplug); with one lock for both they deadlocked.
        self.devres_lock = threading.Lock()
        self.devres: list[tuple[Callable[[Any], None], Any]] = []
        self.devres_released_gen = -1  # bind_gen whose devres_release_all() ended
        self.dma = DmaParms()
        self.release_hooks: list[Callable[[], None]] = []

    def get(self) -> None:
        with self.lock:
            if self.refcount <= 0:
                raise Error(code.ENODEV, f"device {self.name} has been released")
            self.refcount += 1

    def put(self) -> None:
        with self.lock:
            if self.refcount <= 0:
                raise Error(code.EINVAL, f"device {self.name}: reference count underflow")
            self.refcount -= 1
            if self.refcount:
                return
            self.alive = False
            hooks, self.release_hooks = self.release_hooks, []
        for hook in reversed(hooks):
            hook()


class Device(NoCopy, Generic[Ctx]):
    """A view of a device in context ``Ctx``; see the module documentation.

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

    # -- context conversions ----------------------------------------------
    def as_bound(self: Device[Bound]) -> Device[Bound]:
        """This view as :class:`Bound` (a :class:`Core` view is also bound)."""
        self._check()
        return type(self)(self._core, Bound, self._gen)

    def as_normal(self) -> Device[Normal]:
        """This view as :class:`Normal` (not counted: see :meth:`inc_ref`)."""
        # The same view class (e.g. an auxiliary device), in the Normal context.
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
        """Drop a reference (``put_device()``); the last one releases it."""
        if self._ctx is not Normal:
            raise Error(code.EINVAL, "only Device[Normal] is reference counted")
        self._core.put()

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

        Raises:
            Error: ``ENODEV`` if the view is stale, or the unbind has already
                released the device's resources.

        Thread context: any; never waits for the device lock (an unbind in
        progress may hold it).
        """
        core = self._check()
        with core.devres_lock:
            if core.devres_released_gen == self._gen:
                raise Error(code.ENODEV, f"device {core.name} is unbinding "
                                         "(its resources were released)")
            core.devres.append((action, data))

    def devm_remove_action(self, action: Callable[[Any], None], data: Any) -> bool:
        """Forget a registered action without running it; True if found
        (``devm_remove_action_nowarn()``)."""
        core = self._core
        with core.devres_lock:
            for i in range(len(core.devres) - 1, -1, -1):
                a, d = core.devres[i]
                if a is action and d is data:
                    del core.devres[i]
                    return True
        return False

    # -- DMA ------------------------------------------------------------------
    @property
    def dma(self) -> DmaParms:
        """The device's DMA parameters (max segment size in bytes, mapper)."""
        return self._core.dma

    def __repr__(self) -> str:
        return f"<Device[{self._ctx.__name__}] {self._core.name}>"


def _release_devres(core: _DeviceCore) -> None:
    """Run the device's devres actions in reverse order (``devres_release_all``).

    Actions added while it runs (by code the running actions wait for) are
    run too; once the list is empty, adding to this binding fails (ENODEV).
    """
    def actions() -> Iterator[Callable[[], object]]:
        while True:
            with core.devres_lock:
                if not core.devres:
                    core.devres_released_gen = core.bind_gen
                    return
                action, data = core.devres.pop()
            yield functools.partial(action, data)

    # An action that raises does not stop the others (run_all raises it last).
    run_all(actions(), f"devres of {core.name}")
