"""DRM files: one per open of a device node, with the client's data.

Mirrors ``rust/kernel/drm/file.rs``. :class:`File` is ``struct drm_file``:
it holds the driver's per-client :class:`DriverFile` (made by
``DriverFile.open(dev)``, given ``postclose()`` on close), the client's
GEM handle table -- a real ``struct idr`` under a real spinlock, handles
allocated from 1 as ``drm_gem_handle_create()`` does -- and the client's
identity: its node (primary or render), master/authenticated state and
credentials. Opening takes a use of the driver's module; closing releases
every handle, then the use.

Rust: rust/kernel/drm/file.rs. C header: include/drm/drm_file.h,
drivers/gpu/drm/drm_file.c
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int
from pyforlinux.cred import Credential
from pyforlinux.drm.driver import Driver
from pyforlinux.error import Error, code
from pyforlinux.uaccess import UserSpace

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.gem import Mapping

D = TypeVar("D", bound=Driver)
_TABLE_LOCK_NAME = ffi.new("char[]", b"drm_file.table_lock")
_TABLE_LOCK_KEY = ffi.new("struct lock_class_key *")


class DriverFile:
    """Base of a driver's per-client data (``drm::file::DriverFile``)."""

    Driver: ClassVar[type[Any]]

    @classmethod
    def open(cls, dev: Device[Any]) -> DriverFile:
        """Make the client's data when a file is opened."""
        return cls()

    def postclose(self, dev: Device[Any]) -> None:
        """The file is closed (its handles are already released)."""


class File(NoCopy, Generic[D]):
    """An open DRM file (``drm::File<T>``).

    ``node`` is the path opened (``/dev/dri/cardN`` or ``renderDN``);
    ``cred`` the client's credentials (default: the caller's); ``mm`` its
    user address space (default: a new one).

    Raises:
        Error: ``ENODEV`` if the device is unplugged or its module is going;
            ``EINVAL`` if ``node`` is not one of the device's nodes.
    """

    def __init__(self, dev: Device[D], node: str, cred: Credential | None = None,
                 mm: UserSpace | None = None) -> None:
        if node not in dev.nodes:
            raise Error(code.EINVAL, f"{node} is not a node of this device")
        self.dev = dev
        self.node = node
        self.cred = cred or Credential.current()
        self.mm = mm or UserSpace()
        # close() only drops the descriptor's reference; calls in flight
        # (ioctl, mmap) hold their own, and the last one out releases the
        # file, as the kernel's fget()/fput() defer drm_release() (a close
        # racing an ioctl used to leak the handles the ioctl created).
        self._closed = False  # close() was called: new calls get EBADF
        self._released = False  # the release ran: the handle table is gone
        self._refs = 1  # the descriptor's + one per call in flight
        self._close_lock = threading.Lock()
        module = dev.driver.THIS_MODULE
        if module is not None and not module.try_module_get():
            raise Error(code.ENODEV, f"module {module.name} is going away")
        self._module = module
        try:
            dev.inc_ref()  # ENODEV if the device was released since lookup_node()
        except BaseException:
            if module is not None:
                module.module_put()  # else the module could never be unloaded
            raise
        self._table: Any = None
        self._table_lock: Any = None
        try:
            with dev.enter():
                # The handle table: a real idr under a real spinlock.
                self._table_lock = ffi.new("spinlock_t *")
                lib.pfl_spin_lock_init(self._table_lock, _TABLE_LOCK_NAME, _TABLE_LOCK_KEY)
                self._table = ffi.new("struct idr *")
                lib.idr_init(self._table)
                self.driver_priv = dev.driver.File.open(dev)
                self.authenticated = False
                self._master = False
                if not self.is_render_client() and dev._claim_master(self):
                    self._master = True
                    self.authenticated = True
                dev.open_count += 1
        except BaseException:
            self._undo_open()
            raise

    def _undo_open(self) -> None:
        if self._table is not None:
            lib.idr_destroy(self._table)
        self.dev.dec_ref()
        if self._module is not None:
            self._module.module_put()

    # -- identity ------------------------------------------------------------
    def is_render_client(self) -> bool:
        """Opened through the render node (``drm_is_render_client()``)."""
        return "renderD" in self.node

    def is_master(self) -> bool:
        """The current DRM master (``drm_is_current_master()``)."""
        return self._master and self.dev.is_master(self)

    def inner(self) -> Any:
        """The driver's per-client data (``File::inner()``)."""
        self._check()
        return self.driver_priv

    def _check(self) -> None:
        if self._released:
            raise Error(code.EBADF, "DRM file is closed")

    def _get(self) -> bool:
        """``fget()``: a reference for a call, unless the file was closed."""
        with self._close_lock:
            if self._closed:
                return False
            self._refs += 1
            return True

    def _put(self) -> None:
        """``fput()``: the last reference releases the file."""
        with self._close_lock:
            self._refs -= 1
            last = self._refs == 0
        if last:
            self._release()

    # -- the handle table ---------------------------------------------------------
    def handle_alloc(self, raw: Any) -> int:
        """Enter ``raw`` (a GEM object's C handle) in the table; handles from 1.

        Raises:
            Error: ``ENOMEM``/``ENOSPC`` from ``idr_alloc()``.
        """
        self._check()
        lib.idr_preload(lib.GFP_KERNEL)
        lib.pfl_spin_lock(self._table_lock, 0, 0)
        try:
            ret = lib.idr_alloc(self._table, raw, 1, 0, lib.GFP_NOWAIT)
        finally:
            lib.pfl_spin_unlock(self._table_lock, 0)
            lib.idr_preload_end()
        if ret < 0:
            raise Error.from_errno(ret)
        return int(ret)

    def handle_lookup(self, handle: int) -> Any:
        """The C handle entered for ``handle``, or ``NULL``."""
        self._check()
        if not 0 < handle < 2**31:
            return ffi.NULL
        lib.pfl_spin_lock(self._table_lock, 0, 0)
        try:
            return lib.idr_find(self._table, handle)
        finally:
            lib.pfl_spin_unlock(self._table_lock, 0)

    def handle_remove(self, handle: int) -> Any:
        """Take ``handle`` out of the table; the C handle it had, or ``NULL``."""
        self._check()
        if not 0 < handle < 2**31:
            return ffi.NULL
        lib.pfl_spin_lock(self._table_lock, 0, 0)
        try:
            return lib.idr_remove(self._table, handle)
        finally:
            lib.pfl_spin_unlock(self._table_lock, 0)

    def handles(self) -> list[int]:
        """Every handle in the table, ascending."""
        self._check()
        out = []
        ident = ffi.new("int *", 0)
        lib.pfl_spin_lock(self._table_lock, 0, 0)
        try:
            while lib.idr_get_next(self._table, ident) != ffi.NULL:
                out.append(int(ident[0]))
                ident[0] += 1
        finally:
            lib.pfl_spin_unlock(self._table_lock, 0)
        return out

    # -- ioctl and mmap -------------------------------------------------------------
    def ioctl(self, cmd: int, arg: bytearray) -> int:
        """``drm_ioctl()`` on this file: the result, or ``-errno``."""
        from pyforlinux.drm.ioctl import drm_ioctl

        # Plain values before anything is checked (a caller's __index__ or
        # bytes-like runs here, not in the middle of the ioctl).
        cmd = arg_int(cmd, "ioctl cmd", 0, (1 << 32) - 1)
        buf = arg if type(arg) is bytearray else bytearray(arg_bytes(arg, "ioctl argument"))
        if not self._get():
            return -code.EBADF
        try:
            return drm_ioctl(self.dev, self, cmd, buf)
        finally:
            self._put()
            if buf is not arg and isinstance(arg, bytearray):
                arg[:] = buf  # the caller's own bytearray subclass gets the result

    def mmap(self, offset: int, length: int) -> Mapping:
        """Map ``length`` bytes of the object at mmap ``offset`` (``drm_gem_mmap()``).

        Raises:
            Error: ``EINVAL`` no object there or the range exceeds it;
                ``EACCES`` the file has no handle to the object;
                ``ENODEV`` the device is unplugged.
        """
        from pyforlinux.drm import gem

        offset = arg_int(offset, "mmap offset")
        length = arg_int(length, "mmap length")

        if not self._get():
            raise Error(code.EBADF, "DRM file is closed")
        try:
            with self.dev.enter():
                return gem.mmap(self, offset, length)
        finally:
            self._put()

    # -- release ---------------------------------------------------------------------
    def close(self) -> None:
        """``close(2)``: drop the descriptor's reference; idempotent. The
        release -- handles, ``postclose``, the module use and the device
        reference (``drm_release()``) -- runs now, or when the last ioctl or
        mmap still in flight on another thread returns."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._put()

    def _release(self) -> None:
        """``drm_release()``: every handle, ``postclose``, the master, the
        module use and the device reference; the first error is raised after
        all of it ran."""
        from pyforlinux.drm import gem

        errors: list[BaseException] = []
        for handle in self.handles():
            try:
                gem.handle_delete(self, handle)
            except Exception as e:  # a driver's close(); the others still go
                errors.append(e)
        self._released = True
        try:
            self.driver_priv.postclose(self.dev)
        finally:
            self.dev._drop_master(self)
            self.dev.open_count -= 1
            self._undo_open()
        if errors:
            raise errors[0]

    def __enter__(self) -> File[D]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
