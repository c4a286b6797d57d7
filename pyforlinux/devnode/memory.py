"""A client process's memory, for ``copy_from_user``/``copy_to_user``.

:class:`ProcessMemory` reads and writes another process's memory by pid
with ``process_vm_readv(2)``/``process_vm_writev(2)``: a pointer the
process does not map gives ``EFAULT`` and the process is not touched, as
when the kernel's ``copy_from_user`` faults. It has the interface of
:class:`pyforlinux.uaccess.UserSpace` (``read``/``write``), so the DRM
layer's :class:`~pyforlinux.uaccess.UserSlice` works on it unchanged.

An open file's memory is a :class:`BoundMemory`: each ioctl binds the
accessor of the task that issued it to the bridge thread serving it, so two
processes sharing one open file (after ``fork()``) each have their pointers
resolved in their own address space, as in the kernel.

C: mm/process_vm_access.c (the syscalls), include/linux/uaccess.h
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from pyforlinux.error import Error, code

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_libc.process_vm_readv.restype = ctypes.c_ssize_t
_libc.process_vm_writev.restype = ctypes.c_ssize_t
_ADDR_MAX = (1 << 64) - 1


def _transfer(fn: ctypes._NamedFuncPointer, pid: int, local: ctypes.Array[ctypes.c_char],
              addr: int, n: int) -> None:
    if addr < 0 or addr + n - 1 > _ADDR_MAX:
        raise Error(code.EFAULT, f"bad user address {addr:#x} (+{n})")
    liov = _Iovec(ctypes.cast(local, ctypes.c_void_p), n)
    riov = _Iovec(addr, n)
    ret = fn(pid, ctypes.byref(liov), 1, ctypes.byref(riov), 1, 0)
    if ret != n:
        err = ctypes.get_errno() if ret < 0 else code.EFAULT
        raise Error(code.EFAULT, f"user address {addr:#x} (+{n}) of pid {pid}: "
                                 f"{'partial copy' if ret >= 0 else Error(err).name()}")


class ProcessMemory:
    """The address space of process ``pid``.

    Thread context: any thread; no locks held across the system call.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def read(self, addr: int, length: int) -> bytes:
        """``copy_from_user()``: ``length`` bytes at user address ``addr``.

        Raises:
            Error: ``EFAULT`` if any byte is not mapped readable in the process
                (or the process is gone).
        """
        if length < 0:
            raise Error(code.EFAULT, f"negative length {length}")
        if length == 0:
            return b""
        buf = ctypes.create_string_buffer(length)
        _transfer(_libc.process_vm_readv, self.pid, buf, addr, length)
        return buf.raw

    def write(self, addr: int, data: bytes) -> None:
        """``copy_to_user()``: store ``data`` at user address ``addr``.

        Raises:
            Error: ``EFAULT`` if any byte is not mapped writable in the process.
        """
        if not data:
            return
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        _transfer(_libc.process_vm_writev, self.pid, buf, addr, len(data))


class UserMemory(Protocol):
    """What ``copy_from_user``/``copy_to_user`` need: ``read``/``write`` by address."""

    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


class BoundMemory:
    """An open file's user memory: the accessor bound to the calling thread
    (:meth:`bind`, one per ioctl: the task that issued it), else the opener's.
    """

    def __init__(self, default: UserMemory) -> None:
        self._default = default
        self._local = threading.local()

    def _mm(self) -> UserMemory:
        mm: UserMemory = getattr(self._local, "mm", None) or self._default
        return mm

    @contextmanager
    def bind(self, mm: UserMemory) -> Iterator[None]:
        """Resolve this thread's accesses through ``mm`` for the ``with`` body."""
        old = getattr(self._local, "mm", None)
        self._local.mm = mm
        try:
            yield
        finally:
            self._local.mm = old

    def read(self, addr: int, length: int) -> bytes:
        """``copy_from_user()`` (``EFAULT`` as the bound accessor)."""
        return self._mm().read(addr, length)

    def write(self, addr: int, data: bytes) -> None:
        """``copy_to_user()`` (``EFAULT`` as the bound accessor)."""
        self._mm().write(addr, data)


class OverlayMemory:
    """``base`` with ``[addr, addr+len(buf))`` served from ``buf``: the ioctl
    argument struct that FUSE has already copied in (and copies out from
    ``buf`` when the call returns); every other address reaches the process.
    """

    def __init__(self, base: UserMemory, addr: int, buf: ctypes.Array[ctypes.c_char]) -> None:
        self._base, self._addr, self._buf = base, addr, buf

    def _inside(self, addr: int, length: int) -> bool:
        return self._addr <= addr and addr + length <= self._addr + len(self._buf)

    def read(self, addr: int, length: int) -> bytes:
        """As :meth:`ProcessMemory.read`."""
        if length > 0 and self._inside(addr, length):
            off = addr - self._addr
            return self._buf.raw[off:off + length]
        return self._base.read(addr, length)

    def write(self, addr: int, data: bytes) -> None:
        """As :meth:`ProcessMemory.write`."""
        if data and self._inside(addr, len(data)):
            ctypes.memmove(ctypes.addressof(self._buf) + addr - self._addr, bytes(data), len(data))
            return
        self._base.write(addr, data)
