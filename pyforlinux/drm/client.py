"""The userspace side of DRM: what a client process does.

A :class:`Client` opens a device node, packs ioctl arguments as the C
structs of the uapi (cffi types from the tree's ``include/uapi/drm``),
issues ioctl-encoded requests -- a command number and the struct's bytes,
exactly what ``ioctl(2)`` carries -- maps objects through their mmap
offsets, and owns a user address space for any buffer it points the
kernel at. Failures are raised as :class:`~pyforlinux.error.Error` with
the errno ``ioctl(2)`` would set.
"""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi
from pyforlinux._owner import NoCopy
from pyforlinux.cred import Credential
from pyforlinux.drm import gem
from pyforlinux.drm.driver import lookup_node
from pyforlinux.drm.file import File
from pyforlinux.error import Error
from pyforlinux.uaccess import UserSpace


def pack_struct(ctype: str, **fields: int) -> bytes:
    """The bytes of a ``ctype`` (``"struct drm_version"``) with ``fields`` set;
    pointer fields take user addresses (ints)."""
    ftypes = dict(ffi.typeof(ctype).fields)
    init = {k: ffi.cast(ftypes[k].type, v) if ftypes[k].type.kind == "pointer" else v
            for k, v in fields.items()}
    return bytes(ffi.buffer(ffi.new(f"{ctype} *", init)))


def unpack_struct(ctype: str, data: bytes) -> Any:
    """A ``ctype`` struct (cffi) from its bytes."""
    res = ffi.new(f"{ctype} *")
    ffi.memmove(res, data, min(len(data), ffi.sizeof(ctype)))
    return res


class Client(NoCopy):
    """An open DRM node, from the client's side.

    Raises:
        Error: ``ENOENT`` for a node that does not exist; ``ENODEV`` if the
            device is going away.
    """

    def __init__(self, node: str = "/dev/dri/card0", cred: Credential | None = None) -> None:
        self.node = node
        self.mm = UserSpace()
        self.file: File[Any] = lookup_node(node).open(node, cred, self.mm)

    def ioctl(self, cmd: int, arg: bytes) -> tuple[int, bytes]:
        """Issue ``ioctl(fd, cmd, arg)``; returns the result and the struct
        bytes as the kernel left them.

        Raises:
            Error: the errno of a failed ioctl.
        """
        buf = bytearray(arg)
        ret = self.file.ioctl(cmd, buf)
        if ret < 0:
            raise Error(-ret)
        return ret, bytes(buf)

    def call(self, cmd: int, ctype: str, **fields: int) -> Any:
        """Pack ``ctype`` (``"struct drm_nova_gem_create"``) from ``fields``,
        issue ``cmd``, return the struct as the kernel left it (a cffi struct).
        Pointer fields take user addresses (ints, from ``self.mm.alloc``).
        """
        _, out = self.ioctl(cmd, pack_struct(ctype, **fields))
        return unpack_struct(ctype, out)

    def mmap(self, offset: int, length: int) -> gem.Mapping:
        """Map ``length`` bytes at the fake ``offset`` (``mmap(2)`` on the fd)."""
        return self.file.mmap(offset, length)

    def close(self) -> None:
        """Close the file (``close(2)``); idempotent."""
        self.file.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
