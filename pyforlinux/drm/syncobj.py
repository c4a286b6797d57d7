"""DRM sync objects of a file, over the real ``drivers/gpu/drm/drm_syncobj.c``.

A driver declaring :attr:`~pyforlinux.drm.Driver.SYNCOBJ` gets the core's
``DRM_IOCTL_SYNCOBJ_*`` ioctls (create/destroy, wait, reset/signal, fd
import/export, sync_file import/export), served by C. What a driver does
itself, typically in a submit ioctl, is look up the syncobjs userspace
named by handle and put the job's out-fence in them (or read in-fences):
:meth:`Syncobj.lookup_handle`, :meth:`Syncobj.replace_fence`.

Upstream Rust for Linux has no syncobj abstraction yet; this follows the C
API (``drm_syncobj_find``, ``drm_syncobj_replace_fence``) in the style of
``gem::Object::lookup_handle``.

C header: include/drm/drm_syncobj.h
"""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_int
from pyforlinux.dma_buf.dma_fence import Fence
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef


class Syncobj(NoCopy):
    """A reference to a ``struct drm_syncobj`` (``drm_syncobj_find`` ..
    ``drm_syncobj_put``); ``with`` or :meth:`close` drops it."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Any) -> None:
        self._raw: Any = raw

    @classmethod
    def lookup_handle(cls, file: Any, handle: int) -> Syncobj:
        """The syncobj of ``file`` (a :class:`~pyforlinux.drm.file.File`) named
        ``handle`` (``drm_syncobj_find``), with a reference of its own.

        Raises:
            Error: ``ENOENT`` for no such handle (or a driver without
                ``SYNCOBJ``: its files have no syncobjs); ``EINVAL`` for a
                handle that is not a u32.
        """
        handle = arg_int(handle, "a syncobj handle", 0, 2**32 - 1)
        raw_file = file.as_raw()
        if not lib.pfl_drm_file_has_syncobjs(raw_file):
            raise Error(code.ENOENT, "the driver has no syncobjs (Driver.SYNCOBJ)")
        raw = lib.drm_syncobj_find(raw_file, handle)
        if raw == ffi.NULL:
            raise Error(code.ENOENT, f"no syncobj with handle {handle}")
        return cls(raw)

    def _live(self, what: str) -> Any:
        if self._raw is None:
            raise Error(code.EINVAL, f"Syncobj.{what} after close()")
        return self._raw

    def replace_fence(self, fence: Fence | None) -> None:
        """Make ``fence`` the syncobj's fence (``drm_syncobj_replace_fence``;
        ``None`` resets it). The syncobj takes its own reference; waiters in
        ``SYNCOBJ_WAIT`` with ``WAIT_FOR_SUBMIT`` wake.

        Raises:
            Error: ``EINVAL`` after close, for a Fence with no reference left
                or something else.
        """
        raw = self._live("replace_fence")
        if fence is None:
            lib.drm_syncobj_replace_fence(raw, ffi.NULL)
            return
        if not isinstance(fence, Fence):
            raise Error(code.EINVAL, f"replace_fence() takes a Fence or None, not {fence!r}")
        f = fence._pin("put in a syncobj")
        try:
            lib.drm_syncobj_replace_fence(raw, f)
        finally:
            Fence._unpin(f)

    def fence(self) -> ARef[Fence] | None:
        """The syncobj's current fence with a reference of its own
        (``drm_syncobj_fence_get``), or ``None`` if it has none: what a
        submit ioctl makes a job depend on (its in-syncobjs).

        Raises:
            Error: ``EINVAL`` after close.
        """
        f = lib.drm_syncobj_fence_get(self._live("fence"))
        if f == ffi.NULL:
            return None
        return Fence.from_c_ref(f)

    def is_signaled(self) -> bool | None:
        """Whether the syncobj's fence has signalled; ``None`` if it has none.

        Raises:
            Error: ``EINVAL`` after close.
        """
        f = lib.drm_syncobj_fence_get(self._live("is_signaled"))
        if f == ffi.NULL:
            return None
        try:
            return bool(lib.dma_fence_is_signaled(f))
        finally:
            lib.dma_fence_put(f)

    def close(self) -> None:
        """Drop the reference (``drm_syncobj_put``). Idempotent."""
        raw, self._raw = self._raw, None
        if raw is not None:
            lib.drm_syncobj_put(raw)

    def __enter__(self) -> Syncobj:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
