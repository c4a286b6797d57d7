"""GEM objects: driver buffers with per-file handles and mmap offsets.

Mirrors ``rust/kernel/drm/gem/mod.rs``. An :class:`Object` is a counted
``struct drm_gem_object`` of a given size with the driver's per-object
data (a :class:`BaseDriverObject`, made by ``DriverObject.new(dev, size)``).
Its reference count is a real C ``refcount_t`` in its C handle (a small
kmalloc'd block, which is what the handle idr and the mmap offset xarray
store). :meth:`Object.create_handle` enters it in a file's handle table
(the handle holds a reference), :meth:`Object.lookup_handle` finds it
again (``ENOENT`` otherwise), :func:`handle_delete` (``GEM_CLOSE``) drops a
handle. :meth:`Object.create_mmap_offset` gives it an offset at which a
client holding a handle can map it; the bytes are the driver's
(``BaseDriverObject.vm_read``/``vm_write``).

Rust: rust/kernel/drm/gem/mod.rs. C header: include/drm/drm_gem.h,
drivers/gpu/drm/drm_gem.c
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

T = TypeVar("T", bound="BaseDriverObject")


class BaseDriverObject(NoCopy):
    """Base of a driver's per-object data (``gem::BaseDriverObject``)."""

    Driver: ClassVar[type[Any]]

    @classmethod
    def new(cls, dev: Device[Any], size: int) -> BaseDriverObject:
        """Make the data of a new object of ``size`` bytes."""
        return cls()

    def open(self, obj: Object[Any], file: File[Any]) -> None:
        """A handle to the object was created in ``file``."""

    def close(self, obj: Object[Any], file: File[Any]) -> None:
        """A handle to the object in ``file`` was deleted."""

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
    """A GEM object of ``size`` bytes with driver data ``T`` (``gem::Object<T>``).

    Counted: :meth:`inc_ref`/:meth:`dec_ref` (an ``ARef``); ``new`` returns
    the first reference, which the caller must drop.
    """

    def __init__(self, dev: Device[Any], size: int, inner: T) -> None:
        self.dev = dev
        self._size = size
        self.inner = inner
        self._lock = threading.Lock()
        self.handle_count = 0
        self.mmap_offset: int | None = None
        # SAFETY: the C handle lives until the last reference is dropped.
        self._raw = lib.pfl_kmalloc(ffi.sizeof("refcount_t"), lib.GFP_KERNEL, 0)
        if self._raw == ffi.NULL:
            raise Error(code.ENOMEM, "GEM object")
        self._refs = ffi.cast("refcount_t *", self._raw)
        lib.refcount_set(self._refs, 1)
        self._key = int(ffi.cast("uintptr_t", self._raw))
        dev.inc_ref()
        dev.gem_objects[self._key] = self

    @classmethod
    def new(cls, dev: Device[Any], size: int) -> ARef[Object[Any]]:
        """A new object with the driver's data (``drm_gem_object_init()``),
        as the caller's reference.

        Raises:
            Error: ``EINVAL`` for a size of 0 or not a multiple of the page
                size; whatever the driver's ``new`` raises.
        """
        if size <= 0 or size % lib.PAGE_SIZE:
            raise Error(code.EINVAL, f"GEM object size {size} is not a positive page multiple")
        inner = dev.driver.Object.new(dev, size)
        try:
            obj = cls(dev, size, inner)
        except Error:
            inner.free(None)
            raise
        return ARef.from_raw(obj)

    def size(self) -> int:
        """The object's size, bytes."""
        return self._size

    # -- reference counting ----------------------------------------------------
    def inc_ref(self) -> None:
        """``drm_gem_object_get()``."""
        self._live()
        lib.refcount_inc(self._refs)

    def dec_ref(self) -> None:
        """``drm_gem_object_put()``; the last reference frees the object."""
        self._live()
        if lib.refcount_dec_and_test(self._refs):
            self._free()

    def _live(self) -> None:
        if self._raw is None:
            raise Error(code.EINVAL, "GEM object already freed (reference count underflow)")

    def _free(self) -> None:
        try:
            self.inner.free(self)
        finally:
            if self.mmap_offset is not None:
                self.dev.vma_offset_remove(self.mmap_offset)
            self.dev.gem_objects.pop(self._key, None)
            lib.pfl_kfree(self._raw, 0)
            self._raw = None
            self.dev.dec_ref()

    # -- handles -------------------------------------------------------------
    def create_handle(self, file: File[Any]) -> int:
        """A new handle for this object in ``file`` (``drm_gem_handle_create()``);
        the handle holds a reference.

        Raises:
            Error: ``ENOMEM``/``ENOSPC`` if the table cannot grow.
        """
        self.inc_ref()
        try:
            handle = file.handle_alloc(self._raw)
        except Error:
            self.dec_ref()
            raise
        with self._lock:
            self.handle_count += 1
        self.inner.open(self, file)
        return handle

    @staticmethod
    def lookup_handle(file: File[Any], handle: int) -> ARef[Object[Any]]:
        """The object behind ``handle`` in ``file``, with a new reference
        (``drm_gem_object_lookup()``), released by closing the ``ARef``.

        Raises:
            Error: ``ENOENT`` if ``file`` has no such handle.
        """
        raw = file.handle_lookup(handle)
        obj = None if raw == ffi.NULL else file.dev.gem_objects.get(int(ffi.cast("uintptr_t", raw)))
        if obj is None:
            raise Error(code.ENOENT, f"no GEM object with handle {handle}")
        obj.inc_ref()
        return ARef.from_raw(obj)

    def create_mmap_offset(self) -> int:
        """The object's fake mmap offset, created once (``drm_gem_create_mmap_offset()``), bytes."""
        with self._lock:
            if self.mmap_offset is None:
                self.mmap_offset = self.dev.vma_offset_add(self._raw)
            return self.mmap_offset


def handle_delete(file: File[Any], handle: int) -> None:
    """Drop ``handle`` from ``file`` (``drm_gem_handle_delete()``).

    Raises:
        Error: ``EINVAL`` if ``file`` has no such handle (as the kernel).
    """
    raw = file.handle_remove(handle)
    obj = None if raw == ffi.NULL else file.dev.gem_objects.get(int(ffi.cast("uintptr_t", raw)))
    if obj is None:
        raise Error(code.EINVAL, f"no GEM handle {handle}")
    with obj._lock:
        obj.handle_count -= 1
    try:
        obj.inner.close(obj, file)
    finally:
        obj.dec_ref()


class Mapping(NoCopy):
    """A client's mapping of ``length`` bytes of an object at ``start``.

    Holds a reference to the object until :meth:`close` (``munmap``).
    Reads and writes are bounds-checked.
    """

    def __init__(self, obj: Object[Any], start: int, length: int) -> None:
        self.obj = obj
        self.start = start
        self.length = length
        obj.inc_ref()
        self._open = True

    def _range(self, offset: int, length: int) -> int:
        if not self._open:
            raise Error(code.EFAULT, "access to an unmapped mapping")
        if offset < 0 or length < 0 or offset + length > self.length:
            raise Error(code.EFAULT, f"access [{offset}, {offset + length}) outside a "
                                     f"{self.length}-byte mapping")
        return self.start + offset

    def read(self, offset: int, length: int) -> bytes:
        """Bytes of the mapping (a CPU read through it).

        Raises:
            Error: ``EFAULT`` outside the mapping or after ``close``;
                ``ENODEV`` once the device's memory was revoked.
        """
        offset = arg_int(offset, "mapping offset")
        length = arg_int(length, "mapping length")
        return self.obj.inner.vm_read(self.obj, self._range(offset, length), length)  # type: ignore[no-any-return]

    def write(self, offset: int, data: bytes) -> None:
        """Store bytes through the mapping (same errors as :meth:`read`)."""
        # One copy with its real length: the bounds are checked on what is written.
        offset = arg_int(offset, "mapping offset")
        data = arg_bytes(data, "mapping data")
        self.obj.inner.vm_write(self.obj, self._range(offset, len(data)), data)

    def close(self) -> None:
        """``munmap()``: drop the object reference; idempotent."""
        if self._open:
            self._open = False
            self.obj.dec_ref()

    def __enter__(self) -> Mapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mmap(file: File[Any], offset: int, length: int) -> Mapping:
    """``drm_gem_mmap()``: map part of an object by its fake offset.

    Raises:
        Error: ``EINVAL`` bad offset or a range past the object; ``EACCES``
            if ``file`` has no handle to the object
            (``drm_vma_node_is_allowed()``).
    """
    obj, start = file.dev.vma_lookup(offset)
    if length <= 0 or start + length > obj.size():
        raise Error(code.EINVAL,
                    f"mmap of {length} bytes at +{start} past a {obj.size()}-byte object")
    raw = obj._raw
    if not any(file.handle_lookup(h) == raw for h in file.handles()):
        raise Error(code.EACCES, "mmap of an object this file has no handle to")
    return Mapping(obj, start, length)
