"""umockdev's preload: the environment for clients, and its ioctl socket.

umockdev's preload library (``libumockdev-preload.so.0``, Debian package
``umockdev``) makes an unmodified, dynamically linked program see
``$UMOCKDEV_DIR/dev`` and ``$UMOCKDEV_DIR/sys`` as ``/dev`` and ``/sys``.
Every ``open()`` of an emulated ``/dev`` node also connects to the Unix
socket ``$UMOCKDEV_DIR/ioctl/<node path>`` (the program exits if there is
none), and each ``ioctl()``, ``read()`` and ``write()`` on that descriptor
is sent there.

We serve that socket ourselves rather than through umockdev's GObject API
(``UMockdev.IoctlBase``): that API needs PyGObject (not installable from
wheels on bookworm), wants a list of the pointer fields of every ioctl,
kills the client on a bad pointer instead of failing with ``EFAULT``,
never reports a client's ``close()``, and was 2-3x slower. The wire
protocol below is internal to umockdev, so it is pinned: :func:`check_version`
refuses any umockdev outside the versions it was read from and checked
against (unchanged from 0.16 to 0.19.7; checked with 0.17.16).

Protocol (``src/libumockdev-preload.c``, ``remote_emulate()``): messages
of three ``unsigned long`` (``cmd, arg1, arg2``). The client sends
``IOCTL(request, argp)``, ``READ(buf, count)`` or ``WRITE(buf, count)``;
the server answers ``DONE(result, errno)``, or ``RUN`` (the client
performs the call on the real descriptor and answers ``RES(result,
errno)``: used for ``read``/``write`` and for a descriptor with no DRM file),
or asks for memory with ``READ_MEM``/``WRITE_MEM`` (not used:
a bad pointer there aborts the client; we use ``process_vm_readv``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code

log = logging.getLogger("pyforlinux.devnode")

PRELOAD = "libumockdev-preload.so.0"
#: umockdev versions whose preload speaks the protocol below (read from the
#: sources of 0.16.0 and 0.19.7, run against 0.17.16).
PINNED = ((0, 16, 0), (0, 19, 99))

REQ_IOCTL, REQ_RES, RES_DONE, RES_RUN = 1, 2, 3, 4
REQ_READ, REQ_WRITE = 7, 8
_MSG = struct.Struct("=QQQ")


def version() -> tuple[int, int, int] | None:
    """The installed umockdev's version (``umockdev-run --version``), or None."""
    exe = shutil.which("umockdev-run")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except OSError:
        return None
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)


def check_version() -> tuple[int, int, int]:
    """The umockdev version, if its socket protocol is the pinned one.

    Raises:
        Error: ``ENOENT`` umockdev is not installed; ``EPROTO`` another version.
    """
    v = version()
    if v is None:
        raise Error(code.ENOENT, "umockdev is not installed (Debian: apt-get install umockdev "
                                 "libumockdev0; scripts/deps.sh does it)")
    lo, hi = PINNED
    if not lo <= v <= hi:
        have = ".".join(map(str, v))
        raise Error(code.EPROTO, f"umockdev {have}: its preload's ioctl socket protocol is "
                                 f"pinned to 0.16-0.19 and not checked for {have} "
                                 f"(see pyforlinux/devnode/umockdev.py)")
    return v


def environment(testbed: str) -> dict[str, str]:
    """The variables a client process needs (added to its environment). A
    preload already set (the sanitizer runtime, which must come first) stays
    first."""
    pre = os.environ.get("LD_PRELOAD", "")
    return {"UMOCKDEV_DIR": testbed,
            "LD_PRELOAD": f"{pre} {PRELOAD}".strip()}


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


_CRED = struct.Struct("3i")
_CMSG_SPACE = socket.CMSG_SPACE(_CRED.size)


def _recv_msg(sock: socket.socket) -> tuple[bytes, int] | None:
    """One request and the pid of the process that sent it (0: unknown)."""
    data, anc, _, _ = sock.recvmsg(_MSG.size, _CMSG_SPACE)
    if not data:
        return None
    pid = 0
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = _CRED.unpack(cdata[:_CRED.size])[0]
    if len(data) < _MSG.size:
        rest = _recv_exact(sock, _MSG.size - len(data))
        if rest is None:
            return None
        data += rest
    return data, pid


#: Serves one connection's ioctl: ``(request, argp, pid) -> (result, errno)``;
#: ``None`` to let the client run it on its real descriptor.
IoctlFn = Callable[[int, int, int], "tuple[int, int] | None"]


class Connection:
    """One emulated descriptor's socket (one ``open()`` in the client)."""

    def __init__(self, sock: socket.socket, node: str) -> None:
        self.sock = sock
        self.node = node
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        self.pid, self.uid, self.gid = pid, uid, gid
        _tighten_timer_slack(pid)


def _tighten_timer_slack(pid: int) -> None:
    """After each forwarded ioctl the preload calls ``usleep(0)``, which sleeps
    for the thread's timer slack (50 µs by default): half the cost of an
    ioctl. A real ioctl does not sleep, so the client's main thread gets a
    1 ns slack (``/proc/PID/timerslack_ns``, needs CAP_SYS_NICE; skipped
    silently without it)."""
    try:
        with open(f"/proc/{pid}/timerslack_ns", "w") as f:
            f.write("1")
    except OSError:
        pass


class SocketServer(NoCopy):
    """Listen on ``<sockdir>/dev/dri/<node>`` for each of ``nodes``.

    ``on_open(conn)`` makes the connection's state (``None``: pass every call
    through to the real descriptor); ``on_ioctl(state, pid, request, argp)``
    returns ``(result, errno)``, or None to let the client run the call
    itself on its real descriptor, ``pid`` being the process that sent this
    request (``SCM_CREDENTIALS``: after ``fork()`` parent and child share the
    connection); ``on_close(state)`` runs when the client closes the
    descriptor or dies.
    """

    def __init__(self, sockdir: str, nodes: list[str],
                 on_open: Callable[[Connection], Any],
                 on_ioctl: Callable[[Any, int, int, int], tuple[int, int] | None],
                 on_close: Callable[[Any], None]) -> None:
        self._on_open, self._on_ioctl, self._on_close = on_open, on_ioctl, on_close
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False
        for node in nodes:
            path = os.path.join(sockdir, node.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.exists(path):
                os.unlink(path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            s.bind(path)
            s.listen(64)
            self._listeners.append(s)
            t = threading.Thread(target=self._accept, args=(s, node), daemon=True,
                                 name=f"umockdev-{os.path.basename(node)}")
            t.start()
            self._threads.append(t)

    def _accept(self, listener: socket.socket, node: str) -> None:
        while not self._closing:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(sock)
            t = threading.Thread(target=self._serve, args=(sock, node), daemon=True)
            t.start()

    def _serve(self, sock: socket.socket, node: str) -> None:
        state: Any = None
        opened = False
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            conn = Connection(sock, node)
            try:
                state = self._on_open(conn)
                opened = True
            except (Error, MemoryError) as e:
                # The open() already succeeded in the client: its calls fail.
                log.warning("open of %s by pid %d failed: %s", node, conn.pid, e)
            while True:
                got = _recv_msg(sock)
                if got is None:
                    break
                msg, sender = got
                op, a1, a2 = _MSG.unpack(msg)
                done = None
                if op == REQ_IOCTL and opened and state is not None:
                    done = self._on_ioctl(state, sender or conn.pid, a1 & 0xFFFFFFFF, a2)
                if done is not None:
                    ret, err = done
                    sock.sendall(_MSG.pack(RES_DONE, ret & (2**64 - 1), err))
                elif op == REQ_IOCTL and not opened:
                    sock.sendall(_MSG.pack(RES_DONE, 2**64 - 1, code.ENODEV))
                elif op in (REQ_IOCTL, REQ_READ, REQ_WRITE):
                    # Pass through: the client runs it on its real descriptor
                    # (an fd-carrying ioctl: trapped by the launcher's filter).
                    sock.sendall(_MSG.pack(RES_RUN, 0, 0))
                    res = _recv_exact(sock, _MSG.size)
                    if res is None:
                        break
                    _, result, err = _MSG.unpack(res)
                    sock.sendall(_MSG.pack(RES_DONE, result, err))
                else:
                    log.warning("umockdev protocol: unexpected message %d from pid %d; "
                                "is the preload another version?", op, conn.pid)
                    break
        except OSError:
            pass  # the client vanished
        finally:
            with self._lock:
                self._conns.discard(sock)
            sock.close()
            if opened and state is not None:
                try:
                    self._on_close(state)
                except Exception:
                    log.exception("release of %s failed", node)

    def close(self) -> None:
        """Stop listening and disconnect every client (their files are released)."""
        self._closing = True
        for s in self._listeners:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(30)
