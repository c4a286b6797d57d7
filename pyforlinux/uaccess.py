"""User memory: the client side of ioctls, and copies that cannot fault.

Mirrors ``rust/kernel/uaccess.rs``. A client lives in a
:class:`UserSpace` (its "process"): memory it maps there gets user
addresses in a range of its own. Kernel code reaches user memory only
through :class:`UserSlice` (``copy_from_user``/``copy_to_user``), which
checks that the whole range is mapped and raises ``EFAULT`` otherwise --
so a client passing a garbage pointer in an ioctl struct gets ``EFAULT``,
as from a real kernel, and nothing is touched.

Rust: rust/kernel/uaccess.rs. C header: include/linux/uaccess.h
"""

from __future__ import annotations

import bisect
import threading

from pyforlinux._owner import arg_int
from pyforlinux.error import Error, code

_USER_BASE = 0x7F00_0000_0000  # where user mappings start (like mmap's top-down area)
_PAGE = 4096


class UserSpace:
    """A client's address space: user addresses mapped to host buffers.

    ``limit`` (bytes, ``None`` for none) caps the total it may map, like a
    process's ``RLIMIT_AS``: a client served by this process cannot make it
    allocate without bound.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._starts: list[int] = []
        self._maps: dict[int, bytearray] = {}
        self._next = _USER_BASE
        self._limit = limit
        self._mapped = 0

    def alloc(self, size: int) -> int:
        """Map ``size`` zeroed bytes; returns their user address.

        Raises:
            Error: ``EINVAL`` for a size that is not positive; ``ENOMEM``
                past the space's limit or when the host has no memory.
        """
        size = arg_int(size, "user mapping size")
        if size <= 0:
            raise Error(code.EINVAL, "user mapping of no bytes")
        with self._lock:
            if self._limit is not None and size > self._limit - self._mapped:
                raise Error(code.ENOMEM, f"user mapping of {size} bytes: past the "
                                         f"{self._limit}-byte limit of this address space")
            try:
                buf = bytearray(size)
            except (MemoryError, OverflowError):
                raise Error(code.ENOMEM, f"no memory for a {size}-byte user mapping") from None
            self._mapped += size
            addr = self._next
            self._next += (size + _PAGE - 1) // _PAGE * _PAGE + _PAGE  # a guard page
            bisect.insort(self._starts, addr)
            self._maps[addr] = buf
        return addr

    def free(self, addr: int) -> None:
        """Unmap the mapping at ``addr``.

        Raises:
            Error: ``EINVAL`` if nothing is mapped there.
        """
        with self._lock:
            if addr not in self._maps:
                raise Error(code.EINVAL, f"no user mapping at {addr:#x}")
            self._mapped -= len(self._maps[addr])
            del self._maps[addr]
            self._starts.remove(addr)

    def _find(self, addr: int, length: int) -> tuple[bytearray, int]:
        with self._lock:
            i = bisect.bisect_right(self._starts, addr) - 1
            if i >= 0:
                start = self._starts[i]
                buf = self._maps[start]
                off = addr - start
                if 0 <= off and length >= 0 and off + length <= len(buf):
                    return buf, off
        raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")

    def read(self, addr: int, length: int) -> bytes:
        """The client's own view of its memory (not a kernel path)."""
        buf, off = self._find(addr, length)
        return bytes(buf[off : off + length])

    def write(self, addr: int, data: bytes) -> None:
        """The client writes its own memory."""
        buf, off = self._find(addr, len(data))
        buf[off : off + len(data)] = data


class UserSlice:
    """``length`` bytes of user memory at ``addr`` in ``mm``.

    Rust: ``kernel::uaccess::UserSlice``
    """

    def __init__(self, mm: UserSpace, addr: int, length: int) -> None:
        self._mm = mm
        self.addr = addr
        self.length = length

    def read_all(self) -> bytes:
        """``copy_from_user()`` of the whole slice.

        Raises:
            Error: ``EFAULT`` if any byte is not mapped.
        """
        return self._mm.read(self.addr, self.length)

    def write_slice(self, data: bytes) -> None:
        """``copy_to_user()`` of ``data`` at the start of the slice.

        Raises:
            Error: ``EFAULT`` if ``data`` is longer than the slice or any byte
                is not mapped.
        """
        if len(data) > self.length:
            raise Error(code.EFAULT, "write past the end of a user slice")
        self._mm.write(self.addr, data)
