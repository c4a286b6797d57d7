"""User memory: the client side of ioctls, and copies that cannot fault.

Mirrors ``rust/kernel/uaccess.rs``. A client lives in a
:class:`UserSpace` (its "process", the runtime's C ``struct pfl_mm``):
memory it maps there gets user addresses in a range of its own, and the
kernel C's own ``copy_{from,to}_user()`` reach it while the client's thread
is inside :meth:`UserSpace.use`. Kernel code reaches user memory only
through :class:`UserSlice` (``copy_from_user``/``copy_to_user``), which
checks that the whole range is mapped and raises ``EFAULT`` otherwise --
so a client passing a garbage pointer in an ioctl struct gets ``EFAULT``,
as from a real kernel, and nothing is touched.

Rust: rust/kernel/uaccess.rs. C header: include/linux/uaccess.h
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code


class UserSpace:
    """A client's address space (a C ``struct pfl_mm``, csrc/runtime/uaccess.c).

    User addresses map to host memory the runtime owns, so kernel C reaches
    it with the real ``copy_from_user()``/``copy_to_user()`` while the
    client's thread is inside :meth:`use`; the Python side (:class:`UserSlice`,
    the client's own :meth:`read`/:meth:`write`) sees the same bytes.
    Mappings are page-rounded with an unmapped guard page after each, so an
    access one past the end faults (``EFAULT``). The space also holds the
    client's file descriptor table (``fd_install``/``fget``).

    The C address space is freed with the object (``weakref.finalize``) or
    by :meth:`close`; it is not a kernel object (no live-object count).
    """

    def __init__(self) -> None:
        mm = lib.pfl_mm_create()
        if mm == ffi.NULL:
            raise Error(code.ENOMEM, "no memory for a user address space")
        self._mm = mm
        self._fin = weakref.finalize(self, lib.pfl_mm_destroy, mm)

    @property
    def c_mm(self) -> Any:
        """The ``struct pfl_mm *`` (for ``pfl_use_mm()``)."""
        return self._mm

    def close(self) -> None:
        """Free the address space now (its mappings and its open fds)."""
        self._fin()

    def alloc(self, size: int) -> int:
        """Map ``size`` zeroed bytes; returns their user address.

        Raises:
            Error: ``EINVAL`` for a size that is not positive; ``ENOMEM``.
        """
        if size <= 0:
            raise Error(code.EINVAL, "user mapping of no bytes")
        addr = int(lib.pfl_mm_map(self._mm, size))
        if not addr:
            raise Error(code.ENOMEM, f"no memory for a user mapping of {size} bytes")
        return addr

    def free(self, addr: int) -> None:
        """Unmap the mapping at ``addr``.

        Raises:
            Error: ``EINVAL`` if nothing is mapped there.
        """
        if lib.pfl_mm_unmap(self._mm, addr) != 0:
            raise Error(code.EINVAL, f"no user mapping at {addr:#x}")

    def _find(self, addr: int, length: int) -> Any:
        if addr < 0 or length < 0 or addr + length >= 1 << 64:
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        p = lib.pfl_mm_host(self._mm, addr, length)
        if p == ffi.NULL:
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        return ffi.buffer(p, length)

    def read(self, addr: int, length: int) -> bytes:
        """The client's own view of its memory (not a kernel path)."""
        return bytes(self._find(addr, length))

    def write(self, addr: int, data: bytes) -> None:
        """The client writes its own memory."""
        self._find(addr, len(data))[:] = data

    @contextlib.contextmanager
    def use(self) -> Iterator[None]:
        """Run kernel C on this thread as this client (``kthread_use_mm()``):
        its ``copy_*_user()`` see this address space and its fd table."""
        old = lib.pfl_use_mm(self._mm)
        try:
            yield
        finally:
            lib.pfl_use_mm(old)


class ProcessMemory:
    """The address space of the host process ``pid`` (a remote runtime
    ``struct pfl_mm``): the C ``copy_{from,to}_user()`` of a task that
    :meth:`use` it go through ``process_vm_readv(2)``/``process_vm_writev(2)``;
    an address the process does not map (or maps without the access), or a
    process that is gone, gives ``EFAULT`` and the process is not touched --
    as a faulting copy in the kernel. This is how the device-node bridge
    (:mod:`pyforlinux.devnode`) runs a real process's ioctl as its task.

    Thread context: any thread; one system call per copy, no lock held.

    C: csrc/runtime/uaccess.c (``pfl_mm_create_remote``); mm/process_vm_access.c
    """

    def __init__(self, pid: int) -> None:
        mm = lib.pfl_mm_create_remote(pid)
        if mm == ffi.NULL:
            raise Error(code.ENOMEM if pid > 0 else code.ESRCH, f"address space of pid {pid}")
        self.pid = pid
        self._mm = mm
        self._finalizer = weakref.finalize(self, lib.pfl_mm_destroy, mm)

    def as_raw(self) -> object:
        """The ``struct pfl_mm *``."""
        return self._mm

    @contextlib.contextmanager
    def use(self) -> Iterator[None]:
        """Make this the calling thread's user memory for the block (as
        :meth:`UserSpace.use`)."""
        old = lib.pfl_use_mm(self._mm)
        try:
            yield
        finally:
            lib.pfl_use_mm(old)

    def read(self, addr: int, length: int) -> bytes:
        """``copy_from_user()`` of ``length`` bytes at ``addr``.

        Raises:
            Error: ``EFAULT`` unless every byte is readable in the process.
        """
        if length == 0:
            return b""
        if not (0 <= addr < 2**64 and 0 < length < 2**40):
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        buf = ffi.new("char[]", length)
        with self.use():
            left = lib.pfl_copy_from_user(buf, ffi.cast("void *", addr), length)
        if left:
            raise Error(code.EFAULT, f"user address {addr:#x} (+{length}) of pid {self.pid}")
        return bytes(ffi.buffer(buf, length))

    def write(self, addr: int, data: bytes) -> None:
        """``copy_to_user()`` of ``data`` at ``addr``.

        Raises:
            Error: ``EFAULT`` unless every byte is writable in the process.
        """
        if not data:
            return
        if not (0 <= addr < 2**64):
            raise Error(code.EFAULT, f"bad user address {addr:#x}")
        with self.use():
            left = lib.pfl_copy_to_user(ffi.cast("void *", addr), data, len(data))
        if left:
            raise Error(code.EFAULT, f"user address {addr:#x} (+{len(data)}) of pid {self.pid}")

    def close(self) -> None:
        """Drop the C address space now (also at garbage collection)."""
        self._finalizer()


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
