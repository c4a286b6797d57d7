"""The testbed as a FUSE filesystem: live sysfs attributes, device nodes
with real ``ioctl``, ``mmap`` through the page cache, ``dup``/``fork``.

Mounted at the umockdev testbed directory (``$UMOCKDEV_DIR``) with
mfusepy (a maintained ctypes binding of libfuse 3's high-level API with
``ioctl``; pyfuse3 has none). A device node is a regular FUSE file:

- ``open``: a :class:`~pyforlinux.devnode.adapter.DrmCore` open with the
  caller's pid, uid and gid (FUSE supplies them); ``release`` (the last
  ``close()`` of the open file, including by the kernel when the process
  dies) releases it. ``dup()``ed and inherited descriptors share the open,
  as in the kernel.
- ``ioctl``: the real ``drm_ioctl()`` as the calling task: it copies the
  argument struct and what its pointers point to from and to the calling
  process (``process_vm_readv``/``writev``), ``EFAULT`` when bad. FUSE has
  copied the struct in and copies its buffer out on success, so the
  buffer is refreshed from the process after the call.
- ``read``/``write`` at an mmap offset: the page cache's fills and
  write-backs of a ``MAP_SHARED`` mapping. Not coherent: the driver sees
  a client's stores when the pages are written back (``msync(MS_SYNC)``,
  ``close()``, or the kernel's periodic write-back), and the client sees
  the driver's changes to a page it already has only after it is dropped
  (a new ``open()``).

Sysfs attribute files are ``direct_io`` (no page cache): each read runs
the attribute's ``show``, each write its ``store``.

``.fd/<n>`` files are files the kernel C made for a client (a dma-buf, a
syncobj file, a sync_file; :mod:`~pyforlinux.devnode.fds`), each holding
the runtime ``struct file`` until its last FUSE open is released:
``read``/``write`` (the page cache of a ``mmap``) go to a mapping of it
(``dma_buf_mmap``), ``ioctl`` to its own ``unlocked_ioctl``.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import stat
import threading
from typing import Any

import mfusepy

from pyforlinux._bindings import lib
from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.devnode import fds
from pyforlinux.devnode.adapter import DrmCore, as_task, errno_of, tgid_of
from pyforlinux.devnode.sysfs_view import Attr, DevNode, Dir, Link, Tree
from pyforlinux.drm import gem
from pyforlinux.drm import ioctl as drm_ioctl
from pyforlinux.error import Error, from_err_ptr
from pyforlinux.uaccess import ProcessMemory

log = logging.getLogger("pyforlinux.devnode")

_NODE_SIZE = 1 << 62  # mmap offsets lie anywhere below this
_MNT_FORCE, _MNT_DETACH = 1, 2


def umount(path: str) -> None:
    """Unmount ``path``; ends the FUSE loop. ``MNT_FORCE`` first: it aborts the
    FUSE connection (``fuse_umount_begin()``), so clients still holding a node
    get ``ENOTCONN`` instead of keeping the loop alive; if they keep the mount
    busy, it is detached (``MNT_DETACH``)."""
    if fds.libc.umount2(os.fsencode(path), _MNT_FORCE) == 0:
        return
    if fds.libc.umount2(os.fsencode(path), _MNT_DETACH) != 0:
        e = ctypes.get_errno()
        if e not in (errno.EINVAL, errno.ENOENT):
            log.warning("umount %s: %s", path, os.strerror(e))


_SEEK_END = 2
FD_DIR = ".fd"
"""The testbed directory of the runtime files given to clients as real fds."""


class RuntimeFile:
    """A runtime ``struct file *`` (``filp``, one reference held) served as
    ``.fd/<name>``: ``size`` bytes (``vfs_llseek(SEEK_END)``: a dma-buf's
    size; 0 for files that cannot seek)."""

    def __init__(self, name: str, filp: Any) -> None:
        self.name, self.filp = name, filp
        self.size = max(0, int(lib.vfs_llseek(filp, 0, _SEEK_END)))
        self.opens = 0
        self.pinned = True  # until the exporter's own open() is made

    def rw(self, offset: int, length: int, data: bytes | None = None) -> bytes:
        """Read ``length`` bytes at ``offset`` (or write ``data`` there)
        through a mapping of the whole file (``f_op->mmap``: for a dma-buf
        ``dma_buf_mmap_internal()``, the exporter's mmap). Past the end:
        nothing (EOF).

        Raises:
            Error: what the file's mmap gives (``ENODEV``: it has none);
                ``EFAULT`` a fault in the mapping; ``ENOMEM``.
        """
        if offset >= self.size or length <= 0:
            return b""
        n = min(length, self.size - offset)
        # SAFETY: self.filp is alive (this .fd file holds a reference while a
        # FUSE open, through which this read or write came, exists).
        vma = from_err_ptr(lib.pfl_drm_mmap(self.filp, 0, self.size,
                                            0 if data is None else 1))
        # One accessor for both kinds of object: gem.Mapping faults through
        # vm_ops->fault (shmem) or uses the object's own accessors.
        try:
            mapping = gem.Mapping(vma, self.size)
        except BaseException:
            lib.pfl_drm_munmap(vma)
            raise
        with mapping as m:
            if data is not None:
                m.write(offset, data[:n])
                return b""
            return m.read(offset, n)


class _Open:
    """One FUSE open: the core's file for a node, or an attribute."""

    def __init__(self, node: Any, file: Any = None, buf: bytes | None = None,
                 cred: Credential | None = None) -> None:
        self.node, self.file, self.buf, self.cred = node, file, buf, cred
        self.released = False


class TestbedFs(NoCopy, mfusepy.Operations):  # type: ignore[misc]
    """``tree`` served by FUSE; device nodes through ``core``."""

    use_ns = True

    def __init__(self, tree: Tree, core: DrmCore, links: dict[str, str],
                 mountpoint: str | None = None) -> None:
        self.mountpoint = mountpoint
        self.tree: Tree = dict(tree)
        for path, target in links.items():
            self.tree[path] = Link(target)
        self.children: dict[str, list[str]] = {"": []}
        for path in sorted(self.tree):
            parent, _, name = path.rpartition("/")
            self.children.setdefault(parent, []).append(name)
            if isinstance(self.tree[path], Dir):
                self.children.setdefault(path, [])
        self.core = core
        self._lock = threading.Lock()
        self._opens: dict[int, _Open] = {}
        self._next = 1
        self.released = threading.Condition()
        self.open_files = 0
        # FUSE opens of a node not yet claimed by umockdev's socket, by (tgid, node).
        self._unclaimed: dict[tuple[int, str], list[_Open]] = {}
        self.children[FD_DIR] = []
        self._runtime: dict[str, RuntimeFile] = {}
        self._dropping = 0  # runtime files whose last fput() is running
        self._next_rt = 1
        self.st_dev: int | None = None  # the mount's, set once mounted (whoami)

    # -- runtime files given to clients (fds.py) --------------------------------
    def add_runtime_file(self, filp: Any) -> str:
        """Serve ``filp`` (its reference passes to the new ``.fd`` file) and
        return its path; pinned until :meth:`unpin_runtime_file`."""
        with self._lock:
            name = str(self._next_rt)
            self._next_rt += 1
            self._runtime[name] = RuntimeFile(name, filp)
        return os.path.join(self.mountpoint or "", FD_DIR, name)

    def unpin_runtime_file(self, path: str) -> None:
        """The exporter's open is made (or failed): from now on the file goes
        with its last FUSE release."""
        with self._lock:
            rt = self._runtime.get(os.path.basename(path))
            if rt is None:
                return
            rt.pinned = False
        self._drop_if_unused(rt)

    def _drop_if_unused(self, rt: RuntimeFile) -> None:
        with self._lock:
            if rt.opens or rt.pinned or self._runtime.get(rt.name) is not rt:
                return
            del self._runtime[rt.name]
            self._dropping += 1  # counted until its fput() has run
        try:
            # SAFETY: the reference this .fd file held; no open is left to use it.
            lib.fput(rt.filp)
        finally:
            with self._lock:
                self._dropping -= 1

    def runtime_files(self) -> int:
        """Runtime files served now, or whose last ``fput()`` is still running
        (for tests and reports: 0 means every one was released)."""
        with self._lock:
            return len(self._runtime) + self._dropping

    def drop_runtime_files(self) -> None:
        """Release every runtime file (the bridge's close, FUSE stopped)."""
        with self._lock:
            left = list(self._runtime.values())
            self._runtime.clear()
        for rt in left:
            lib.fput(rt.filp)

    def whoami(self, fd: int) -> _Open | None:
        """Which open of this filesystem descriptor ``fd`` (of this process)
        is, or None (not on this mount, a directory, not ours)."""
        try:
            if self.st_dev is None or os.fstat(fd).st_dev != self.st_dev:
                return None
            buf = ctypes.c_uint64(0)
            if fds.libc.ioctl(fd, ctypes.c_ulong(fds.WHOAMI), ctypes.byref(buf)) < 0:
                return None
        except OSError:
            return None
        with self._lock:
            return self._opens.get(int(buf.value))

    def _node(self, path: str) -> Any:
        rel = path.strip("/")
        if rel == "" or rel == FD_DIR:
            return Dir()
        if rel.startswith(FD_DIR + "/"):
            with self._lock:
                rt = self._runtime.get(rel[len(FD_DIR) + 1:])
            if rt is None:
                raise mfusepy.FuseOSError(errno.ENOENT)
            return rt
        node = self.tree.get(rel)
        if node is None:
            raise mfusepy.FuseOSError(errno.ENOENT)
        return node

    # -- metadata -------------------------------------------------------------
    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        """``stat()``."""
        node = self._node(path)
        if isinstance(node, Dir):
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if isinstance(node, Link):
            return {"st_mode": stat.S_IFLNK | 0o777, "st_nlink": 1, "st_size": len(node.target)}
        if isinstance(node, Attr):
            return {"st_mode": stat.S_IFREG | node.mode, "st_nlink": 1, "st_size": 4096}
        if isinstance(node, RuntimeFile):
            return {"st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": node.size}
        return {"st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": _NODE_SIZE}

    def readdir(self, path: str, fh: Any) -> list[str]:
        """``readdir()``."""
        rel = path.strip("/")
        if rel == FD_DIR:
            with self._lock:
                return [".", "..", *self._runtime]
        if rel not in self.children:
            raise mfusepy.FuseOSError(errno.ENOTDIR)
        return [".", "..", *self.children[rel]]

    def readlink(self, path: str) -> str:
        """``readlink()``."""
        node = self._node(path)
        if not isinstance(node, Link):
            raise mfusepy.FuseOSError(errno.EINVAL)
        return node.target

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        """``O_TRUNC`` of an attribute before a write: nothing to do."""
        return 0

    # -- open and close -----------------------------------------------------------
    def open(self, path: str, fi: Any) -> int:
        """``open()``: a DRM file for a node, a buffer for an attribute."""
        node = self._node(path)
        accmode = fi.flags & os.O_ACCMODE
        if isinstance(node, Attr):
            if accmode != os.O_RDONLY and node.write is None:
                raise mfusepy.FuseOSError(errno.EACCES)
            if accmode != os.O_WRONLY and not node.mode & 0o444:
                raise mfusepy.FuseOSError(errno.EACCES)
            entry = _Open(node)
            fi.direct_io = 1
        elif isinstance(node, DevNode):
            uid, gid, pid = mfusepy.fuse_get_context()
            cred = Credential.new(uid, gid=gid)
            try:
                file = self.core.open(node.node, tgid_of(pid), cred)
            except Error as e:
                raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
            entry = _Open(node, file, cred=cred)
            with self._lock:
                self._unclaimed.setdefault((tgid_of(pid), node.node), []).append(entry)
            with self.released:
                self.open_files += 1
        elif isinstance(node, RuntimeFile):
            with self._lock:
                if self._runtime.get(node.name) is not node:
                    raise mfusepy.FuseOSError(errno.ENOENT)
                node.opens += 1
            entry = _Open(node)
        else:
            raise mfusepy.FuseOSError(errno.EISDIR)
        with self._lock:
            fh = self._next
            self._next += 1
            self._opens[fh] = entry
        fi.fh = fh
        return 0

    def claim(self, conn: Any) -> tuple[Any, Credential] | None:
        """The core's file (and its opener's credentials) of the FUSE open
        that umockdev's preload connected
        ``conn`` for: the newest unclaimed open of ``conn.node`` by the same
        process (the preload opens, then connects at once, on one thread; an
        older unclaimed one was opened around the preload, e.g. by ``openat``
        in a directory). None (pass every call through to the FUSE file) if
        there is none."""
        with self._lock:
            entries = self._unclaimed.get((conn.pid, conn.node))
            while entries:
                entry = entries.pop()
                if entry.file is not None and not entry.released and entry.cred is not None:
                    return entry.file, entry.cred
        return None

    def _entry(self, fi: Any) -> _Open:
        with self._lock:
            entry = self._opens.get(fi.fh)
        if entry is None:
            raise mfusepy.FuseOSError(errno.EBADF)
        return entry

    def release(self, path: str, fi: Any) -> int:
        """The open's last ``close()`` (also at the process's death)."""
        with self._lock:
            entry = self._opens.pop(fi.fh, None)
            if entry is not None:
                entry.released = True
                for entries in self._unclaimed.values():
                    if entry in entries:
                        entries.remove(entry)
        if entry is not None and isinstance(entry.node, RuntimeFile):
            with self._lock:
                entry.node.opens -= 1
            self._drop_if_unused(entry.node)
        if entry is not None and entry.file is not None:
            try:
                self.core.release(entry.file)
            except Exception:
                log.exception("release of %s failed", path)
            finally:
                with self.released:
                    self.open_files -= 1
                    self.released.notify_all()
        return 0

    # -- data -------------------------------------------------------------------
    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        """An attribute's ``show``; a node's page-cache fill."""
        entry = self._entry(fi)
        if isinstance(entry.node, Attr):
            if entry.buf is None or offset == 0:
                try:
                    entry.buf = entry.node.read()
                except Error as e:
                    raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
            return entry.buf[offset:offset + size]
        try:
            if isinstance(entry.node, RuntimeFile):
                return entry.node.rw(offset, size)
            return self.core.mmap_read(entry.file, offset, size)
        except Error as e:
            raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
        except MemoryError:
            raise mfusepy.FuseOSError(errno.ENOMEM) from None

    def write(self, path: str, data: bytes, offset: int, fi: Any) -> int:
        """An attribute's ``store``; a node's page write-back."""
        entry = self._entry(fi)
        try:
            if isinstance(entry.node, Attr):
                assert entry.node.write is not None  # open() refused it otherwise
                return entry.node.write(data)
            if isinstance(entry.node, RuntimeFile):
                entry.node.rw(offset, len(data), data)
                return len(data)
            self.core.mmap_write(entry.file, offset, data)
        except Error as e:
            raise mfusepy.FuseOSError(e.errno or errno.EIO) from None
        except MemoryError:
            raise mfusepy.FuseOSError(errno.ENOMEM) from None
        return len(data)

    def ioctl(self, path: str, cmd: int, arg: Any, fi: Any, flags: int, data: Any) -> int:
        """``ioctl()`` on a node or a runtime file, as the calling task;
        :data:`~pyforlinux.devnode.fds.WHOAMI` from this process."""
        entry = self._entry(fi)
        uid, gid, tid = mfusepy.fuse_get_context()
        pid = tgid_of(tid)
        cmd &= 0xFFFFFFFF
        size = drm_ioctl.ioc_size(cmd)
        ptr = (data.value if hasattr(data, "value") else data) if size else None
        if cmd == fds.WHOAMI:
            if pid != os.getpid() or not ptr:
                return -errno.ENOTTY
            ctypes.memmove(ptr, ctypes.byref(ctypes.c_uint64(fi.fh)), 8)
            return 0
        if entry.file is None and not isinstance(entry.node, RuntimeFile):
            return -errno.ENOTTY
        if cmd in fds.FD_IOCTLS:
            return fds.refuse(cmd, pid)  # a real ioctl(2) the launcher did not trap
        addr = arg.value if hasattr(arg, "value") else int(arg or 0)
        addr = addr or 0
        cred = Credential.new(uid, gid=gid)
        try:
            if isinstance(entry.node, RuntimeFile):
                with as_task(pid, cred):
                    ret = int(lib.pfl_vfs_ioctl(entry.node.filp, cmd, addr))
            else:
                ret = self.core.ioctl(entry.file, cmd, addr, pid, cred)
        except Exception as e:  # a core bug: fail this call, keep serving
            log.exception("ioctl %#x", cmd)
            return errno_of(e)
        if ret >= 0 and ptr:
            # FUSE copies its buffer out on success: make it what the core
            # left in the process (unreadable now: leave FUSE's copy).
            try:
                ctypes.memmove(ptr, ProcessMemory(pid).read(addr, size), size)
            except Error:
                pass
        return ret
