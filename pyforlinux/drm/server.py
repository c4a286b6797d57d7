"""Serving a DRM node to other processes over a Unix socket.

The wire protocol carries what ``ioctl(2)`` and ``mmap(2)`` would: each
request is a header ``<IIQ`` (operation, ioctl command, payload length)
and a payload; each reply a header ``<iQ`` (result or ``-errno``, payload
length) and a payload.

=========  ======================  =============================
operation  request payload         reply payload
=========  ======================  =============================
IOCTL      the struct's bytes      the struct as the kernel left it
ALLOC      ``<Q`` length           ``<Q`` user address
READ       ``<QQ`` address, length the client's user memory
WRITE      ``<Q`` address + bytes  (none)
MMAP_RD    ``<QQQ`` offset, start, length   the object's bytes
MMAP_WR    ``<QQ`` offset, start + bytes    (none)
=========  ======================  =============================

Each connection is one open file with the peer's credentials
(``SO_PEERCRED``) and its own user address space. When the peer goes away
-- closes, exits, is killed -- its file is closed and its handles are
released, as the kernel does for a process that dies.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from typing import Any

from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.drm.client import pack_struct, unpack_struct
from pyforlinux.drm.driver import lookup_node
from pyforlinux.error import Error, code
from pyforlinux.uaccess import UserSpace

log = logging.getLogger("pyforlinux.drm.server")

IOCTL, ALLOC, READ, WRITE, MMAP_RD, MMAP_WR = range(1, 7)
_REQ = struct.Struct("<IIQ")
_REP = struct.Struct("<iQ")
MAX_PAYLOAD = 64 << 20
MAX_USER_MEMORY = 256 << 20
"""Bytes of user memory one client may map (ALLOC): ENOMEM past it."""


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class Server(NoCopy):
    """Serve ``node`` on the Unix socket ``path`` until :meth:`close`.

    Raises:
        Error: ``ENOENT`` if ``node`` is not registered.
    """

    def __init__(self, node: str, path: str) -> None:
        lookup_node(node)
        self.node = node
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(16)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.sessions = 0
        self._closing = False
        self._accept = threading.Thread(target=self._accept_loop, name="drm-server", daemon=True)
        self._accept.start()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            _pid, uid, gid = struct.unpack("3i", conn.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            mm = UserSpace(limit=MAX_USER_MEMORY)
            file = lookup_node(self.node).open(self.node, Credential.new(uid, gid=gid), mm)
        except Error as e:
            conn.sendall(_REP.pack(e.to_errno(), 0))
            conn.close()
            return
        try:
            conn.sendall(_REP.pack(0, 0))  # the open succeeded
            while True:
                hdr = _recv_exact(conn, _REQ.size)
                if hdr is None:
                    break
                op, cmd, length = _REQ.unpack(hdr)
                if length > MAX_PAYLOAD:
                    break
                payload = _recv_exact(conn, length) if length else b""
                if payload is None:
                    break
                ret, out = self._handle(file, mm, op, cmd, payload)
                conn.sendall(_REP.pack(ret, len(out)) + out)
        except OSError:
            pass  # the peer vanished
        finally:
            file.close()  # as for a process that exits: handles released
            with self._lock:
                self._conns.discard(conn)
                self.sessions += 1
            conn.close()

    @staticmethod
    def _handle(file: Any, mm: UserSpace, op: int, cmd: int, p: bytes) -> tuple[int, bytes]:
        try:
            if op == IOCTL:
                buf = bytearray(p)
                ret = file.ioctl(cmd, buf)
                return ret, bytes(buf) if ret >= 0 else b""
            if op == ALLOC and len(p) == 8:
                return 0, struct.pack("<Q", mm.alloc(struct.unpack("<Q", p)[0]))
            if op == READ and len(p) == 16:
                addr, n = struct.unpack("<QQ", p)
                return 0, mm.read(addr, min(n, MAX_PAYLOAD))
            if op == WRITE and len(p) >= 8:
                mm.write(struct.unpack("<Q", p[:8])[0], p[8:])
                return 0, b""
            if op == MMAP_RD and len(p) == 24:
                off, start, n = struct.unpack("<QQQ", p)
                with file.mmap(off, start + n) as m:
                    return 0, m.read(start, n)
            if op == MMAP_WR and len(p) >= 16:
                off, start = struct.unpack("<QQ", p[:16])
                with file.mmap(off, start + len(p) - 16) as m:
                    m.write(start, p[16:])
                return 0, b""
            return -code.EINVAL, b""
        except Error as e:
            return e.to_errno(), b""
        except MemoryError:  # never kills the connection's thread
            return -code.ENOMEM, b""

    def close(self) -> None:
        """Stop accepting, disconnect every client (closing their files), wait."""
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self._threads):
            t.join(30)
        self._accept.join(30)
        if os.path.exists(self.path):
            os.unlink(self.path)


class _RemoteMemory:
    def __init__(self, client: SocketClient) -> None:
        self._c = client

    def alloc(self, size: int) -> int:
        return int(struct.unpack("<Q", self._c._request(ALLOC, 0, struct.pack("<Q", size)))[0])

    def read(self, addr: int, length: int) -> bytes:
        return self._c._request(READ, 0, struct.pack("<QQ", addr, length))

    def write(self, addr: int, data: bytes) -> None:
        self._c._request(WRITE, 0, struct.pack("<Q", addr) + data)


class _RemoteMapping(NoCopy):
    def __init__(self, client: SocketClient, offset: int, length: int) -> None:
        self._c, self.offset, self.length = client, offset, length

    def read(self, start: int, n: int) -> bytes:
        return self._c._request(MMAP_RD, 0, struct.pack("<QQQ", self.offset, start, n))

    def write(self, start: int, data: bytes) -> None:
        self._c._request(MMAP_WR, 0, struct.pack("<QQ", self.offset, start) + data)

    def close(self) -> None:
        pass

    def __enter__(self) -> _RemoteMapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SocketClient(NoCopy):
    """A client in another process: the :class:`~pyforlinux.drm.client.Client`
    interface over a :class:`Server`'s socket.

    Raises:
        Error: the errno of a failed open or request; ``ECONNRESET`` if the
            server goes away.
    """

    def __init__(self, path: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(path)
        self._reply()  # the open's result
        self.mm = _RemoteMemory(self)

    def _reply(self) -> bytes:
        hdr = _recv_exact(self._sock, _REP.size)
        if hdr is None:
            raise Error(code.ECONNRESET, "the server went away")
        ret, n = _REP.unpack(hdr)
        data = _recv_exact(self._sock, n) if n else b""
        if data is None:
            raise Error(code.ECONNRESET, "the server went away")
        if ret < 0:
            raise Error(-ret)
        return data

    def _request(self, op: int, cmd: int, payload: bytes) -> bytes:
        self._sock.sendall(_REQ.pack(op, cmd & 0xFFFFFFFF, len(payload)) + payload)
        return self._reply()

    def ioctl(self, cmd: int, arg: bytes) -> tuple[int, bytes]:
        """``ioctl(fd, cmd, arg)`` across the socket."""
        return 0, self._request(IOCTL, cmd, arg)

    def call(self, cmd: int, ctype: str, **fields: int) -> Any:
        """As :meth:`pyforlinux.drm.client.Client.call`."""
        _, out = self.ioctl(cmd, pack_struct(ctype, **fields))
        return unpack_struct(ctype, out)

    def mmap(self, offset: int, length: int) -> _RemoteMapping:
        """A mapping whose reads and writes go across the socket."""
        return _RemoteMapping(self, offset, length)

    def close(self) -> None:
        """Disconnect (the server closes the file)."""
        self._sock.close()

    def __enter__(self) -> SocketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
