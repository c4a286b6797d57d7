"""The device-node bridge: real processes open ``/dev/dri/*`` and read ``/sys``.

:class:`Bridge` makes a umockdev testbed directory from the device model
(:mod:`~pyforlinux.devnode.sysfs_view`) and serves it, so that an
unmodified, dynamically linked program run with :meth:`Bridge.environment`
(umockdev's preload, ``UMOCKDEV_DIR``) finds the DRM device with libdrm,
opens its nodes, issues ioctls, maps objects and reads sysfs attributes.

Two ways, chosen at start:

- with ``/dev/fuse``: the testbed is a FUSE filesystem
  (:mod:`~pyforlinux.devnode.fusefs`): device nodes are FUSE files (each
  open a DRM file with the opener's pid and credentials, ioctls as the
  calling task, mmap through the page cache, ``dup``/``fork`` work),
  attributes are live. umockdev's ioctl socket, which its preload insists
  on, serves the ioctls of the descriptors the preload opened, on the file
  of their FUSE open (:meth:`~pyforlinux.devnode.fusefs.TestbedFs.claim`).
- without: the testbed is a plain directory (attribute files hold the
  value read at start), device nodes are ``/dev/null``-like character
  devices so ``mmap`` fails with ``ENODEV`` (logged at start), and each
  connection to umockdev's ioctl socket is one DRM file, ioctls served
  there.

File descriptors the kernel C makes for a client (PRIME dma-bufs, syncobj
and sync_file fds) become real descriptors of programs started through
the launcher (:meth:`Bridge.launch`, ``tools/pfl-launch``; FUSE only):
see :mod:`~pyforlinux.devnode.fds`.

Every DRM call goes through one :class:`~pyforlinux.devnode.adapter.DrmCore`:
the real C DRM core, each call run as the calling process's task.
A client's exit or crash releases its files (FUSE ``release``, or the
socket's end). :meth:`Bridge.close` releases whatever is left.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.devnode import sysfs_view, umockdev
from pyforlinux.devnode.adapter import DrmCore, errno_of
from pyforlinux.devnode.fds import FdServer
from pyforlinux.error import Error, code

log = logging.getLogger("pyforlinux.devnode")

__all__ = ["Bridge", "fuse_available"]


def fuse_available() -> str | None:
    """Why FUSE cannot be used here, or None if it can."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        return f"/dev/fuse: {e.strerror}"
    os.close(fd)
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as e:
        return f"mfusepy/libfuse3 unavailable: {e}"
    return None


class Bridge(NoCopy):
    """Serve the registered DRM devices to real processes under ``testbed``.

    ``testbed`` is made if missing (it must be empty: it becomes the mount
    point); ``fuse=False`` forces the socket-only way.

    Raises:
        Error: ``ENOENT``/``EPROTO`` from :func:`umockdev.check_version`;
            ``ENOTEMPTY`` a non-empty testbed; ``EIO`` the FUSE mount failed.
    """

    def __init__(self, testbed: str, fuse: bool | None = None) -> None:
        self.umockdev_version = umockdev.check_version()
        self.testbed = os.path.abspath(testbed)
        self.core = DrmCore()
        os.makedirs(self.testbed, exist_ok=True)
        if os.listdir(self.testbed):
            raise Error(code.ENOTEMPTY, f"testbed {self.testbed} is not empty")
        why = fuse_available()
        if fuse is None:
            fuse = why is None
        elif fuse and why is not None:
            raise Error(code.ENODEV, f"FUSE requested but {why}")
        self.fuse = fuse
        self.mmap_unavailable = None if fuse else (why or "FUSE not used")
        self.tree = sysfs_view.build()
        self.nodes = sorted(n.node for n in self.tree.values()
                            if isinstance(n, sysfs_view.DevNode))
        self._fs: Any = None
        self._thread: threading.Thread | None = None
        self.fds: FdServer | None = None
        self._fuse_error: BaseException | None = None
        self._sockdir = tempfile.mkdtemp(prefix="pfl-") if fuse else \
            os.path.join(self.testbed, "ioctl")
        try:
            if fuse:
                self._start_fuse()
                # Each descriptor the preload opened is served on its socket,
                # on the file of its FUSE open (one round trip, not three).
                fs: Any = self._fs
                self.fds = FdServer(self._sockdir, fs, self.core)
                self.server = umockdev.SocketServer(
                    self._sockdir, self.nodes, fs.claim, self._sock_ioctl, lambda file: None)
            else:
                log.warning("device-node bridge without FUSE (%s): ioctls are served, "
                            "mmap of a node fails with ENODEV, sysfs attributes are "
                            "snapshots", self.mmap_unavailable)
                sysfs_view.write_snapshot(self.tree, self.testbed, self._mknod)
                self.server = umockdev.SocketServer(
                    self._sockdir, self.nodes, self._sock_open, self._sock_ioctl,
                    lambda state: self.core.release(state[0]))
        except BaseException:
            if self.fds is not None:
                self.fds.close()
            self._stop_fuse()
            raise

    # -- the socket-only way ---------------------------------------------------
    @staticmethod
    def _mknod(path: str) -> None:
        # A /dev/null character device: open/read/write work, mmap gives ENODEV.
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))

    def _sock_open(self, conn: umockdev.Connection) -> tuple[Any, Credential]:
        cred = Credential.new(conn.uid, gid=conn.gid)
        return self.core.open(conn.node, conn.pid, cred), cred

    def _sock_ioctl(self, state: tuple[Any, Credential], pid: int, cmd: int,
                    arg: int) -> tuple[int, int] | None:
        from pyforlinux.devnode import fds

        file, cred = state
        if cmd in fds.FD_IOCTLS:
            if self.fuse:
                return None  # the client's real ioctl(2): trapped if it was launched
            ret = fds.refuse(cmd, pid)
            return -1, -ret
        try:
            ret = self.core.ioctl(file, cmd, arg, pid, cred)
        except Exception as e:
            log.exception("ioctl %#x", cmd)
            ret = errno_of(e)
        return (ret, 0) if ret >= 0 else (-1, -ret)

    # -- the FUSE way --------------------------------------------------------------
    def _start_fuse(self) -> None:
        import mfusepy

        from pyforlinux.devnode.fusefs import TestbedFs

        self._fs = TestbedFs(self.tree, self.core, {"ioctl": self._sockdir}, self.testbed)

        def loop() -> None:
            try:
                mfusepy.FUSE(self._fs, self.testbed, raw_fi=True, foreground=True,
                             allow_other=True, fsname="pyforlinux", max_threads=16)
            except BaseException as e:
                self._fuse_error = e

        # libfuse's fuse_main() chdir()s the whole process to "/" after
        # mounting (fuse_daemonize(), even in the foreground): put it back.
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        here = os.getcwd()
        try:
            self._thread = threading.Thread(target=loop, name="devnode-fuse", daemon=True)
            self._thread.start()
            for _ in range(1000):
                if os.path.ismount(self.testbed) and (here == "/" or os.getcwd() == "/"):
                    self._conn = os.stat(self.testbed).st_dev
                    self._fs.st_dev = self._conn
                    return
                if not self._thread.is_alive():
                    break
                threading.Event().wait(0.005)
            raise Error(code.EIO, f"FUSE mount at {self.testbed} failed: {self._fuse_error!r}")
        finally:
            os.fchdir(cwd)
            os.close(cwd)

    def _stop_fuse(self) -> None:
        if self._thread is None:
            return
        from pyforlinux.devnode.fusefs import umount

        umount(self.testbed)
        self._thread.join(5)
        if self._thread.is_alive():
            # A client still holds a file: abort the connection (as a dying daemon).
            abort = f"/sys/fs/fuse/connections/{os.minor(self._conn)}/abort"
            try:
                with open(abort, "w") as f:
                    f.write("1")
            except OSError as e:
                log.warning("cannot abort FUSE connection: %s", e)
            self._thread.join(30)
        # Files whose release never came (aborted connection): release them now.
        fs = self._fs
        if fs is not None:
            with fs._lock:
                left = [e for e in fs._opens.values() if e.file is not None]
                fs._opens.clear()
            for entry in left:
                try:
                    self.core.release(entry.file)
                except Exception:
                    log.exception("release at bridge close failed")
            fs.drop_runtime_files()
        self._thread = None

    # -- for users ----------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """What to add to a program's environment to run it against the bridge."""
        return umockdev.environment(self.testbed)

    def launch_command(self) -> list[str]:
        """The command prefix that starts a program so that file descriptors
        reach it (``tools/pfl-launch``), to be run with :meth:`environment`.

        Raises:
            Error: ``ENOENT`` the launcher is not built (``make tools``);
                ``EOPNOTSUPP`` the bridge has no FUSE (fds cannot be served).
        """
        from pyforlinux.devnode.fds import launcher

        if not self.fuse:
            raise Error(code.EOPNOTSUPP, "file descriptors reach clients only with FUSE "
                                         f"({self.mmap_unavailable})")
        tool = launcher()
        if tool is None:
            raise Error(code.ENOENT, "tools/pfl-launch is not built (make tools)")
        return [tool]

    def launch(self, argv: Sequence[str], env: dict[str, str] | None = None,
               **popen: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` as a real client of the bridge, through the launcher
        (:meth:`launch_command`), so that PRIME, syncobj and sync_file fds
        reach it as real descriptors (:mod:`~pyforlinux.devnode.fds`).
        ``env`` (default: this process's) gets :meth:`environment` added;
        ``popen`` goes to :class:`subprocess.Popen` (``stdout=...``). The
        launcher exits with 126 and one line on stderr if the bridge could not
        be reached or the seccomp filter not installed.

        Raises:
            Error: as :meth:`launch_command`; ``OSError`` from ``Popen``.

        Thread context: any thread; the client's fd ioctls are then served on
        a bridge thread of its own until its last process exits.
        """
        full = dict(os.environ if env is None else env, **self.environment())
        return subprocess.Popen([*self.launch_command(), *argv], env=full, **popen)

    def open_files(self) -> int:
        """DRM files open through FUSE now (for tests and reports)."""
        return int(self._fs.open_files) if self._fs is not None else 0

    def client_fds(self) -> tuple[int, int]:
        """``(runtime files served as real fds, launched process trees served)``
        now (for tests and reports; both 0 once every client is gone)."""
        if self._fs is None or self.fds is None:
            return 0, 0
        return int(self._fs.runtime_files()), self.fds.listeners()

    def close(self) -> None:
        """Stop serving; every file still open is released."""
        if self.fds is not None:
            self.fds.close()
        self.server.close()
        self._stop_fuse()
        if self.fuse:
            shutil.rmtree(self._sockdir, ignore_errors=True)
        else:  # the snapshot we wrote (the testbed was empty at start)
            for name in os.listdir(self.testbed):
                path = os.path.join(self.testbed, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
