"""The userspace side of DRM: what a client process does.

A :class:`Client` is a process with its own user memory and credentials
that opens a device node (``open(2)``), issues ioctls (``ioctl(2)`` with
the argument struct in its user memory: the real ``drm_ioctl()`` copies it
in and out), maps objects through their mmap offsets (``mmap(2)``) and
closes (``close(2)``). Each call runs as the client's task
(:meth:`Client.acting`). Failures are raised as
:class:`~pyforlinux.error.Error` with the errno ``ioctl(2)`` would set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyforlinux import uapi
from pyforlinux._bindings import ffi
from pyforlinux._owner import S64_MIN, U64_MAX, NoCopy, arg_bytes, arg_int
from pyforlinux.cred import Credential
from pyforlinux.drm import gem
from pyforlinux.drm.file import File, OpenFile, open_node
from pyforlinux.error import Error
from pyforlinux.uaccess import UserSpace

_CHARS = ffi.typeof("char[]")


def pack_struct(ctype: str, **fields: int) -> bytes:
    """The bytes of a ``ctype`` (``"struct drm_version"``, or a struct of a
    loaded driver UAPI header) with ``fields`` set; pointer fields take
    user addresses (ints)."""
    f = _types(ctype)
    ftypes = dict(f.typeof(ctype).fields)
    init = {k: f.cast(ftypes[k].type, v) if ftypes[k].type.kind == "pointer" else v
            for k, v in fields.items()}
    return bytes(f.buffer(f.new(f"{ctype} *", init)))


def unpack_struct(ctype: str, data: bytes) -> Any:
    """A ``ctype`` struct (cffi) from its bytes."""
    f = _types(ctype)
    res = f.new(f"{ctype} *")
    f.memmove(res, data, min(len(data), f.sizeof(ctype)))
    return res


def _types(ctype: str) -> Any:
    try:
        ffi.typeof(ctype)
        return ffi
    except (ffi.error, TypeError):
        return uapi.ffi_for(ctype)  # a driver's own struct


class Client(NoCopy):
    """An open DRM node, from the client's side.

    ``cred``: the client's credentials (default: the caller's).

    Raises:
        Error: ``ENOENT`` for a path that is not a DRM node; ``ENODEV`` if
            no device has that node, it is unplugged, or its driver is
            going away.
    """

    def __init__(self, node: str = "/dev/dri/card0", cred: Credential | None = None) -> None:
        self.node = node
        self.cred = cred or Credential.current()
        self.mm = UserSpace()
        with self.acting():
            self.fd: OpenFile = open_node(node)
        self.file: File[Any] = self.fd.file

    @property
    def cred(self) -> Credential:
        """The client's credentials (``current_cred()`` of its calls)."""
        return self._cred

    @cred.setter
    def cred(self, cred: Credential) -> None:
        self._cred = cred
        # The C struct cred, made once per credential and kept for the
        # process's life (Credential.as_raw): looked up here, not per ioctl.
        self._raw_cred = cred.as_raw()

    @contextmanager
    def acting(self) -> Iterator[None]:
        """Run the block as the client's task: its user memory (``current->mm``)
        and its credentials (``current_cred()``)."""
        with self.mm.use(), self.cred.override():
            yield

    def ioctl(self, cmd: int, arg: bytes) -> tuple[int, bytes]:
        """Issue ``ioctl(fd, cmd, arg)`` with ``arg`` copied to the client's
        user memory; returns the result and the bytes there afterwards.

        Raises:
            Error: the errno of a failed ioctl.
        """
        # Plain values first (user __index__/buffer code runs here, before
        # anything is held), as OpenFile.ioctl converts them.
        cmd = arg_int(cmd, "ioctl cmd", S64_MIN, U64_MAX) & 0xFFFFFFFF
        data = arg_bytes(arg, "data")
        n = len(data)
        mm = self.mm
        c_mm = mm.c_mm  # EBADF once the address space is closed
        # The staged argument is mapped in the client's memory during the
        # call (at least one byte): it counts against the space's limit.
        limited = mm._limit is not None
        if limited:
            mm._charge(n or 1)
        try:
            buf = ffi.new(_CHARS, data)
            # One C call stages the argument, acts as the client's task (its
            # user memory and credentials), makes the ioctl and copies back.
            ret = self.fd._ioctl(cmd, 0, c_mm, self._raw_cred, buf, n)
        finally:
            if limited:
                mm._uncharge(n or 1)
        if ret < 0:
            raise Error(-ret)
        return ret, (ffi.unpack(buf, n) if n else b"")

    def ioctl_ptr(self, cmd: int, addr: int) -> int:
        """Issue ``ioctl(fd, cmd, addr)`` with a raw user address (may be bad).

        Raises:
            Error: the errno of a failed ioctl.
        """
        cmd = arg_int(cmd, "ioctl cmd", S64_MIN, U64_MAX) & 0xFFFFFFFF
        addr = arg_int(addr, "ioctl arg")
        ret = self.fd._ioctl(cmd, addr, self.mm.c_mm, self._raw_cred, ffi.NULL, 0)
        if ret < 0:
            raise Error(-ret)
        return ret

    def call(self, cmd: int, ctype: str, **fields: int) -> Any:
        """Pack ``ctype`` (``"struct drm_nova_gem_create"``) from ``fields``,
        issue ``cmd``, return the struct as the kernel left it (a cffi struct).
        Pointer fields take user addresses (ints, from ``self.mm.alloc``).
        """
        _, out = self.ioctl(cmd, pack_struct(ctype, **fields))
        return unpack_struct(ctype, out)

    def mmap(self, offset: int, length: int) -> gem.Mapping:
        """Map ``length`` bytes at the fake ``offset`` (``mmap(2)`` on the fd)."""
        with self.acting():
            return self.fd.mmap(offset, length)

    def close(self) -> None:
        """Close the file (``close(2)``); idempotent."""
        with self.acting():
            self.fd.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
