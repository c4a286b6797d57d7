"""The one interface between the device-node bridge and the DRM core.

The bridge (:mod:`pyforlinux.devnode`) only ever calls a :class:`DrmCore`:
open a minor for a task, run an ioctl with that task's user memory, read
and write an object through its mmap offset, release. :class:`PyDrmCore`
implements it over today's DRM layer (:mod:`pyforlinux.drm`); moving the
bridge to the real C core (``drm_open()``/``drm_ioctl()``/``drm_release()``
on a VFS ``struct file``) is a second implementation of this class and
nothing else.

C: drivers/gpu/drm/drm_file.c (drm_open, drm_release), drm_ioctl.c
(drm_ioctl), drm_gem.c (drm_gem_mmap)
"""

from __future__ import annotations

from typing import Any, Protocol

from pyforlinux.cred import Credential
from pyforlinux.devnode.memory import BoundMemory, UserMemory
from pyforlinux.drm import ioctl as drm_ioctl
from pyforlinux.drm.driver import lookup_node
from pyforlinux.error import Error, code


class OpenFile(Protocol):
    """What :meth:`DrmCore.open` returns: opaque to the bridge."""


class DrmCore(Protocol):
    """The DRM core as the bridge sees it (one ``struct file`` per open)."""

    def open(self, node: str, pid: int, cred: Credential, mm: UserMemory) -> Any:
        """``open(2)`` of ``node`` by process ``pid`` with ``cred``; ``mm`` is
        its memory by default (``EFAULT`` on bad pointers).

        Raises:
            Error: ``ENOENT`` no such node; ``ENODEV`` device going away.
        """

    def ioctl(self, file: Any, cmd: int, arg: int, mm: UserMemory) -> int:
        """``ioctl(2)``: ``arg`` is the user address of the argument; ``mm``
        reaches the calling task's memory for this call. Returns the result
        or ``-errno`` (``-EFAULT`` for a bad pointer)."""

    def mmap_read(self, file: Any, offset: int, length: int) -> bytes:
        """Bytes of the objects at mmap ``offset`` (a page-cache fill):
        ``length`` bytes, zeros where no object the file may map lies."""

    def mmap_write(self, file: Any, offset: int, data: bytes) -> None:
        """Store ``data`` at mmap ``offset`` into the objects there
        (write-back of pages dirtied through a mapping)."""

    def release(self, file: Any) -> None:
        """The last ``close()`` of the open (or the process's death)."""


class PyDrmCore:
    """:class:`DrmCore` over the Python DRM layer (:mod:`pyforlinux.drm`)."""

    def open(self, node: str, pid: int, cred: Credential, mm: UserMemory) -> Any:
        """See :meth:`DrmCore.open`."""
        return lookup_node(node).open(node, cred, BoundMemory(mm))

    def ioctl(self, file: Any, cmd: int, arg: int, mm: UserMemory) -> int:
        """See :meth:`DrmCore.ioctl`: the struct is copied in from ``arg``
        for ``_IOC_WRITE`` and out for ``_IOC_READ``, as ``drm_ioctl()`` does."""
        cmd &= 0xFFFFFFFF
        size = drm_ioctl.ioc_size(cmd)
        direction = drm_ioctl.ioc_dir(cmd)
        bound: BoundMemory = file.mm
        with bound.bind(mm):
            try:
                buf = bytearray(mm.read(arg, size) if direction & drm_ioctl._IOC_WRITE
                                else bytes(size))
            except Error as e:
                return e.to_errno()
            ret = file.ioctl(cmd, buf)
            if ret >= 0 and direction & drm_ioctl._IOC_READ:
                try:
                    mm.write(arg, bytes(buf))
                except Error as e:
                    return e.to_errno()
        return int(ret)

    def _spans(self, file: Any, offset: int, length: int) -> list[tuple[int, Any, int, int]]:
        """``(position in the request, object, start in it, bytes)`` for every
        object that the request ``[offset, offset+length)`` overlaps."""
        out = []
        pos = 0
        while pos < length:
            try:
                obj, start = file.dev.vma_lookup(offset + pos)
            except Error:
                obj, start = None, 0
            if obj is None or start >= obj.size():
                # No object here (past one's end, inside its offset range):
                # skip to the next page (objects are page-aligned).
                pos += 4096 - (offset + pos) % 4096
                continue
            n = min(length - pos, obj.size() - start)
            out.append((pos, obj, start, n))
            pos += n
        return out

    def mmap_read(self, file: Any, offset: int, length: int) -> bytes:
        """See :meth:`DrmCore.mmap_read`; the file's access to each object is
        checked as ``drm_gem_mmap()`` does (``EACCES``)."""
        out = bytearray(length)
        for pos, obj, start, n in self._spans(file, offset, length):
            with file.mmap(obj.mmap_offset, start + n) as m:
                out[pos:pos + n] = m.read(start, n)
        return bytes(out)

    def mmap_write(self, file: Any, offset: int, data: bytes) -> None:
        """See :meth:`DrmCore.mmap_write`. Write-back may come through any
        open of the node (the page cache is the node's), so the object is
        found through the device; its pages were read through a checked
        mapping first."""
        from pyforlinux.drm.gem import Mapping

        for pos, obj, start, n in self._spans(file, offset, len(data)):
            with Mapping(obj, start, n) as m:
                m.write(0, data[pos:pos + n])

    def release(self, file: Any) -> None:
        """See :meth:`DrmCore.release`."""
        file.close()


def errno_of(e: BaseException) -> int:
    """The negative errno for an exception from the core (``-EIO`` for a bug)."""
    if isinstance(e, OSError) and e.errno:
        return -e.errno
    return -code.EIO
