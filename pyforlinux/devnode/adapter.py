"""The one interface between the device-node bridge and the DRM core.

The bridge (:mod:`pyforlinux.devnode`) only ever calls a :class:`DrmCore`,
which is the real C DRM core through :mod:`pyforlinux.drm.file`'s entry
points, each call run as the task of the real process that made it
(:func:`as_task`: its pid as ``current``'s thread group, its credentials
for ``current_cred()``/``capable()``, its memory for
``copy_from_user``/``copy_to_user``):

- an open is :func:`~pyforlinux.drm.file.open_node` (``drm_stub_open()``,
  ``drm_open()``: a ``struct drm_file`` whose ``pid`` is the process's);
- an ioctl is :meth:`~pyforlinux.drm.file.OpenFile.ioctl` (the real
  ``drm_ioctl()``) with the raw user address: pointers are resolved in the
  calling process (``EFAULT`` when bad);
- a page-cache fill or write-back of a mapping is a
  :meth:`~pyforlinux.drm.file.OpenFile.mmap` of the object covering the
  offset (``drm_gem_mmap()``: its checks apply, e.g. ``EACCES`` without a
  handle), read or written, unmapped;
- the last close (or the process's death) is
  :meth:`~pyforlinux.drm.file.OpenFile.close` (``fput()``: ``drm_release()``).

C: drivers/gpu/drm/drm_file.c (drm_open, drm_release), drm_ioctl.c
(drm_ioctl), drm_gem.c (drm_gem_mmap), drm_vma_manager.c
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from pyforlinux._bindings import lib
from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.drm.file import OpenFile, open_node
from pyforlinux.error import Error, code
from pyforlinux.uaccess import ProcessMemory

_PAGE = 4096
_MMS_MAX = 256

MAX_TRANSFER = 16 << 20
"""Bytes one page-cache fill or write-back may move (:meth:`DrmCore.mmap_read`
allocates that much in this process): a client cannot make the driver
process allocate without bound through the bridge (``ENOMEM`` past it;
FUSE asks for far less, 128 KiB at most by default)."""

_mms: dict[int, ProcessMemory] = {}
_mms_lock = threading.Lock()


def proc_status(pid: int | str, *keys: str, dir_fd: int | None = None) -> dict[str, int]:
    """The first number of each ``Key:`` line of ``/proc/PID/status`` asked
    for (``"Tgid"``, ``"Uid"``: the real uid ...); empty if the process is
    gone or the file cannot be read. With ``dir_fd`` (an fd of a
    ``/proc/PID`` directory), that directory's ``status``."""
    out: dict[str, int] = {}
    try:
        if dir_fd is not None:
            fd = os.open("status", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        else:
            fd = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 1 << 16).decode()
        finally:
            os.close(fd)
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key in keys:
                out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


_TGIDS_MAX = 256
# thread id -> (an fd of its /proc/TID directory, its tgid): the fd pins the
# thread's struct pid, so a lookup through it fails (ESRCH) once that thread
# is gone, and a later thread reusing the id is never given the old answer.
_tgids: dict[int, tuple[int, int]] = {}
_tgids_lock = threading.Lock()


def tgid_of(tid: int) -> int:
    """The process (thread group) of thread ``tid`` (FUSE and seccomp report
    the thread); ``tid`` itself if it is gone.

    Cached per thread: generating ``/proc/TID/status`` costs ~20-50 µs, a
    check that the cached thread is still alive ~4 µs (on every ioctl and
    open the bridge serves). At most :data:`_TGIDS_MAX` are kept.
    """
    with _tgids_lock:
        hit = _tgids.get(tid)
        if hit is not None:
            try:
                os.stat("comm", dir_fd=hit[0])  # ESRCH once the thread is gone
                return hit[1]
            except OSError:
                del _tgids[tid]
                os.close(hit[0])
        try:
            fd = os.open(f"/proc/{tid}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return tid
        # Read through the pinned directory: the answer is that thread's.
        tgid = proc_status(tid, "Tgid", dir_fd=fd).get("Tgid")
        if tgid is None:
            os.close(fd)
            return tid
        _tgids[tid] = (fd, tgid)
        if len(_tgids) > _TGIDS_MAX:
            old = _tgids.pop(next(iter(_tgids)))
            os.close(old[0])
        return tgid


def process_memory(pid: int) -> ProcessMemory:
    """The (cached) address space of host process ``pid``. A remote ``pfl_mm``
    holds nothing but the pid, so one per pid serves every call of that
    process (and a later process reusing the pid is reached by that pid, as
    it should be); at most :data:`_MMS_MAX` are kept, oldest dropped first.

    Raises:
        Error: ``ESRCH`` for a pid that is not positive; ``ENOMEM``.
    """
    with _mms_lock:
        mm = _mms.get(pid)
        if mm is None:
            mm = _mms[pid] = ProcessMemory(pid)
            if len(_mms) > _MMS_MAX:
                del _mms[next(iter(_mms))]  # its finalizer frees it when unused
        return mm


class as_task:  # a context manager, named like one
    """Run the ``with`` block as the task of host process ``pid`` with
    ``cred``: ``current``'s thread group id (``task_tgid(current)``, which
    ``drm_file_alloc()`` records), its credentials (``current_cred()``,
    ``capable()``) and its memory (:class:`~pyforlinux.uaccess.ProcessMemory`
    as ``current``'s mm). All three are restored after the block.

    A plain class rather than three nested context managers: it runs around
    every ioctl of every real client.

    Thread context: the bridge thread serving the call; nothing is shared
    with other threads.
    """

    def __init__(self, pid: int, cred: Credential) -> None:
        self._memory = process_memory(pid)  # keeps the C mm alive for the block
        self._mm = self._memory.as_raw()
        self._cred = cred.as_raw()
        self._pid = pid

    def __enter__(self) -> None:
        task = lib.pfl_current()
        self._task = task
        self._old_tgid = task.tgid
        task.tgid = self._pid
        self._old_mm = lib.pfl_use_mm(self._mm)
        self._old_cred = lib.pfl_set_current_cred(self._cred)

    def __exit__(self, *exc: object) -> None:
        lib.pfl_set_current_cred(self._old_cred)
        lib.pfl_use_mm(self._old_mm)
        self._task.tgid = self._old_tgid


class DrmCore(NoCopy):
    """The C DRM core as the bridge sees it: one ``struct file`` per open.

    Keeps the files it opened (until their release) so that a page
    write-back arriving through an open that may not map the object (FUSE
    writes back a node's dirty pages through any of its opens) is done
    through one that may.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: set[OpenFile] = set()

    def open(self, node: str, pid: int, cred: Credential) -> OpenFile:
        """``open(2)`` of ``node`` by process ``pid`` with ``cred``.

        Raises:
            Error: ``ENOENT`` not a DRM node; ``ENODEV`` no such minor, or
                the device is unplugged or its module going.
        """
        with as_task(pid, cred):
            file = open_node(node)
        with self._lock:
            self._files.add(file)
        return file

    def ioctl(self, file: OpenFile, cmd: int, arg: int, pid: int, cred: Credential) -> int:
        """``ioctl(2)`` by process ``pid``: ``arg`` is its user address of the
        argument. Returns the result or ``-errno`` (``-EFAULT`` for a bad
        pointer), never raises for the client's mistakes."""
        with as_task(pid, cred):
            return file.ioctl(cmd & 0xFFFFFFFF, arg)

    def _spans(self, file: OpenFile, offset: int, length: int
               ) -> Iterator[tuple[int, int, int, int]]:
        """``(position in the request, object's mmap offset, its size, start
        in it)`` for each object that ``[offset, offset+length)`` overlaps;
        gaps (no object) are skipped a page at a time."""
        pos = 0
        while pos < length:
            found = file.mmap_object_at(offset + pos)
            if found is None:
                pos += _PAGE - (offset + pos) % _PAGE
                continue
            start, size = found
            into = offset + pos - start
            n = min(length - pos, size - into)
            yield pos, start, size, into
            pos += n

    def mmap_read(self, file: OpenFile, offset: int, length: int) -> bytes:
        """Bytes at mmap ``offset`` (a page-cache fill): ``length`` bytes,
        zeros where no object lies.

        Raises:
            Error: what ``drm_gem_mmap()`` gives (``EACCES``: the file has no
                handle to the object; ``ENODEV``: unplugged); ``EBADF``;
                ``ENOMEM`` past :data:`MAX_TRANSFER` or with no memory.
        """
        if not 0 <= length <= MAX_TRANSFER:
            raise Error(code.ENOMEM, f"page-cache fill of {length} bytes: more than "
                                     f"{MAX_TRANSFER} at once")
        try:
            out = bytearray(length)
        except MemoryError:
            raise Error(code.ENOMEM, f"no memory for a {length}-byte fill") from None
        for pos, start, size, into in self._spans(file, offset, length):
            n = min(length - pos, size - into)
            with file.mmap(start, size, writable=False) as m:
                out[pos:pos + n] = m.read(into, n)
        return bytes(out)

    def mmap_write(self, file: OpenFile, offset: int, data: bytes) -> None:
        """Store ``data`` at mmap ``offset`` (write-back of pages dirtied
        through a mapping): through ``file``, or if it may not map an object
        (``EACCES``), through another open file that may.

        Raises:
            Error: ``EACCES`` no open file may map it; as :meth:`mmap_read`.
        """
        if len(data) > MAX_TRANSFER:
            raise Error(code.ENOMEM, f"write-back of {len(data)} bytes: more than "
                                     f"{MAX_TRANSFER} at once")
        for pos, start, size, into in self._spans(file, offset, len(data)):
            chunk = data[pos:pos + min(len(data) - pos, size - into)]
            with self._lock:
                others = [f for f in self._files if f is not file]
            err: Error | None = None
            for f in [file, *others]:
                try:
                    with f.mmap(start, size) as m:
                        m.write(into, chunk)
                    err = None
                    break
                except Error as e:
                    if e.errno != code.EACCES and f is file:
                        raise
                    err = err or e
            if err is not None:
                raise err

    def release(self, file: OpenFile) -> None:
        """The last ``close()`` of the open (or the process's death)."""
        with self._lock:
            self._files.discard(file)
        file.close()


def errno_of(e: BaseException) -> int:
    """The negative errno for an exception from the core (``-EIO`` for a bug)."""
    if isinstance(e, Error) and e.errno:
        return -e.errno
    if isinstance(e, MemoryError):
        return -code.ENOMEM  # the client asked for too much: this call fails, serving goes on
    if isinstance(e, OSError) and e.errno:
        return -e.errno
    return -code.EIO
