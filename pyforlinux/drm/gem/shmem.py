"""Shmem-backed GEM objects over the real ``drm_gem_shmem_helper.c``.

Mirrors ``rust/kernel/drm/gem/shmem.rs``. A :class:`Object` is a C
``struct drm_gem_shmem_object`` (``drm_gem_shmem_create()``) whose memory
is pages of a shmem file (the runtime's page pool, csrc/runtime/shmem.c),
with the driver's per-object data ``T`` (a
:class:`~pyforlinux.drm.gem.BaseDriverObject`, made by
``T.new(dev, size)``) -- the same data a :class:`~pyforlinux.drm.gem.Object`
has, so handles, lookups, the open/close/free callbacks and the reference
count are the base GEM object's. What shmem adds:

* :meth:`Object.vmap` -- a kernel mapping of the whole object
  (``drm_gem_shmem_vmap()`` under the reservation lock), a :class:`VMap`
  owner whose :meth:`VMap.read`/:meth:`VMap.write` are bounds-checked;
* :meth:`Object.sg_table` -- the pages pinned and DMA-mapped
  (``drm_gem_shmem_get_pages_sgt()``), as the C helper keeps them;
* ``mmap`` -- a client's :meth:`pyforlinux.drm.file.OpenFile.mmap` of the
  object's offset runs the real ``drm_gem_shmem_mmap()``; each access of the
  :class:`~pyforlinux.drm.gem.Mapping` faults through
  ``drm_gem_shmem_fault()`` (no page tables here) onto the same pages.

A driver declares shmem objects the way upstream's ``type Object =
gem::shmem::Object<T>`` does::

    class BoData(gem.BaseDriverObject):
        pass                                  # per-object driver data

    class MyDriver(drm.Driver):
        Object = shmem.Object[BoData]         # AllocImpl: shmem objects
        ...

    # in an ioctl handler:
    with shmem.Object.new(dev, 2 * 4096) as obj:
        handle = obj.deref().create_handle(file)
        with obj.deref().vmap() as vmap:
            vmap.write(0, b"hello")

Upstream Rust's ``ObjectConfig.parent_resv_obj`` (sharing another object's
reservation) is not wrapped; ``map_wc`` is. Objects the C core makes on its
own (a PRIME import of another device's buffer through
``drm_gem_shmem_prime_import_sg_table()``, upstream's ``ALLOC_OPS``) have
no driver data: :meth:`Object.lookup_handle` refuses them with ``EINVAL``.

Rust: rust/kernel/drm/gem/shmem.rs. C header: include/drm/drm_gem_shmem_helper.h
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int, leak_finalizer
from pyforlinux.drm import gem
from pyforlinux.error import Error, code, from_err_ptr
from pyforlinux.scatterlist import Borrowed, SGTable
from pyforlinux.sync.aref import ARef

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

T = TypeVar("T", bound=gem.BaseDriverObject)


@dataclass(frozen=True)
class ObjectConfig:
    """Creation options of a shmem object (``gem::shmem::ObjectConfig``).

    Attributes:
        map_wc: map the pages write-combined (``drm_gem_shmem_object.map_wc``:
            vmap and user mappings use ``pgprot_writecombine``; here memory
            is plain, the flag is what the helper records and acts on).
    """

    map_wc: bool = False


class Object(gem.Object[T]):
    """A shmem-backed GEM object with driver data ``T`` (``gem::shmem::Object<T>``).

    Counted like :class:`~pyforlinux.drm.gem.Object` (an ``ARef``); its
    memory is ``size`` bytes of shmem pages, allocated on first use.

    Thread context: any; :meth:`vmap`, :meth:`sg_table` and the free sleep
    (they take the object's reservation lock).
    """

    @classmethod
    def new(cls, dev: Device[Any], size: int,  # type: ignore[override]
            config: ObjectConfig | None = None) -> ARef[Object[Any]]:
        """A new object of ``size`` bytes (``drm_gem_shmem_create()`` with the
        driver's ``T.new(dev, size)``), as the caller's reference.

        Args:
            dev: the DRM device; its driver declares ``Object = shmem.Object[T]``.
            size: bytes, a positive multiple of the page size.
            config: :class:`ObjectConfig` (default: cached mappings).

        Raises:
            Error: ``EINVAL`` for a bad size or a driver whose objects are
                not shmem objects; ``ENOMEM`` (the object, its shmem file, its
                mmap offset); whatever the driver's ``new`` raises.

        Thread context: process context, may sleep.
        """
        size = arg_int(size, "GEM object size")
        cfg = ObjectConfig() if config is None else config
        if not isinstance(cfg, ObjectConfig):
            raise Error(code.EINVAL, f"config is an ObjectConfig, not {cfg!r}")
        if gem.alloc_impl(dev.driver) is not Object:
            raise Error(code.EINVAL, f"{dev.driver.__name__}'s GEM objects are not "
                                     "shmem objects (declare Object = shmem.Object[T])")
        if size <= 0 or size % lib.PAGE_SIZE or size >= 1 << 63:
            raise Error(code.EINVAL, f"GEM object size {size} is not a positive page multiple")
        inner = gem.driver_object_type(dev.driver).new(dev, size)
        try:
            raw = from_err_ptr(lib.pfl_drm_gem_shmem_create(dev.as_raw(), size, cfg.map_wc))
        except BaseException:
            inner.free(None)
            raise
        obj: Object[Any] = cls._register(dev, raw, inner)  # type: ignore[assignment]
        return ARef.from_raw(obj)

    @classmethod
    def _alloc_ops(cls, drv: Any) -> None:
        """``AllocImpl::ALLOC_OPS`` of shmem objects: PRIME import of another
        device's buffer through ``drm_gem_shmem_prime_import_sg_table()``."""
        lib.pfl_drm_gem_shmem_alloc_ops(drv)

    @staticmethod
    def lookup_handle(file: File[Any], handle: int) -> ARef[Object[Any]]:  # type: ignore[override]
        """The shmem object behind ``handle`` in ``file``, with a new reference
        (``drm_gem_object_lookup()``).

        Raises:
            Error: ``ENOENT`` no such handle; ``EINVAL`` the handle names an
                object that is not a shmem object with driver data.
        """
        ref = gem.Object.lookup_handle(file, handle)
        if not isinstance(ref.deref(), Object):
            ref.close()
            raise Error(code.EINVAL, f"GEM handle {handle} is not a shmem object")
        return ref  # type: ignore[return-value]

    @property
    def map_wc(self) -> bool:
        """Whether mappings are write-combined (``drm_gem_shmem_object.map_wc``)."""
        return bool(lib.pfl_drm_gem_shmem_map_wc(self.as_raw()))

    @property
    def vmap_use_count(self) -> int:
        """Live kernel mappings (``drm_gem_shmem_object.vmap_use_count``), for tests."""
        raw = self._raw
        return 0 if raw is None else int(lib.pfl_drm_gem_shmem_vmap_use_count(raw))

    @property
    def pages_use_count(self) -> int:
        """Users of the page array (``pages_use_count``: vmaps, the sg table,
        user mappings), for tests."""
        raw = self._raw
        return 0 if raw is None else int(lib.pfl_drm_gem_shmem_pages_use_count(raw))

    def vmap(self) -> VMap:
        """Map the whole object into the kernel address space
        (``drm_gem_shmem_vmap()`` under ``dma_resv_lock()``): its pages get
        allocated and pinned. The :class:`VMap` holds a reference to the
        object; ``close()`` (or ``with``) unmaps.

        Raises:
            Error: ``ENOMEM`` (pages or the mapping); ``EINVAL`` after the
                object was freed; ``EDEADLK`` if this thread holds the
                object's reservation lock (the C would deadlock).

        Thread context: process context, sleeps (reservation lock).
        """
        ref: ARef[Object[Any]] = ARef.new(self)
        try:
            err = ffi.new("int *")
            vaddr = lib.pfl_drm_gem_shmem_vmap(self._raw, err)
            if vaddr == ffi.NULL:
                raise Error.from_errno(int(err[0]) or -code.ENOMEM)
        except BaseException:
            ref.close()
            raise
        return VMap(ref, vaddr)

    def sg_table(self) -> SGTable[Borrowed]:
        """The object's pages as a DMA-mapped scatter-gather table
        (``drm_gem_shmem_get_pages_sgt()``): made on first call, the pages
        pinned and mapped for the device until the object is freed.

        The view borrows the object (Rust: ``&SGTable`` tied to ``&self``):
        use it only while holding a reference to the object.

        Raises:
            Error: ``ENOMEM``; ``EINTR`` if a signal interrupted the
                reservation lock; ``EINVAL`` after the object was freed;
                ``EDEADLK`` if this thread holds the reservation lock.

        Thread context: process context, sleeps.
        """
        sgt = from_err_ptr(lib.pfl_drm_gem_shmem_get_pages_sgt(self.as_raw()))
        return SGTable.from_raw(sgt)


class VMap(NoCopy):
    """A kernel mapping of a whole shmem object (``gem::shmem::VMap``).

    ``len(vmap)`` bytes, readable and writable from any thread; the object
    stays alive (an ``ARef``) until :meth:`close`, which vunmaps
    (``drm_gem_shmem_vunmap()`` under the reservation lock). Accesses after
    ``close`` or outside the object raise instead of touching memory.

    Rust: ``VMap<T>`` of the posted shmem series (as_slice/as_mut_slice
    become :meth:`read`/:meth:`write`: a Python slice cannot borrow).
    """

    __slots__ = ("__weakref__", "_fin", "_lock", "_obj", "_vaddr", "size")

    def __init__(self, obj: ARef[Object[Any]], vaddr: Any) -> None:
        self._obj: ARef[Object[Any]] | None = obj
        self._vaddr: Any = ffi.cast("char *", vaddr)
        self._lock = threading.Lock()
        self.size = obj.deref().size()
        self._fin = leak_finalizer(self, "shmem VMap")

    def __len__(self) -> int:
        return self.size

    def owner(self) -> Object[Any]:
        """The mapped object.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        obj = self._obj
        if obj is None:
            raise Error(code.EINVAL, "VMap used after close()")
        return obj.deref()

    def _bounds(self, offset: int, length: int) -> None:
        if self._obj is None:
            raise Error(code.EINVAL, "VMap used after close()")
        if offset + length > self.size:
            raise Error(code.EINVAL, f"access [{offset}, {offset + length}) outside a "
                                     f"{self.size}-byte vmap")

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at byte ``offset`` of the object.

        Raises:
            Error: ``EINVAL`` outside the object, for negative or non-integer
                arguments, or after :meth:`close`.
        """
        offset = arg_int(offset, "vmap offset")
        length = arg_int(length, "vmap length")
        with self._lock:
            self._bounds(offset, length)
            return bytes(ffi.buffer(self._vaddr + offset, length))

    def write(self, offset: int, data: bytes) -> None:
        """Store ``data`` at byte ``offset`` of the object (same errors as
        :meth:`read`)."""
        offset = arg_int(offset, "vmap offset")
        data = arg_bytes(data, "vmap data")
        with self._lock:
            self._bounds(offset, len(data))
            ffi.memmove(self._vaddr + offset, data, len(data))

    def close(self) -> None:
        """Unmap (``drm_gem_shmem_vunmap()``) and drop the object reference.
        Idempotent.

        Raises:
            Error: ``EDEADLK`` (the VMap stays open) if this thread holds the
                object's reservation lock (in an :class:`~pyforlinux.drm.exec.Exec`):
                the unmap takes it.
        """
        with self._lock:
            obj = self._obj
            if obj is None:
                return
            ret = int(lib.pfl_drm_gem_shmem_vunmap(obj.deref().as_raw(), self._vaddr))
            if ret < 0:
                raise Error(-ret, "VMap.close() while this thread holds the object's "
                                  "reservation lock")
            self._obj = None
        self._fin.detach()
        obj.close()

    def __enter__(self) -> VMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
