"""GEM objects: driver buffers with per-file handles and mmap offsets.

Mirrors ``rust/kernel/drm/gem/mod.rs``. An :class:`Object` is a C
``struct drm_gem_object`` (initialised with ``drm_gem_private_object_init()``)
with the driver's per-object data (a :class:`BaseDriverObject`, made by
``DriverObject.new(dev, size)``). Its reference count is the C object's
kref (``drm_gem_object_get()``/``drm_gem_object_put()``); the last put
runs ``drm_gem_object_funcs.free``, which releases the C object and then
the driver's data (``free()``). Handles are the core's:
:meth:`Object.create_handle` is ``drm_gem_handle_create()``,
:meth:`Object.lookup_handle` is ``drm_gem_object_lookup()`` (``ENOENT``
otherwise), :func:`handle_delete` is ``drm_gem_handle_delete()``.
:meth:`Object.create_mmap_offset` is ``drm_gem_create_mmap_offset()``
(drm_vma_manager over drm_mm); a client holding a handle maps the object
through the core's ``drm_gem_mmap()`` (:class:`Mapping`), whose bytes are
the driver's (``BaseDriverObject.vm_read``/``vm_write``: there are no page
tables here). :mod:`.shmem` has objects backed by shmem pages
(``gem::shmem::Object``), whose mappings fault through the C helper.

A driver names its object type in ``Driver.Object`` (``AllocImpl``): its
data class ``T`` alone for a plain :class:`Object` (``gem::Object<T>``), or
``shmem.Object[T]`` (``gem::shmem::Object<T>``); :func:`alloc_impl` and
:func:`driver_object_type` read the declaration.

Rust: rust/kernel/drm/gem/mod.rs. C header: include/drm/drm_gem.h,
drivers/gpu/drm/drm_gem.c
"""

from __future__ import annotations

import logging
import threading
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, addr_of, addr_of_ptr, arg_bytes, arg_int
from pyforlinux.error import Error, code, from_err_ptr
from pyforlinux.sync.aref import ARef

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

T = TypeVar("T", bound="BaseDriverObject")
log = logging.getLogger("pyforlinux.drm")

# struct drm_gem_object address -> Object. Every use is one dict operation
# (get, set or pop), atomic under the GIL: no lock.
_objects: dict[int, Object[Any]] = {}


_U32_P = ffi.typeof("u32 *")




def alloc_impl(driver: type[Any]) -> type[Object[Any]]:
    """The GEM object type of a driver class (``Driver::Object``'s
    ``AllocImpl``): :class:`Object`, or ``shmem.Object`` for a driver that
    declares ``Object = shmem.Object[T]``."""
    origin: type[Object[Any]] | None = typing.get_origin(driver.Object)
    return Object if origin is None else origin


def driver_object_type(driver: type[Any]) -> type[Any]:
    """The per-object data class ``T`` a driver class declares in ``Object``
    (``T`` or ``shmem.Object[T]``)."""
    args = typing.get_args(driver.Object)
    data: type[Any] = args[0] if args else driver.Object
    return data


class BaseDriverObject(NoCopy):
    """Base of a driver's per-object data (``gem::DriverObject``)."""

    Driver: ClassVar[type[Any]]

    @classmethod
    def new(cls, dev: Device[Any], size: int) -> BaseDriverObject:
        """Make the data of a new object of ``size`` bytes."""
        return cls()

    def open(self, obj: Object[Any], file: File[Any]) -> None:
        """A handle to the object was created in ``file`` (may raise: the
        handle is then not created). For plain objects, called only if the
        data class defines its own, as it is when the device is made (this
        default does nothing)."""

    def close(self, obj: Object[Any], file: File[Any]) -> None:
        """A handle to the object in ``file`` was deleted. For plain objects,
        called only if the data class defines its own, as it is when the
        device is made."""

    def vm_read(self, obj: Object[Any], offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset+length)`` of the object, for a mapping.

        Raises:
            Error: ``ENXIO`` by default: the object has no CPU-visible memory.
        """
        raise Error(code.ENXIO, "object has no CPU-visible memory")

    def vm_write(self, obj: Object[Any], offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset`` of the object, for a mapping."""
        raise Error(code.ENXIO, "object has no CPU-visible memory")

    def free(self, obj: Object[Any]) -> None:
        """The last reference is gone: release the object's resources."""


class Object(NoCopy, Generic[T]):
    """A GEM object with driver data ``T`` (``gem::Object<T>``).

    Counted: :meth:`inc_ref`/:meth:`dec_ref` (an ``ARef``); ``new`` returns
    the first reference, which the caller must drop.
    """

    def __init__(self, dev: Device[Any], raw: Any, inner: T) -> None:
        self.dev = dev
        self.inner = inner
        self._raw: Any = raw

    @classmethod
    def new(cls, dev: Device[Any], size: int) -> ARef[Object[Any]]:
        """A new object of ``size`` bytes with the driver's data
        (``drm_gem_private_object_init()``), as the caller's reference.

        Raises:
            Error: ``EINVAL`` for a size of 0 or not a multiple of the page
                size; ``ENOMEM``; whatever the driver's ``new`` raises.
        """
        if size <= 0 or size % lib.PAGE_SIZE or size >= 1 << 63:
            raise Error(code.EINVAL, f"GEM object size {size} is not a positive page multiple")
        drv = dev.driver
        # (declaration, alloc_impl, data type), read from the declaration once
        # per driver class (typing's introspection costs several calls) and
        # kept in the class itself; a changed declaration is read again.
        types = drv.__dict__.get("_pfl_gem_types")
        if types is None or types[0] is not drv.Object:
            types = (drv.Object, alloc_impl(drv), driver_object_type(drv))
            drv._pfl_gem_types = types
        if types[1] is not Object:
            raise Error(code.EINVAL, f"{drv.__name__} declares {types[1].__qualname__} objects")
        inner = types[2].new(dev, size)
        try:
            raw = from_err_ptr(lib.pfl_drm_gem_object_new(dev.as_raw(), size))
        except BaseException:
            inner.free(None)
            raise
        return ARef.from_raw(cls._register(dev, raw, inner))

    @classmethod
    def _register(cls, dev: Device[Any], raw: Any, inner: Any) -> Object[Any]:
        """Wrap a new C object holding its first reference: from now on the
        C callbacks (open/close/free) find it."""
        obj = cls(dev, raw, inner)
        key = addr_of_ptr(raw)
        _objects[key] = obj
        dev.gem_objects[key] = obj
        return obj

    @classmethod
    def _alloc_ops(cls, drv: Any) -> None:
        """Set the ``struct drm_driver`` fields of this object type
        (``AllocImpl::ALLOC_OPS``): none for plain objects."""

    @staticmethod
    def from_raw(raw: Any) -> Object[Any]:
        """The :class:`Object` of a C ``struct drm_gem_object *``
        (``IntoGEMObject::from_raw``).

        Raises:
            Error: ``EINVAL`` if it is not a live pyforlinux GEM object.
        """
        obj = _objects.get(addr_of(raw))
        if obj is None:
            raise Error(code.EINVAL, "not a pyforlinux GEM object")
        return obj

    def as_raw(self) -> Any:
        """The C ``struct drm_gem_object *``.

        Raises:
            Error: ``EINVAL`` once the object was freed.
        """
        raw = self._raw
        if raw is None:
            raise Error(code.EINVAL, "GEM object already freed")
        return raw

    def size(self) -> int:
        """The object's size, bytes (``drm_gem_object.size``)."""
        return int(self.as_raw().size)

    @property
    def handle_count(self) -> int:
        """How many handles name the object (``drm_gem_object.handle_count``)."""
        raw = self._raw
        return 0 if raw is None else int(lib.pfl_drm_gem_handle_count(raw))

    def refcount(self) -> int:
        """The C reference count (``kref_read()``), for tests and reports."""
        return int(lib.pfl_drm_gem_object_refcount(self.as_raw()))

    # -- reference counting ----------------------------------------------------
    def inc_ref(self) -> None:
        """``drm_gem_object_get()``."""
        lib.drm_gem_object_get(self.as_raw())

    def dec_ref(self) -> None:
        """``drm_gem_object_put()``; the last reference frees the object.

        Safety: the caller owns the reference it drops (an ``ARef`` does).
        """
        lib.drm_gem_object_put(self.as_raw())

    def _free(self) -> None:
        """``drm_gem_object_funcs.free`` (the C object is already released)."""
        raw, self._raw = self._raw, None
        key = addr_of_ptr(raw)
        _objects.pop(key, None)
        self.dev.gem_objects.pop(key, None)
        self.inner.free(self)

    # -- reservation --------------------------------------------------------
    def resv_test_signaled(self, usage: Any) -> bool:
        """Whether every fence of ``usage`` (a
        :class:`~pyforlinux.dma_buf.dma_resv.Usage`, and the usages before
        it) in the object's reservation has signalled
        (``dma_resv_test_signaled(obj->resv)``). No lock needed (RCU).
        Fences get there through :meth:`pyforlinux.drm.exec.Exec.add_fence`.

        Raises:
            Error: ``EINVAL`` for a bad usage or a freed object.
        """
        from pyforlinux.dma_buf.dma_resv import _usage

        u = _usage(usage)
        return bool(lib.pfl_drm_gem_resv_test_signaled(self.as_raw(), u))

    def resv_wait(self, usage: Any, timeout: Any = None, interruptible: bool = True) -> bool:
        """Sleep until every fence of ``usage`` in the object's reservation
        signals (``dma_resv_wait_timeout(obj->resv)``).

        Args:
            usage: a :class:`~pyforlinux.dma_buf.dma_resv.Usage`.
            timeout: a :class:`~pyforlinux.time.Delta` (rounded up to
                jiffies), ``None`` for no limit.
            interruptible: a signal to the task ends the wait.

        Returns:
            ``True`` if all signalled, ``False`` on timeout.

        Raises:
            Error: ``ERESTARTSYS`` if interrupted; ``EINVAL`` for a bad usage
                or timeout, or a freed object.

        Thread context: process context, sleeps; the caller holds a
        reference to the object.
        """
        from pyforlinux.dma_buf.dma_fence import _timeout_jiffies
        from pyforlinux.dma_buf.dma_resv import _usage
        from pyforlinux.sync import lockdep

        u = _usage(usage)
        jiffies = _timeout_jiffies(timeout)
        intr = bool(interruptible)
        lockdep.might_sleep("waiting on a GEM object's reservation")
        ret = int(lib.pfl_drm_gem_resv_wait(self.as_raw(), u, intr, jiffies))
        if ret < 0:
            raise Error(-ret)
        return ret > 0

    # -- handles -------------------------------------------------------------
    def create_handle(self, file: File[Any]) -> int:
        """A new handle for this object in ``file`` (``drm_gem_handle_create()``);
        the handle holds a reference.

        Raises:
            Error: ``ENOMEM``/``ENOSPC`` if the table cannot grow; what the
                driver's ``open`` raised.
        """
        handle = ffi.new(_U32_P)
        ret = lib.drm_gem_handle_create(file.as_raw(), self.as_raw(), handle)
        if ret < 0:
            raise Error.from_errno(ret)
        return int(handle[0])

    @staticmethod
    def lookup_handle(file: File[Any], handle: int) -> ARef[Object[Any]]:
        """The object behind ``handle`` in ``file``, with a new reference
        (``drm_gem_object_lookup()``), released by closing the ``ARef``.

        Raises:
            Error: ``ENOENT`` if ``file`` has no such handle.
        """
        if not 0 <= handle < 2**32:
            raise Error(code.ENOENT, f"no GEM object with handle {handle}")
        raw = lib.drm_gem_object_lookup(file.as_raw(), handle)
        if raw == ffi.NULL:
            raise Error(code.ENOENT, f"no GEM object with handle {handle}")
        try:
            obj = Object.from_raw(raw)
        except Error:
            lib.drm_gem_object_put(raw)
            raise
        return ARef.from_raw(obj)

    def create_mmap_offset(self) -> int:
        """The object's fake mmap offset, created once
        (``drm_gem_create_mmap_offset()``), bytes.

        Raises:
            Error: ``ENOMEM``/``ENOSPC`` from the offset manager.
        """
        raw = self.as_raw()
        ret = lib.drm_gem_create_mmap_offset(raw)
        if ret < 0:
            raise Error.from_errno(ret)
        return int(lib.pfl_drm_gem_mmap_offset(raw))

    @property
    def mmap_offset(self) -> int | None:
        """The mmap offset if one was created, bytes."""
        raw = self._raw
        if raw is None:
            return None
        off = int(lib.pfl_drm_gem_mmap_offset(raw))
        return off or None


def handle_delete(file: File[Any], handle: int) -> None:
    """Drop ``handle`` from ``file`` (``drm_gem_handle_delete()``).

    Raises:
        Error: ``EINVAL`` if ``file`` has no such handle (as the kernel).
    """
    if not 0 <= handle < 2**32:
        raise Error(code.EINVAL, f"no GEM handle {handle}")
    ret = lib.drm_gem_handle_delete(file.as_raw(), handle)
    if ret < 0:
        raise Error.from_errno(ret)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_gem_open(raw_obj: Any, raw_file: Any) -> int:
    """``drm_gem_object_funcs.open`` (``open_callback``)."""
    from pyforlinux.drm.file import File

    try:
        obj = Object.from_raw(raw_obj)
        obj.inner.open(obj, File.from_raw(raw_file))
        return 0
    except Error as e:
        return e.to_errno()
    except Exception:
        log.exception("gem open: driver bug")
        return -code.EIO


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_gem_close(raw_obj: Any, raw_file: Any) -> None:
    """``drm_gem_object_funcs.close`` (``close_callback``)."""
    from pyforlinux.drm.file import File

    try:
        obj = Object.from_raw(raw_obj)
        obj.inner.close(obj, File.from_raw(raw_file))
    except Exception:
        log.exception("gem close: driver bug")


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_gem_free(raw_obj: Any) -> None:
    """``drm_gem_object_funcs.free`` (``Object::free_callback``), after
    ``drm_gem_object_release()``: drop the driver's data."""
    try:
        Object.from_raw(raw_obj)._free()
    except Exception:
        log.exception("gem free: driver bug")


class Mapping(NoCopy):
    """A client's mapping of ``length`` bytes of an object (a ``vm_area_struct``
    on which ``drm_gem_mmap()`` ran). Holds the object (and the file) until
    :meth:`close` (``munmap``). Reads and writes are bounds-checked.
    """

    def __init__(self, vma: Any, length: int) -> None:
        self._vma: Any = vma
        self.length = length
        self.obj = Object.from_raw(lib.pfl_drm_vma_gem_object(vma))
        self._lock = threading.Lock()
        # shmem objects map real pages: accesses fault through vm_ops->fault
        self._faults = bool(lib.pfl_vma_faults(vma))

    @classmethod
    def of_fd(cls, fd: int, offset: int, length: int, writable: bool = True) -> Mapping:
        """``mmap(2)`` of ``length`` bytes at byte ``offset`` of file
        descriptor ``fd`` of the calling task -- a dma-buf from a PRIME
        export (``dma_buf_mmap_internal()`` -> ``drm_gem_prime_mmap()`` ->
        the object's ``mmap``, e.g. ``drm_gem_shmem_mmap()``).

        Raises:
            Error: ``EBADF`` for no such fd; ``ENODEV`` for a file that
                cannot be mapped; ``EINVAL`` for a range past the buffer, an
                unaligned offset, a length of 0, or a mapping of something
                that is not a GEM object.
        """
        fd = arg_int(fd, "file descriptor", 0, 2**31 - 1)
        offset = arg_int(offset, "mmap offset")
        length = arg_int(length, "mmap length")
        prot = 1 if writable else 0
        filp = lib.fget(fd)
        if filp == ffi.NULL:
            raise Error(code.EBADF, f"no file descriptor {fd}")
        try:
            vma = from_err_ptr(lib.pfl_drm_mmap(filp, offset, length, prot))
        finally:
            lib.fput(filp)
        try:
            return cls(vma, length)
        except BaseException:
            lib.pfl_drm_munmap(vma)
            raise

    def _rw(self, offset: int, buf: Any, length: int, write: int) -> None:
        """A user access through the page fault handler (``pfl_vma_rw``),
        with the mapping held against a concurrent :meth:`close`."""
        with self._lock:
            self._range(offset, length)
            ret = int(lib.pfl_vma_rw(self._vma, offset, buf, length, write))
        if ret < 0:
            raise Error(-ret, "fault on a mapping (SIGBUS in a real process)")

    def _range(self, offset: int, length: int) -> int:
        if self._vma is None:
            raise Error(code.EFAULT, "access to an unmapped mapping")
        if offset < 0 or length < 0 or offset + length > self.length:
            raise Error(code.EFAULT, f"access [{offset}, {offset + length}) outside a "
                                     f"{self.length}-byte mapping")
        return offset

    def read(self, offset: int, length: int) -> bytes:
        """Bytes of the mapping (a CPU read through it).

        Raises:
            Error: ``EFAULT`` outside the mapping or after ``close``;
                ``ENODEV`` once the device's memory was revoked.
        """
        offset = arg_int(offset, "mapping offset")
        length = arg_int(length, "mapping length")
        if self._faults:
            buf = ffi.new("char[]", length)
            self._rw(offset, buf, length, 0)
            return bytes(ffi.buffer(buf, length))
        return self.obj.inner.vm_read(self.obj, self._range(offset, length), length)  # type: ignore[no-any-return]

    def write(self, offset: int, data: bytes) -> None:
        """Store bytes through the mapping (same errors as :meth:`read`)."""
        # One copy with its real length: the bounds are checked on what is written.
        offset = arg_int(offset, "mapping offset")
        data = arg_bytes(data, "mapping data")
        if self._faults:
            self._rw(offset, ffi.from_buffer(data), len(data), 1)
            return
        self.obj.inner.vm_write(self.obj, self._range(offset, len(data)), data)

    def close(self) -> None:
        """``munmap()``: ``vm_ops->close`` (the object reference), the file
        reference; idempotent."""
        with self._lock:
            vma, self._vma = self._vma, None
        if vma is not None:
            lib.pfl_drm_munmap(vma)

    def __enter__(self) -> Mapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
