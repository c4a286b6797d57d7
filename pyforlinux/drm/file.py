"""DRM files: one per open of a device node, with the client's data.

Mirrors ``rust/kernel/drm/file.rs``. :class:`File` is a C
``struct drm_file``, made by the DRM core's ``drm_open()`` for each open
of a node; its driver data -- the driver's :class:`DriverFile`, made by
``DriverFile.open(dev)`` from ``drm_driver.open`` (``File::open_callback``)
-- is kept in ``drm_file.driver_priv`` and given ``postclose()`` from
``drm_driver.postclose`` after the core released the file's handles. The
handle table, master/authentication state, the client's pid and the
release on the last ``fput()`` are the core's C.

The process side (what h12's bridge and :mod:`pyforlinux.drm.client` call),
see :class:`OpenFile`: :func:`open_node` opens a node as a process would
(``open(2)`` through the char device registry: ``drm_stub_open()`` then
``drm_open()``), :meth:`OpenFile.ioctl` is ``ioctl(2)`` (the real
``drm_ioctl()``, with a user address), :meth:`OpenFile.mmap` is ``mmap(2)``
(``drm_gem_mmap()``), :meth:`OpenFile.close` is ``close(2)`` (``fput()``:
``drm_release()`` once no call or mapping holds the file).

Rust: rust/kernel/drm/file.rs. C header: include/drm/drm_file.h,
drivers/gpu/drm/drm_file.c
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import S64_MIN, U64_MAX, NoCopy, addr_of, addr_of_ptr, arg_int
from pyforlinux.drm.device import Device
from pyforlinux.drm.driver import Driver, node_minor
from pyforlinux.error import Error, code, from_err_ptr, syscall_exit_errno

if TYPE_CHECKING:
    from pyforlinux.drm.gem import Mapping

D = TypeVar("D", bound=Driver)
log = logging.getLogger("pyforlinux.drm")

_files_lock = threading.Lock()
_files: dict[int, File[Any]] = {}  # struct drm_file address -> File






class DriverFile:
    """Base of a driver's per-client data (``drm::file::DriverFile``)."""

    Driver: ClassVar[type[Any]]

    @classmethod
    def open(cls, dev: Device[Any]) -> DriverFile:
        """Make the client's data when a file is opened.

        Raises:
            Error: refuses the open with its errno.
        """
        return cls()

    def postclose(self, dev: Device[Any]) -> None:
        """The file is closed (its handles are already released)."""


class File(NoCopy, Generic[D]):
    """An open DRM file (``drm::File<T>``): a ``struct drm_file``.

    Made by the core's open (never by callers); valid until its
    ``postclose``, after which every method raises ``EBADF``.

    Rust: ``kernel::drm::File<T>``
    """

    def __init__(self, dev: Device[D], raw: Any) -> None:
        self.dev = dev
        self._raw: Any = raw
        self._priv: Any = None  # ffi.new_handle() of the driver data, in raw.driver_priv

    @staticmethod
    def from_raw(raw: Any) -> File[Any]:
        """The :class:`File` of a C ``struct drm_file *`` (``File::from_raw``).

        Raises:
            Error: ``EBADF`` if it is not an open pyforlinux DRM file.
        """
        # One dict read, atomic under the GIL: no lock (writers hold
        # _files_lock among themselves).
        f = _files.get(addr_of(raw))
        if f is None:
            raise Error(code.EBADF, "not an open pyforlinux DRM file")
        return f

    def as_raw(self) -> Any:
        """The C ``struct drm_file *``.

        Raises:
            Error: ``EBADF`` after the file's release.
        """
        raw = self._raw
        if raw is None:
            raise Error(code.EBADF, "DRM file is closed")
        return raw

    def inner(self) -> Any:
        """The driver's per-client data (``File::inner()``), from ``driver_priv``.

        Raises:
            Error: ``EBADF`` after the file's release.
        """
        return ffi.from_handle(self.as_raw().driver_priv)

    def is_render_client(self) -> bool:
        """Opened through the render node (``drm_is_render_client()``)."""
        return bool(lib.pfl_drm_file_is_render_client(self.as_raw()))

    def is_master(self) -> bool:
        """The current DRM master (``drm_is_current_master()``)."""
        return bool(lib.pfl_drm_file_is_master(self.as_raw()))

    def authenticated(self) -> bool:
        """``drm_file.authenticated``."""
        return bool(lib.pfl_drm_file_authenticated(self.as_raw()))


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_open(raw_dev: Any, raw_file: Any) -> int:
    """``drm_driver.open`` (``File::open_callback``): take a use of the
    driver's module (``ENODEV`` if it is going, as ``fops_get()``), make
    the driver's data, keep it in ``driver_priv``."""
    try:
        dev = Device.from_raw(raw_dev)
        module = dev.driver.THIS_MODULE
        if module is not None and not module.try_module_get():
            return -code.ENODEV
        try:
            f: File[Any] = File(dev, raw_file)
            data = dev.driver.File.open(dev)
            f._priv = ffi.new_handle(data)
            raw_file.driver_priv = f._priv
            with _files_lock:
                _files[addr_of_ptr(raw_file)] = f
        except BaseException:
            if module is not None:
                module.module_put()
            raise
        return 0
    except Error as e:
        return e.to_errno()
    except Exception:
        log.exception("drm_driver.open: driver bug")
        return -code.EIO


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_postclose(raw_dev: Any, raw_file: Any) -> None:
    """``drm_driver.postclose`` (``File::postclose_callback``): the core
    released the file's handles; drop the driver's data and the module use."""
    with _files_lock:
        f = _files.pop(addr_of_ptr(raw_file), None)
    if f is None:
        return
    try:
        data = ffi.from_handle(raw_file.driver_priv)
        raw_file.driver_priv = ffi.NULL
        f._raw = None
        data.postclose(f.dev)
    except Exception:
        log.exception("drm_driver.postclose: driver bug")
    finally:
        f._priv = None
        module = f.dev.driver.THIS_MODULE
        if module is not None:
            module.module_put()


class OpenFile(NoCopy):
    """An open DRM node as a process holds it (a ``struct file *``).

    The entry points of a process: :func:`open_node`, :meth:`ioctl`,
    :meth:`mmap`, :meth:`close`. Each runs as the calling thread's task
    (``current``: its pid, credentials and user memory) -- a bridge serving
    another process runs them as that process's task.
    """

    def __init__(self, filp: Any) -> None:
        self._filp: Any = filp
        self._lock = threading.Lock()
        self.file: File[Any] = File.from_raw(lib.pfl_drm_file_of(filp))

    def _get(self) -> Any:
        """``fget()``: the file with a reference for one call.

        Raises:
            Error: ``EBADF`` after :meth:`close`.
        """
        with self._lock:
            if self._filp is None:
                raise Error(code.EBADF, "file descriptor is closed")
            return lib.get_file(self._filp)

    def ioctl(self, cmd: int, arg: int) -> int:
        """``ioctl(2)``: the real ``drm_ioctl()`` with ``arg`` a user address
        of the calling task; the result, or ``-errno``. A handler's
        interruptible wait ended by a signal (``ERESTARTSYS``) gives
        ``-EINTR`` with the signal delivered, as the syscall exit does
        (:func:`pyforlinux.error.syscall_exit_errno`).

        Raises:
            Error: ``EINVAL`` (an :class:`~pyforlinux._owner.ArgTypeError`)
                if ``cmd`` or ``arg`` is not an integer or out of range
                (converted before the file is looked at).

        Thread context: any thread, no locks held; handlers may sleep.
        """
        # Plain values first: a caller's __index__/__and__ runs here, never
        # between the fget() and the C ioctl.
        cmd = arg_int(cmd, "ioctl cmd", S64_MIN, U64_MAX) & 0xFFFFFFFF
        arg = arg_int(arg, "ioctl arg")
        return self._ioctl(cmd, arg, ffi.NULL, ffi.NULL, ffi.NULL, 0)

    def _ioctl(self, cmd: int, arg: int, mm: Any, cred: Any, buf: Any, length: int) -> int:
        """:meth:`ioctl` with ``cmd`` and ``arg`` already plain ints in range
        (``cmd`` masked to 32 bits), run by ``pfl_drm_ioctl_as()``: as the
        task whose user memory is ``mm`` (a ``struct pfl_mm *``, or NULL for
        the calling thread's) and credentials ``cred`` (a ``struct cred *``,
        or NULL); with ``buf`` (a ``char[]`` of at least ``length`` bytes,
        with ``mm``) the argument is staged in a fresh mapping of ``mm``
        whose address replaces ``arg``, and ``buf`` gets the bytes there
        after the call (``-ENOMEM`` if no mapping could be made).
        The one ioctl(2) path of :class:`OpenFile` and
        :class:`~pyforlinux.drm.client.Client`."""
        try:
            filp = self._get()
        except Error as e:
            return e.to_errno()
        # SAFETY: filp holds the reference _get() took, which the C drops
        # (fput() after the call, as the task); mm and cred are live (the
        # callers' objects hold them); buf holds length bytes.
        ret: int = lib.pfl_drm_ioctl_as(filp, cmd, arg, mm, cred, buf, length)
        # The syscall exit: ERESTARTSYS & co never reach userspace (EINTR).
        return -syscall_exit_errno(ret) if ret < 0 else ret

    def mmap(self, offset: int, length: int, writable: bool = True) -> Mapping:
        """``mmap(2)`` of ``length`` bytes at the fake ``offset`` (``drm_gem_mmap()``).

        Raises:
            Error: ``EINVAL`` no object starts there, the range exceeds it,
                the offset is unaligned or the length 0; ``EACCES`` the file
                has no handle to the object; ``ENODEV`` the device is
                unplugged; ``EBADF`` after :meth:`close`.
        """
        from pyforlinux.drm.gem import Mapping

        offset = arg_int(offset, "mmap offset")
        length = arg_int(length, "mmap length")
        writable = bool(writable)  # user __bool__ runs before the file is held
        filp = self._get()
        try:
            vma = from_err_ptr(lib.pfl_drm_mmap(filp, offset, length, 1 if writable else 0))
        finally:
            lib.fput(filp)
        return Mapping(vma, length)

    def mmap_object_at(self, offset: int) -> tuple[int, int] | None:
        """``(mmap offset, size)`` in bytes of the object whose offset range
        covers the fake ``offset`` on this file's device
        (``drm_vma_offset_lookup_locked()``), or None. A mapping must start at
        the object (``drm_gem_mmap()`` looks offsets up exactly): this finds
        where, e.g. for a page-cache fill at any page of a node. No access
        check: :meth:`mmap` makes it.

        Raises:
            Error: ``EBADF`` after :meth:`close`.
        """
        offset = arg_int(offset, "mmap offset", S64_MIN, 1 << 64)
        if not 0 <= offset < 2**64:
            return None
        size = ffi.new("u64 *")
        filp = self._get()
        try:
            start = int(lib.pfl_drm_mmap_lookup(filp, offset, size))
        finally:
            lib.fput(filp)
        return (start, int(size[0])) if start else None

    def close(self) -> None:
        """``close(2)``: drop the descriptor's reference; idempotent. The
        release (``drm_release()``: handles, ``postclose``, the module use
        and the device reference) runs now, or when the last ioctl or
        mapping still holding the file lets go."""
        with self._lock:
            filp, self._filp = self._filp, None
        if filp is not None:
            lib.fput(filp)

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_node(path: str, flags: int = 2) -> OpenFile:
    """``open(2)`` of a DRM node (``/dev/dri/card0``, ``/dev/dri/renderD128``)
    as the calling task: the C char device ``DRM_MAJOR:minor`` (``drm_stub_open()``,
    ``drm_open()``); ``flags`` are ``O_*`` (default ``O_RDWR``).

    Raises:
        Error: ``ENOENT`` for a path that is not a DRM node name; ``ENODEV``
            if no device has that minor or it is unplugged, or its module is
            going; ``ENOMEM``; what the driver's ``open`` raises.
    """
    minor = node_minor(path)
    filp = from_err_ptr(lib.pfl_chrdev_open(lib.DRM_MAJOR, minor, flags))
    return OpenFile(filp)
