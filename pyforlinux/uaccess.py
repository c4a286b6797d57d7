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

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code


class UserSpace:
    """A client's address space (a runtime ``struct pfl_mm``): user
    addresses mapped to zeroed host memory, each mapping followed by an
    unmapped guard page. The C ``copy_{from,to}_user()`` of the task that
    :meth:`use` it see these mappings; any other address faults (``EFAULT``).

    C: csrc/runtime/uaccess.c (``pfl_mm_*``, ``pfl_use_mm``)
    """

    def __init__(self) -> None:
        mm = lib.pfl_mm_create()
        if mm == ffi.NULL:
            raise Error(code.ENOMEM, "user address space")
        self._mm = mm
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, lib.pfl_mm_destroy, mm)

    def as_raw(self) -> object:
        """The ``struct pfl_mm *``."""
        return self._mm

    @contextmanager
    def use(self) -> Iterator[None]:
        """Make this the calling thread's user memory (``kthread_use_mm()``)
        for the block; the previous one is restored after it."""
        old = lib.pfl_use_mm(self._mm)
        try:
            yield
        finally:
            lib.pfl_use_mm(old)

    def alloc(self, size: int) -> int:
        """Map ``size`` zeroed bytes; returns their user address.

        Raises:
            Error: ``EINVAL`` for a size that is not positive; ``ENOMEM``.
        """
        if size <= 0 or size >= 1 << 40:
            raise Error(code.EINVAL, f"user mapping of {size} bytes")
        addr = int(lib.pfl_mm_map(self._mm, size))
        if not addr:
            raise Error(code.ENOMEM, f"user mapping of {size} bytes")
        return addr

    def free(self, addr: int) -> None:
        """Unmap the mapping at ``addr``.

        Raises:
            Error: ``EINVAL`` if nothing is mapped there.
        """
        if not 0 <= addr < 2**64 or lib.pfl_mm_unmap(self._mm, addr) < 0:
            raise Error(code.EINVAL, f"no user mapping at {addr:#x}")

    def _host(self, addr: int, length: int) -> object:
        if not (0 <= addr < 2**64 and 0 <= length < 2**63):
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        p = lib.pfl_mm_host(self._mm, addr, length)
        if p == ffi.NULL:
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        return p

    def read(self, addr: int, length: int) -> bytes:
        """The client's own view of its memory (not a kernel path).

        Raises:
            Error: ``EFAULT`` unless the range lies in one mapping.
        """
        if length == 0:
            return b""
        return bytes(ffi.buffer(self._host(addr, length), length))

    def write(self, addr: int, data: bytes) -> None:
        """The client writes its own memory.

        Raises:
            Error: ``EFAULT`` unless the range lies in one mapping.
        """
        if data:
            ffi.memmove(self._host(addr, len(data)), data, len(data))


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
