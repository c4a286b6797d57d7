"""Kernel errors as Python exceptions.

Mirrors ``rust/kernel/error.rs``: :class:`Error` carries a kernel errno,
:mod:`code` (here the :data:`code` namespace) names them, :func:`to_result`
turns a C return value into success or an exception, and
:func:`from_err_ptr` decodes ``ERR_PTR()`` values.

An :class:`Error` is an :class:`OSError`: ``e.errno`` is positive, as Python
expects, and ``e.to_errno()`` is negative, as the kernel keeps it. Only
values in ``1..MAX_ERRNO`` (4095) are errors; :meth:`Error.from_errno`
maps anything else to ``EINVAL`` with a warning, as the Rust code does.

C header: include/linux/err.h, include/uapi/asm-generic/errno*.h,
include/linux/errno.h. Rust: rust/kernel/error.rs
"""

from __future__ import annotations

import errno as _errno
import os
import warnings
from types import SimpleNamespace
from typing import Any, Final, NoReturn

MAX_ERRNO: Final = 4095

# The kernel-internal errnos (include/linux/errno.h), absent from Python's errno.
_KERNEL_ONLY: Final = {
    "ERESTARTSYS": (512, "Restart system call"),
    "ERESTARTNOINTR": (513, "Restart system call (no interrupt)"),
    "ERESTARTNOHAND": (514, "Restart if no handler"),
    "ENOIOCTLCMD": (515, "No ioctl command"),
    "ERESTART_RESTARTBLOCK": (516, "Restart by calling sys_restart_syscall"),
    "EPROBE_DEFER": (517, "Driver requests probe retry"),
    "EOPENSTALE": (518, "Open found a stale dentry"),
    "ENOPARAM": (519, "Parameter not supported"),
    "EBADHANDLE": (521, "Illegal NFS file handle"),
    "ENOTSYNC": (522, "Update synchronization mismatch"),
    "EBADCOOKIE": (523, "Cookie is stale"),
    "ENOTSUPP": (524, "Operation is not supported"),
    "ETOOSMALL": (525, "Buffer or request is too small"),
    "ESERVERFAULT": (526, "An untranslatable error occurred"),
    "EBADTYPE": (527, "Type not supported by server"),
    "EJUKEBOX": (528, "Request initiated, but will not complete before timeout"),
    "EIOCBQUEUED": (529, "iocb queued, will get completion event"),
    "ERECALLCONFLICT": (530, "Conflict with recalled state"),
    "ENOGRACE": (531, "NFS file lock reclaim refused"),
}

_NAMES: dict[int, str] = {}
for _name in dir(_errno):
    if _name.startswith("E") and isinstance(getattr(_errno, _name), int):
        _NAMES.setdefault(getattr(_errno, _name), _name)
for _name, (_num, _) in _KERNEL_ONLY.items():
    _NAMES[_num] = _name
# Prefer the kernel's spelling where Linux has aliases.
for _pref in ("EAGAIN", "EDEADLK", "ENOTSUP", "EOPNOTSUPP"):
    if hasattr(_errno, _pref):
        _NAMES[getattr(_errno, _pref)] = _pref
_NAMES[_errno.EOPNOTSUPP] = "EOPNOTSUPP"


def _describe(num: int) -> str:
    for name, (n, text) in _KERNEL_ONLY.items():
        if n == num:
            return text
    return os.strerror(num)


class Error(OSError):
    """A kernel error: an errno in ``1..MAX_ERRNO``.

    ``Error(EINVAL)`` or ``Error(EINVAL, "what went wrong")``. ``errno`` is
    positive; :meth:`to_errno` gives the kernel's negative value.

    Raises:
        ValueError: for an errno outside ``1..MAX_ERRNO`` (use
            :meth:`from_errno` to convert untrusted values).

    Rust: ``kernel::error::Error``
    """

    def __init__(self, errno: int, message: str | None = None) -> None:
        if not 0 < errno <= MAX_ERRNO:
            raise ValueError(f"{errno} is not a kernel errno (1..{MAX_ERRNO})")
        name = _NAMES.get(errno, f"E{errno}")
        super().__init__(errno, f"{name}: {message or _describe(errno)}")

    @classmethod
    def from_errno(cls, errno: int) -> Error:
        """An :class:`Error` from a C errno, negative (kernel style) or positive.

        Out-of-range values become ``EINVAL`` with a :class:`RuntimeWarning`,
        as ``Error::from_errno`` does in Rust.
        """
        value = -errno if errno < 0 else errno
        if not 0 < value <= MAX_ERRNO:
            warnings.warn(
                f"attempted to create an Error with an out of range errno: {errno}",
                RuntimeWarning,
                stacklevel=2,
            )
            value = _errno.EINVAL
        return cls(value)

    def to_errno(self) -> int:
        """The kernel's negative errno (``-EINVAL``)."""
        return -int(self.errno)

    def name(self) -> str:
        """The errno's symbolic name (``"EINVAL"``), or ``"E<n>"`` if unnamed."""
        return _NAMES.get(int(self.errno), f"E{self.errno}")


def _make_code() -> Any:
    names = {n: getattr(_errno, n) for n in dir(_errno) if n.startswith("E")}
    names.update({n: v for n, (v, _) in _KERNEL_ONLY.items()})
    return SimpleNamespace(**names)


#: The kernel errno names, ``code.EINVAL`` etc. (``kernel::error::code``).
code: Any = _make_code()


def to_result(ret: int) -> int:
    """``ret`` if it is not a negative errno, else raise it.

    Raises:
        Error: for ``ret`` in ``-MAX_ERRNO..-1``.

    Rust: ``kernel::error::to_result``
    """
    if ret < 0:
        raise Error.from_errno(ret)
    return ret


def is_err(ptr: int) -> bool:
    """``IS_ERR()``: the address is in the top ``MAX_ERRNO`` values."""
    return ptr >= (1 << 64) - MAX_ERRNO


def from_err_ptr(ptr: Any) -> Any:
    """Return the pointer, or raise the error an ``ERR_PTR()`` encodes.

    ``ptr`` is a cffi pointer (``void *`` or any ``T *``).

    Raises:
        Error: with the errno of ``PTR_ERR(ptr)`` if ``IS_ERR(ptr)``.

    C header: include/linux/err.h. Rust: ``kernel::error::from_err_ptr``
    """
    from pyforlinux._bindings import ffi

    addr = int(ffi.cast("uintptr_t", ptr))
    if is_err(addr):
        raise Error(-(addr - (1 << 64)))
    return ptr


def raise_errno(errno: int, message: str | None = None) -> NoReturn:
    """Raise :class:`Error` for a positive or negative errno."""
    raise Error(abs(errno), message)
