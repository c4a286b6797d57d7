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
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_bytes, arg_int
from pyforlinux.error import Error, code


class UserSpace(NoCopy):
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

    ``limit`` (bytes, ``None`` for none) caps the total it may map, like a
    process's ``RLIMIT_AS``: a client cannot make the process serving it
    allocate without bound (:meth:`alloc` gives ``ENOMEM`` past it).
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = None if limit is None else arg_int(limit, "address space limit")
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}  # user address -> bytes mapped there
        self._mapped = 0
        mm = lib.pfl_mm_create()
        if mm == ffi.NULL:
            raise Error(code.ENOMEM, "no memory for a user address space")
        self._mm = mm
        self._closed = False  # set by close(): read per call instead of _fin.alive
        self._fin = weakref.finalize(self, lib.pfl_mm_destroy, mm)

    @property
    def c_mm(self) -> Any:
        """The ``struct pfl_mm *`` (for ``pfl_use_mm()``).

        Raises:
            Error: ``EBADF`` after :meth:`close` (never a freed address space).
        """
        if self._closed:
            raise Error(code.EBADF, "user address space is closed")
        return self._mm

    def close(self) -> None:
        """Free the address space now (its mappings and its open fds)."""
        self._closed = True
        self._fin()

    def alloc(self, size: int) -> int:
        """Map ``size`` zeroed bytes; returns their user address.

        Raises:
            Error: ``EINVAL`` for a size that is not positive; ``ENOMEM``
                past the space's ``limit`` or when the host has no memory.
        """
        size = arg_int(size, "user mapping size")
        if size <= 0:
            raise Error(code.EINVAL, "user mapping of no bytes")
        with self._lock:
            self._charge_locked(size)
            addr = int(lib.pfl_mm_map(self.c_mm, size))
            if not addr:
                self._mapped -= size
                raise Error(code.ENOMEM, f"no memory for a user mapping of {size} bytes")
            self._sizes[addr] = size
        return addr

    def _charge_locked(self, size: int) -> None:
        # Count size more bytes mapped; ENOMEM past the limit. self._lock held.
        if self._limit is not None and size > self._limit - self._mapped:
            raise Error(code.ENOMEM, f"user mapping of {size} bytes: past the "
                                     f"{self._limit}-byte limit of this address space")
        self._mapped += size

    def _charge(self, size: int) -> None:
        """Count a mapping of ``size`` (> 0) bytes that C makes and unmaps
        itself (an ioctl's staged argument, ``pfl_drm_ioctl_as()``) against
        the limit until :meth:`_uncharge`.

        Raises:
            Error: ``ENOMEM`` past the space's ``limit``.
        """
        with self._lock:
            self._charge_locked(size)

    def _uncharge(self, size: int) -> None:
        with self._lock:
            self._mapped -= size

    def free(self, addr: int) -> None:
        """Unmap the mapping at ``addr``.

        Raises:
            Error: ``EINVAL`` if nothing is mapped there.
        """
        addr = arg_int(addr, "user address")
        with self._lock:
            if lib.pfl_mm_unmap(self.c_mm, addr) != 0:
                raise Error(code.EINVAL, f"no user mapping at {addr:#x}")
            self._mapped -= self._sizes.pop(addr, 0)

    def _find(self, addr: int, length: int) -> Any:
        # Plain ints only (converted by the callers): no user code runs below.
        if addr < 0 or length < 0 or addr + length >= 1 << 64:
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        p = lib.pfl_mm_host(self.c_mm, addr, length)
        if p == ffi.NULL:
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        return ffi.buffer(p, length)

    def read(self, addr: int, length: int) -> bytes:
        """The client's own view of its memory (not a kernel path)."""
        addr = arg_int(addr, "user address")
        length = arg_int(length, "length")
        return bytes(self._find(addr, length))

    def write(self, addr: int, data: bytes) -> None:
        """The client writes its own memory (``data`` converted first: its
        real length is what is bounds-checked and written)."""
        addr = arg_int(addr, "user address")
        data = arg_bytes(data, "data")
        self._find(addr, len(data))[:] = data

    @contextlib.contextmanager
    def use(self) -> Iterator[None]:
        """Run kernel C on this thread as this client (``kthread_use_mm()``):
        its ``copy_*_user()`` see this address space and its fd table."""
        old = lib.pfl_use_mm(self.c_mm)
        try:
            yield
        finally:
            lib.pfl_use_mm(old)


MAX_COPY = 64 << 20
"""Bytes one :meth:`ProcessMemory.read` may copy (and so allocate) at once:
a client of the device-node bridge cannot make the driver process allocate
without bound through it (``ENOMEM`` past it)."""


class ProcessMemory(NoCopy):
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
        """The ``struct pfl_mm *``.

        Raises:
            Error: ``EBADF`` after :meth:`close`.
        """
        if not self._finalizer.alive:
            raise Error(code.EBADF, f"address space of pid {self.pid} is closed")
        return self._mm

    @contextlib.contextmanager
    def use(self) -> Iterator[None]:
        """Make this the calling thread's user memory for the block (as
        :meth:`UserSpace.use`)."""
        old = lib.pfl_use_mm(self.as_raw())
        try:
            yield
        finally:
            lib.pfl_use_mm(old)

    def read(self, addr: int, length: int) -> bytes:
        """``copy_from_user()`` of ``length`` bytes at ``addr``.

        Raises:
            Error: ``EFAULT`` unless every byte is readable in the process;
                ``ENOMEM`` for more than :data:`MAX_COPY` bytes (what one call
                may make the serving process allocate) or no memory;
                ``EINVAL`` for arguments that are not integers.
        """
        addr = arg_int(addr, "user address", -(1 << 63), 1 << 64)
        length = arg_int(length, "length", -(1 << 63), 1 << 64)
        if length == 0:
            return b""
        if not (0 <= addr < 2**64 and 0 < length < 2**40):
            raise Error(code.EFAULT, f"bad user address {addr:#x} (+{length})")
        if length > MAX_COPY:
            raise Error(code.ENOMEM, f"copy of {length} bytes from pid {self.pid}: "
                                     f"more than {MAX_COPY} in one call")
        try:
            with self.use():
                data = _copy_in(addr, length)
        except MemoryError:
            raise Error(code.ENOMEM, f"no memory for a {length}-byte copy") from None
        if data is None:
            raise Error(code.EFAULT, f"user address {addr:#x} (+{length}) of pid {self.pid}")
        return data

    def write(self, addr: int, data: bytes) -> None:
        """``copy_to_user()`` of ``data`` at ``addr``.

        Raises:
            Error: ``EFAULT`` unless every byte is writable in the process.
        """
        addr = arg_int(addr, "user address", -(1 << 63), 1 << 64)
        data = arg_bytes(data, "data")
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


def _copy_in(addr: int, length: int) -> bytes | None:
    """``length`` (> 0) bytes at ``addr`` of the current task's user memory
    (the real ``copy_from_user()``), or None unless every byte was readable."""
    buf = ffi.new("char[]", length)
    if lib.pfl_copy_from_user(buf, ffi.cast("void *", addr), length):
        return None
    return bytes(ffi.buffer(buf, length))


def copy_from_user(addr: int, length: int) -> bytes:
    """``copy_from_user()`` of ``length`` bytes at ``addr`` of the *current*
    task's address space: what an ioctl handler reads a pointer field of
    its argument struct with (an array of handles, say).

    Raises:
        Error: ``EFAULT`` unless every byte is readable (a bad pointer, or
            no user address space); ``EINVAL`` for a length outside
            ``0..MAX_COPY`` or arguments that are not integers.

    Thread context: process context (an ioctl's).
    """
    addr = arg_int(addr, "user address")
    length = arg_int(length, "length", 0, MAX_COPY)
    if length == 0:
        return b""
    data = _copy_in(addr, length)
    if data is None:
        raise Error(code.EFAULT, f"user address {addr:#x} (+{length})")
    return data


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
