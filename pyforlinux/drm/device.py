"""The DRM device.

Mirrors ``rust/kernel/drm/device.rs``: a :class:`Device` is a reference-
counted ``struct drm_device`` carrying the driver's data, created for a
bound parent device (:meth:`Device.new`). The DRM core's own ioctls
(``DRM_IOCTL_VERSION``, ``DRM_IOCTL_GEM_CLOSE``) are answered here; the
driver's come from its table. Each device also holds the mmap offset
manager of its GEM objects (on a real ``struct xarray``).

Rust: rust/kernel/drm/device.rs. C header: include/drm/drm_device.h,
drivers/gpu/drm/drm_drv.c, drm_ioctl.c (drm_version), drm_gem.c
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.device import Bound, Normal
from pyforlinux.device import Device as BusDevice
from pyforlinux.drm import ioctl as drm_ioctl_mod
from pyforlinux.drm.driver import Driver
from pyforlinux.drm.ioctl import RENDER_ALLOW, IoctlDesc
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef
from pyforlinux.uaccess import UserSlice

if TYPE_CHECKING:
    from pyforlinux.drm.file import File

D = TypeVar("D", bound=Driver)


class IoctlStats:
    """Per-ioctl call and error counts, for reports."""

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


class Device(NoCopy, Generic[D]):
    """A DRM device of driver ``D`` with its data (``drm::Device<T>``).

    Counted: :meth:`inc_ref`/:meth:`dec_ref` (an ``ARef``); the creator
    holds the first reference. The data is released (its ``close()``)
    with the last reference.

    Rust: ``kernel::drm::Device<T>``
    """

    def __init__(self, driver: type[D], parent: BusDevice[Bound], data: Any) -> None:
        parent._check()
        self.driver = driver
        self.parent: BusDevice[Normal] = parent.as_normal()
        self.data = data
        self.registered = False
        self.unplugged = False
        self.nodes: list[str] = []
        self.stats = IoctlStats()
        self._refs = 1
        self._lock = threading.Condition()
        self._active = 0  # ioctls inside drm_dev_enter()
        self._master: File[Any] | None = None
        self.open_count = 0
        # The GEM mmap offset manager: a real xarray of object ids.
        self._vma = ffi.new("struct xarray *")
        lib.xa_init_flags(self._vma, lib.XA_FLAGS_ALLOC1)
        self.gem_objects: dict[int, Any] = {}  # C handle address -> gem.Object

    @classmethod
    def new(cls, driver: type[D], parent: BusDevice[Bound], data: Any) -> ARef[Device[D]]:
        """A new DRM device of ``driver`` for ``parent`` (``drm_dev_alloc()``),
        not yet registered, as the caller's reference.

        Raises:
            Error: ``ENODEV`` if ``parent`` is a stale bound view.
        """
        return ARef.from_raw(cls(driver, parent, data))

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
        """``drm_dev_get()``."""
        with self._lock:
            if self._refs <= 0:
                raise Error(code.ENODEV, "DRM device already released")
            self._refs += 1

    def dec_ref(self) -> None:
        """``drm_dev_put()``; the last reference releases the device."""
        with self._lock:
            if self._refs <= 0:
                raise Error(code.EINVAL, "DRM device reference count underflow")
            self._refs -= 1
            last = self._refs == 0
        if last:
            self._release()

    def _release(self) -> None:
        lib.xa_destroy(self._vma)
        data, self.data = self.data, None
        close = getattr(data, "close", None)
        if callable(close):
            close()

    # -- drm_dev_enter / unplug ---------------------------------------------
    @contextmanager
    def enter(self) -> Iterator[None]:
        """``drm_dev_enter()``/``drm_dev_exit()``: run while not unplugged.

        Raises:
            Error: ``ENODEV`` if the device has been unplugged.
        """
        with self._lock:
            if self.unplugged:
                raise Error(code.ENODEV, "DRM device is unplugged")
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if not self._active:
                    self._lock.notify_all()

    def unplug(self) -> None:
        """``drm_dev_unplug()``: refuse new entries, wait for those inside."""
        with self._lock:
            self.unplugged = True
            while self._active:
                self._lock.wait()

    # -- files -------------------------------------------------------------
    def open(self, node: str, cred: Any = None, mm: Any = None) -> File[D]:
        """Open the device through ``node`` (``drm_open()``); see :class:`File`."""
        from pyforlinux.drm.file import File

        return File(self, node, cred, mm)

    def _claim_master(self, file: File[Any]) -> bool:
        with self._lock:
            if self._master is None:
                self._master = file
                return True
            return False

    def _drop_master(self, file: File[Any]) -> None:
        with self._lock:
            if self._master is file:
                self._master = None

    def is_master(self, file: File[Any]) -> bool:
        """Whether ``file`` is the current DRM master."""
        return self._master is file

    # -- ioctl tables --------------------------------------------------------
    def driver_ioctls(self) -> tuple[IoctlDesc, ...]:
        """The driver's ioctl table."""
        return self.driver.IOCTLS

    def core_ioctls(self) -> dict[int, IoctlDesc]:
        """The DRM core's ioctls, by number."""
        return _CORE_IOCTLS

    # -- GEM mmap offsets ------------------------------------------------------
    def vma_offset_add(self, handle: Any) -> int:
        """Give an object's C handle an mmap offset range (4 GiB apart), bytes."""
        ident = ffi.new("u32 *")
        limit = ffi.new("struct xa_limit *", {"min": 1, "max": 0xFFFFF})
        ret = lib.xa_alloc(self._vma, ident, handle, limit[0], lib.GFP_KERNEL)
        if ret < 0:
            raise Error.from_errno(ret)
        return (_VMA_START + (int(ident[0]) << 20)) << 12

    def vma_offset_remove(self, offset: int) -> None:
        """Free an mmap offset."""
        lib.xa_erase(self._vma, ((offset >> 12) - _VMA_START) >> 20)

    def vma_lookup(self, offset: int) -> Any:
        """The object (``gem.Object``) whose range holds ``offset``, bytes.

        Raises:
            Error: ``EINVAL`` if no object is mapped there.
        """
        pages = (offset >> 12) - _VMA_START
        if offset < 0 or pages < 0:
            raise Error(code.EINVAL, f"mmap offset {offset:#x} is not a GEM offset")
        raw = lib.xa_load(self._vma, pages >> 20)
        if raw == ffi.NULL:
            raise Error(code.EINVAL, f"no GEM object at mmap offset {offset:#x}")
        obj = self.gem_objects.get(int(ffi.cast("uintptr_t", raw)))
        if obj is None:
            raise Error(code.EINVAL, f"no GEM object at mmap offset {offset:#x}")
        return obj, offset - ((_VMA_START + (pages >> 20 << 20)) << 12)


# DRM_FILE_PAGE_OFFSET_START (include/drm/drm_vma_manager.h, 64-bit), in pages.
_VMA_START = (0xFFFFFFFF >> 12) + 1


def _copy_field(file: File[Any], uaddr: int, ulen: int, value: str) -> int:
    """``drm_copy_field()``: copy up to ``ulen`` bytes, report the full length."""
    raw = value.encode()
    n = min(ulen, len(raw))
    if n and uaddr:
        UserSlice(file.mm, uaddr, n).write_slice(raw[:n])
    return len(raw)


def drm_version(dev: Device[Any], v: Any, file: File[Any]) -> int:
    """``DRM_IOCTL_VERSION`` (``drm_version()``): the driver's version and
    names, copied to the caller's buffers; lengths report the full size.

    Raises:
        Error: ``EFAULT`` if a buffer is not the caller's memory.
    """
    info = dev.driver.INFO
    v.version_major = info.major
    v.version_minor = info.minor
    v.version_patchlevel = info.patchlevel
    name_ptr = int(ffi.cast("uintptr_t", v.name))
    date_ptr = int(ffi.cast("uintptr_t", v.date))
    desc_ptr = int(ffi.cast("uintptr_t", v.desc))
    v.name_len = _copy_field(file, name_ptr, int(v.name_len), info.name)
    v.date_len = _copy_field(file, date_ptr, int(v.date_len), info.date)
    v.desc_len = _copy_field(file, desc_ptr, int(v.desc_len), info.desc)
    return 0


def drm_gem_close_ioctl(dev: Device[Any], args: Any, file: File[Any]) -> int:
    """``DRM_IOCTL_GEM_CLOSE``: drop a handle (``drm_gem_handle_delete()``).

    Raises:
        Error: ``EINVAL`` for a handle the file does not have (as the kernel).
    """
    from pyforlinux.drm import gem

    gem.handle_delete(file, int(args.handle))
    return 0


def drm_mode_mmap_dumb_ioctl(dev: Device[Any], args: Any, file: File[Any]) -> int:
    """``DRM_IOCTL_MODE_MAP_DUMB``: the fake mmap offset of a handle's object
    (``drm_gem_dumb_map_offset()``).

    pyforlinux's DRM core answers it for every GEM driver (the kernel only
    for drivers with dumb buffers): it is how a client finds where to map
    an object, e.g. a Nova one.

    Raises:
        Error: ``ENOENT`` for a handle the file does not have.
    """
    from pyforlinux.drm import gem

    with gem.Object.lookup_handle(file, int(args.handle)) as obj:
        args.offset = obj.deref().create_mmap_offset()
    return 0


_CORE_IOCTLS = {
    drm_ioctl_mod.ioc_nr(lib.DRM_IOCTL_VERSION): IoctlDesc(
        int(lib.DRM_IOCTL_VERSION) & 0xFFFFFFFF, "struct drm_version", RENDER_ALLOW,
        drm_version, "VERSION"),
    drm_ioctl_mod.ioc_nr(lib.DRM_IOCTL_GEM_CLOSE): IoctlDesc(
        int(lib.DRM_IOCTL_GEM_CLOSE) & 0xFFFFFFFF, "struct drm_gem_close", RENDER_ALLOW,
        drm_gem_close_ioctl, "GEM_CLOSE"),
    drm_ioctl_mod.ioc_nr(lib.DRM_IOCTL_MODE_MAP_DUMB): IoctlDesc(
        int(lib.DRM_IOCTL_MODE_MAP_DUMB) & 0xFFFFFFFF, "struct drm_mode_map_dumb", 0,
        drm_mode_mmap_dumb_ioctl, "MODE_MAP_DUMB"),
}
