"""Real file descriptors for the files the kernel C makes for a real client:
PRIME dma-bufs, syncobj files and sync_files.

The unmodified ``drm_prime_handle_to_fd_ioctl()`` installs the dma-buf's
``struct file`` in the fd table of ``current`` -- for a bridge client, the
runtime's table of its remote address space (:func:`~pyforlinux.devnode.
adapter.as_task`), not the real process. This module gives the process a
real descriptor of that file, and gives the kernel C back the file behind a
real descriptor the process passes in:

- The program is started by ``tools/pfl-launch`` (:func:`launcher`; the
  bridge's :meth:`~pyforlinux.devnode.Bridge.launch` does it), which
  installs a seccomp filter trapping only the ioctls of :data:`FD_IOCTLS`
  (``SECCOMP_RET_USER_NOTIF``; inherited by ``fork()``, kept across
  ``exec``) and sends its listener to :class:`FdServer` over
  ``$UMOCKDEV_DIR/ioctl/pfl-fds``.
- umockdev's preload forwards such an ioctl to the bridge, which answers
  "run it yourself" (the protocol's ``RUN``); the real ``ioctl(2)`` is then
  trapped, and a thread of :class:`FdServer` serves the notification: the
  caller's descriptor (``pidfd_getfd(2)``) is asked which FUSE open it is
  (:data:`WHOAMI`, answered by the bridge's own filesystem to this process
  only); a descriptor that is not one of our nodes lets the real kernel run
  the call (``SECCOMP_USER_NOTIF_FLAG_CONTINUE``).
- **Export** (``PRIME_HANDLE_TO_FD``, ``SYNCOBJ_HANDLE_TO_FD``): the real
  ioctl runs on that open's DRM file as the caller's task; the new runtime
  fd's file is taken out of the table (``file_close_fd()``) and becomes a
  FUSE file ``<testbed>/.fd/<n>`` (:class:`~pyforlinux.devnode.fusefs.
  TestbedFs`), which is opened and installed in the caller
  (``SECCOMP_IOCTL_NOTIF_ADDFD``, ``O_CLOEXEC`` as asked); the fd field of
  the caller's struct is rewritten with that number. Reading, writing and
  ``mmap`` of it go through the page cache to a mapping of the file
  (``dma_buf_mmap``); its other ioctls reach the file's own
  (``DMA_BUF_IOCTL_*``, ``SYNC_IOC_*``); its last close (or the process's
  death) is the ``fput()``.
- **Import** (``PRIME_FD_TO_HANDLE``, ``SYNCOBJ_FD_TO_HANDLE``): the caller's
  descriptor's file -- ours (a ``.fd`` file or a node), or else a
  placeholder file none of the kernel C made (``pfl_foreign_file()``) -- is
  installed in the runtime table at the caller's number (``replace_fd()``)
  for the duration of the real ioctl, so the unmodified
  ``dma_buf_get()``/``drm_syncobj_fd_to_handle()`` find it and answer what
  the kernel answers (``EINVAL`` for a file that is not a dma-buf, ``EBADF``
  for a closed descriptor).

Without the launcher, the same ioctls fail with ``EOPNOTSUPP`` and one
logged line naming the launcher command (:func:`refuse`).

C: drivers/gpu/drm/drm_prime.c, drm_syncobj.c, drivers/dma-buf/dma-buf.c;
kernel/seccomp.c (user notification, ``ADDFD``), kernel/pid.c
(``pidfd_getfd``); csrc/runtime/vfs.c (``file_close_fd``, ``replace_fd``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.devnode.adapter import as_task, errno_of, proc_status, process_memory, tgid_of
from pyforlinux.drm.file import OpenFile
from pyforlinux.error import Error, code, syscall_exit_errno

if TYPE_CHECKING:
    from pyforlinux.devnode.adapter import DrmCore
    from pyforlinux.devnode.fusefs import TestbedFs

log = logging.getLogger("pyforlinux.devnode")

SOCKET_NAME = "pfl-fds"
"""The launcher's socket, in the testbed's ``ioctl`` directory."""

@dataclass(frozen=True)
class FdIoctl:
    """How one fd-carrying ioctl is served: on a DRM node's file (``"node"``)
    or on a runtime file given as an fd (``"file"``: a dma-buf, a
    sync_file); the byte offsets in its argument struct of an fd the caller
    passes (``fd_in``) and of one the call returns (``fd_out``); and whether
    the returned fd is ``O_CLOEXEC`` -- always (what the kernel's
    ``get_unused_fd_flags(O_CLOEXEC)`` gives) or as the ``__u32 flags`` at
    byte 4 say (``DRM_CLOEXEC``, PRIME)."""

    name: str
    on: str
    fd_in: int | None
    fd_out: int | None
    cloexec_from_flags: bool = False


_DRM_CLOEXEC = 0o2000000
_FLAGS_AT = 4

FD_IOCTLS: dict[int, FdIoctl] = {
    int(lib.DRM_IOCTL_PRIME_HANDLE_TO_FD) & 0xFFFFFFFF:
        FdIoctl("PRIME_HANDLE_TO_FD", "node", None, 8, cloexec_from_flags=True),
    int(lib.DRM_IOCTL_PRIME_FD_TO_HANDLE) & 0xFFFFFFFF:
        FdIoctl("PRIME_FD_TO_HANDLE", "node", 8, None),
    int(lib.DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD) & 0xFFFFFFFF:
        FdIoctl("SYNCOBJ_HANDLE_TO_FD", "node", None, 8),
    int(lib.DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE) & 0xFFFFFFFF:
        FdIoctl("SYNCOBJ_FD_TO_HANDLE", "node", 8, None),
    int(lib.SYNC_IOC_MERGE) & 0xFFFFFFFF:  # struct sync_merge_data
        FdIoctl("SYNC_IOC_MERGE", "file", 32, 36),
    int(lib.DMA_BUF_IOCTL_EXPORT_SYNC_FILE) & 0xFFFFFFFF:
        FdIoctl("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", "file", None, 4),
    int(lib.DMA_BUF_IOCTL_IMPORT_SYNC_FILE) & 0xFFFFFFFF:
        FdIoctl("DMA_BUF_IOCTL_IMPORT_SYNC_FILE", "file", 4, None),
}
"""Every ioctl that carries a file descriptor, of a DRM node (``struct
drm_prime_handle``, ``struct drm_syncobj_handle``: fd at byte 8) or of a
dma-buf / sync_file fd (``struct sync_merge_data``: ``fd2`` at 32, ``fence``
at 36; ``struct dma_buf_{export,import}_sync_file``: fd at 4). The
launcher's filter traps these (tools/pfl-launch.c lists the same)."""


WHOAMI = (2 << 30) | (8 << 16) | (ord("P") << 8) | 0xF0
"""``_IOR('P', 0xf0, __u64)``: asked by this process of a FUSE file of the
testbed, the FUSE file handle of that open (other callers get ``ENOTTY``)."""

# linux/seccomp.h (x86_64; checked against the uapi header's sizes: 80, 24, 24)
_NOTIF_RECV, _NOTIF_SEND, _NOTIF_ID_VALID, _NOTIF_ADDFD = (
    0xC0502100, 0xC0182101, 0x40082102, 0x40182103)
_FLAG_CONTINUE = 1
_NR_PIDFD_GETFD = 438


class _SeccompData(ctypes.Structure):
    _fields_ = [("nr", ctypes.c_int32), ("arch", ctypes.c_uint32),
                ("ip", ctypes.c_uint64), ("args", ctypes.c_uint64 * 6)]


class _Notif(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("pid", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("data", _SeccompData)]


class _Resp(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("val", ctypes.c_int64),
                ("error", ctypes.c_int32), ("flags", ctypes.c_uint32)]


class _AddFd(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("flags", ctypes.c_uint32),
                ("srcfd", ctypes.c_uint32), ("newfd", ctypes.c_uint32),
                ("newfd_flags", ctypes.c_uint32)]


libc = ctypes.CDLL(None, use_errno=True)
"""This process's C library, for the bridge's raw system calls (``ioctl``,
``syscall``, ``umount2``): ctypes releases the GIL around them (fcntl.ioctl
would not: a blocking seccomp RECV would stop every Python thread)."""
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.syscall.restype = ctypes.c_long


def _ioctl(fd: int, req: int, arg: Any) -> int:
    ret = int(libc.ioctl(fd, req, ctypes.byref(arg)))
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def pidfd_getfd(pidfd: int, fd: int) -> int:
    """A duplicate, in this process, of descriptor ``fd`` of the process of
    ``pidfd`` (``pidfd_getfd(2)``; needs ptrace access, i.e. root here).

    Raises:
        OSError: ``EBADF`` the process has no such descriptor; ``ESRCH`` it
            is gone; ``EPERM`` no ptrace access.
    """
    ret = int(libc.syscall(ctypes.c_long(_NR_PIDFD_GETFD), ctypes.c_int(pidfd),
                            ctypes.c_int(fd), ctypes.c_uint(0)))
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def launcher() -> str | None:
    """Path of the built launcher (``make tools``: ``<build>/tools/pfl-launch``), or None."""
    from pyforlinux._bindings import build_dir

    path = build_dir() / "tools" / "pfl-launch"
    return str(path) if path.exists() else None


_refused: set[int] = set()
_refused_lock = threading.Lock()


def refuse(cmd: int, pid: int) -> int:
    """``-EOPNOTSUPP`` for an fd-carrying ioctl of a process not started
    through the launcher, with one logged line (once per process) saying
    how to start it."""
    with _refused_lock:
        first = pid not in _refused
        _refused.add(pid)
        if len(_refused) > 4096:
            _refused.clear()
    if first:
        spec = FD_IOCTLS.get(cmd)
        log.warning("pid %d: %s passes a file descriptor, which needs the program "
                    "started through the launcher: %s PROGRAM [ARGS...] (with the "
                    "bridge's environment); failing it with EOPNOTSUPP", pid,
                    spec.name if spec else f"ioctl {cmd:#x}",
                    launcher() or "<build>/tools/pfl-launch (make tools)")
    return -code.EOPNOTSUPP


class FdServer(NoCopy):
    """Takes the seccomp listeners that launchers send to
    ``<sockdir>/pfl-fds`` and serves their notifications (one thread per
    listener, i.e. per launched process tree, until its last process exits).

    Thread context: its own threads; each notification is served on the
    thread of its listener, so one process tree's fd ioctls are sequential.
    """

    def __init__(self, sockdir: str, fs: TestbedFs, core: DrmCore) -> None:
        self.fs, self.core = fs, core
        self.path = os.path.join(sockdir, SOCKET_NAME)
        self._closing = False
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self._sock.listen(16)
        self._accepter = threading.Thread(target=self._accept, daemon=True,
                                          name="devnode-fds-accept")
        self._accepter.start()

    def listeners(self) -> int:
        """Process trees being served now (for tests and reports)."""
        with self._lock:
            return sum(t.is_alive() for t in self._threads)

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(30)
                    _, fds, _, _ = socket.recv_fds(conn, 1, 1)
                except OSError as e:
                    log.warning("launcher connection: %s", e)
                    continue
                if len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    continue
                t = threading.Thread(target=self._serve, args=(fds[0],), daemon=True,
                                     name="devnode-fds")
                with self._lock:
                    if self._closing:
                        os.close(fds[0])
                        return
                    self._threads = [x for x in self._threads if x.is_alive()]
                    self._threads.append(t)
                t.start()
                try:
                    conn.sendall(b"K")
                except OSError:
                    pass

    def _serve(self, lfd: int) -> None:
        poller = select.poll()
        poller.register(lfd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while not self._closing:
                events = dict(poller.poll())
                if self._closing or self._wake_r in events:
                    return
                ev = events.get(lfd, 0)
                if ev & select.POLLIN:
                    req = _Notif()
                    try:
                        _ioctl(lfd, _NOTIF_RECV, req)
                    except OSError as e:
                        if e.errno == code.ENOENT:
                            continue  # the caller died meanwhile
                        log.warning("fd bridge: the descriptor sent to %s is not a seccomp "
                                    "listener (%s): dropped", SOCKET_NAME, e.strerror)
                        return
                    self._notification(lfd, req)
                elif ev & (select.POLLHUP | select.POLLERR):
                    return  # no process of the tree is left
        finally:
            os.close(lfd)

    # -- one notification --------------------------------------------------------
    def _respond(self, lfd: int, req: _Notif, ret: int | None) -> None:
        """``ret``: the ioctl's result or ``-errno``; None lets the kernel run it."""
        resp = _Resp(id=req.id)
        if ret is None:
            resp.flags = _FLAG_CONTINUE
        elif ret < 0:
            resp.error = ret
        else:
            resp.val = ret
        try:
            _ioctl(lfd, _NOTIF_SEND, resp)
        except OSError:
            pass  # the caller was killed meanwhile (ENOENT)

    def _notification(self, lfd: int, req: _Notif) -> None:
        tid = int(req.pid)
        args = req.data.args
        fd = ctypes.c_int32(args[0] & 0xFFFFFFFF).value
        cmd, arg = int(args[1]) & 0xFFFFFFFF, int(args[2])
        pid = tgid_of(tid)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return self._respond(lfd, req, -code.ESRCH)
        try:
            # The pid was the caller's when the notification was still pending.
            _ioctl(lfd, _NOTIF_ID_VALID, ctypes.c_uint64(req.id))
        except OSError:
            os.close(pidfd)
            return None
        try:
            ret = self._serve_call(lfd, req, pidfd, pid, fd, cmd, arg)
        except Exception as e:  # a bug here fails the call, serving goes on
            log.exception("fd ioctl %#x of pid %d", cmd, pid)
            ret = errno_of(e)
        finally:
            os.close(pidfd)
        self._respond(lfd, req, ret)
        return None

    def _serve_call(self, lfd: int, req: _Notif, pidfd: int, pid: int, fd: int,
                    cmd: int, arg: int) -> int | None:
        spec = FD_IOCTLS.get(cmd)
        try:
            dup = pidfd_getfd(pidfd, fd)
        except OSError as e:
            return -(e.errno or code.EBADF)
        try:
            entry = self.fs.whoami(dup)
        finally:
            os.close(dup)
        call = _call_on(entry, spec, pid, cmd, arg, self.core)
        if call is None or spec is None:
            return None  # not one of ours: the real kernel's business
        run, cred = call
        mem = process_memory(pid)
        if spec.fd_in is not None:
            ret = self._with_import(run, cred, pidfd, pid, arg + spec.fd_in, mem)
        else:
            ret = run()
        if ret < 0 or spec.fd_out is None:
            return ret
        return self._export(lfd, req, spec, cred, pid, arg, mem)

    def _export(self, lfd: int, req: _Notif, spec: FdIoctl, cred: Credential, pid: int,
                arg: int, mem: Any) -> int:
        """The runtime fd the call wrote at ``spec.fd_out`` becomes a real fd
        of the caller, whose number replaces it there."""
        assert spec.fd_out is not None
        try:
            head = mem.read(arg, spec.fd_out + 4)
        except Error as e:  # unmapped meanwhile by another thread
            _sweep(pid, cred)
            return -(e.errno or code.EFAULT)
        rfd = struct.unpack_from("i", head, spec.fd_out)[0]
        cloexec = True
        if spec.cloexec_from_flags:
            cloexec = bool(struct.unpack_from("I", head, _FLAGS_AT)[0] & _DRM_CLOEXEC)
        with as_task(pid, cred):
            filp = lib.file_close_fd(rfd) if 0 <= rfd else ffi.NULL
        if filp == ffi.NULL:  # the struct was changed meanwhile
            log.warning("%s of pid %d: no runtime file at fd %d", spec.name, pid, rfd)
            _sweep(pid, cred)
            return -code.EIO
        # SAFETY: filp's reference (taken out of the table) goes to the .fd file.
        path = self.fs.add_runtime_file(filp)
        try:
            ours = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        finally:
            self.fs.unpin_runtime_file(path)
        try:
            add = _AddFd(id=req.id, srcfd=ours, newfd_flags=os.O_CLOEXEC if cloexec else 0)
            try:
                nfd = _ioctl(lfd, _NOTIF_ADDFD, add)
            except OSError as e:
                return -(e.errno or code.EIO)
        finally:
            os.close(ours)  # the client's descriptor keeps the open
        try:
            mem.write(arg + spec.fd_out, struct.pack("i", nfd))
        except Error as e:
            return -(e.errno or code.EFAULT)
        return 0

    def _with_import(self, run: Callable[[], int], cred: Credential, pidfd: int, pid: int,
                     at: int, mem: Any) -> int:
        """``run()`` with the file of the caller's fd at address ``at`` in the
        runtime table at that number (what the kernel C's ``fget()`` finds)."""
        try:
            fd = struct.unpack("i", mem.read(at, 4))[0]
        except Error:
            return -code.EFAULT
        if fd < 0:
            return run()  # EBADF from the kernel C
        try:
            dup = pidfd_getfd(pidfd, fd)
        except OSError:
            return run()  # not open: EBADF from the kernel C
        try:
            entry = self.fs.whoami(dup)
        finally:
            os.close(dup)
        filp = _file_of(entry)
        try:
            with as_task(pid, cred):
                # SAFETY: replace_fd takes its own reference; ours is dropped below.
                slot = int(lib.replace_fd(fd, filp, 0))
            if slot == -code.EBADF:
                return self._import_renumbered(run, cred, pid, at, fd, filp, mem)
            if slot < 0:
                return slot
            try:
                return run()
            finally:
                with as_task(pid, cred):
                    lib.close_fd(fd)
        finally:
            lib.fput(filp)

    def _import_renumbered(self, run: Callable[[], int], cred: Credential, pid: int,
                           at: int, fd: int, filp: Any, mem: Any) -> int:
        """The caller's number lies past the runtime's table: the file goes at
        a free number, written into the caller's struct for the call and put
        back after (the struct is the caller's, blocked in this ioctl)."""
        with as_task(pid, cred):
            slot = int(lib.get_unused_fd_flags(0))
            if slot < 0:
                return slot
            lib.fd_install(slot, lib.get_file(filp))
        try:
            mem.write(at, struct.pack("i", slot))
            try:
                return run()
            finally:
                mem.write(at, struct.pack("i", fd))
        except Error as e:
            return -(e.errno or code.EFAULT)
        finally:
            with as_task(pid, cred):
                lib.close_fd(slot)

    def close(self) -> None:
        """Stop: no new launcher is taken; each listener is closed (a process
        still running then gets ``ENOSYS`` from a trapped ioctl)."""
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        os.write(self._wake_w, b"x")
        self._accepter.join(30)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(30)
        os.close(self._wake_r)
        os.close(self._wake_w)
        try:
            os.unlink(self.path)
        except OSError:
            pass


def credential_of(pid: int) -> Credential:
    """The real uid and gid of process ``pid`` (``/proc/PID/status``), for a
    call on a runtime file (which, unlike a node's open, records no opener);
    ``EPERM``-like nobody (65534) if the process is gone."""
    ids = proc_status(pid, "Uid", "Gid")
    return Credential.new(ids.get("Uid", 65534), gid=ids.get("Gid", 65534))


def _call_on(entry: Any, spec: FdIoctl | None, pid: int, cmd: int, arg: int,
             core: DrmCore) -> tuple[Callable[[], int], Credential] | None:
    """The real ioctl on what the caller's descriptor is, as its task, with
    the credentials to run it as; None if it is not ours or not this kind."""
    from pyforlinux.devnode.fusefs import RuntimeFile

    if entry is None or spec is None:
        return None
    if spec.on == "node" and isinstance(entry.file, OpenFile) and entry.cred is not None:
        file, cred = entry.file, entry.cred
        return (lambda: core.ioctl(file, cmd, arg, pid, cred)), cred
    if spec.on == "file" and isinstance(entry.node, RuntimeFile):
        rt, fcred = entry.node, credential_of(pid)

        def run() -> int:
            with as_task(pid, fcred):
                # SAFETY: rt.filp is alive: the caller's descriptor holds its open.
                ret = int(lib.pfl_vfs_ioctl(rt.filp, cmd, arg))
            return -syscall_exit_errno(ret) if ret < 0 else ret
        return run, fcred
    return None


def _sweep(pid: int, cred: Credential) -> None:
    """Close every file left in ``pid``'s runtime fd table: after a failed
    export nothing the kernel C installed for the process may stay there
    (its fd ioctls are served one at a time, and only they install files)."""
    with as_task(pid, cred):
        for fd in range(int(lib.PFL_MAX_FDS)):
            lib.close_fd(fd)


def _file_of(entry: Any) -> Any:
    """A referenced ``struct file *`` for what a client's descriptor is: a
    ``.fd`` file's runtime file, a node's DRM file, else a foreign file.

    Raises:
        Error: ``ENOMEM``.
    """
    from pyforlinux.devnode.fusefs import RuntimeFile

    if entry is not None and isinstance(entry.node, RuntimeFile):
        return lib.get_file(entry.node.filp)
    if entry is not None and isinstance(entry.file, OpenFile):
        try:
            return entry.file._get()
        except Error:
            pass
    filp = lib.pfl_foreign_file()
    if filp == ffi.NULL or int(ffi.cast("intptr_t", filp)) < 0:
        raise Error(code.ENOMEM, "no memory for a foreign file")
    return filp
