"""Atomic reference counts that saturate instead of overflowing.

Mirrors ``rust/kernel/sync/refcount.rs`` over the kernel's own
``refcount_t`` (include/linux/refcount.h and lib/refcount.c, unmodified):
on overflow or underflow the count saturates (``REFCOUNT_SATURATED``) and
the kernel WARNs, so an object leaks instead of being freed early.

C header: include/linux/refcount.h
Rust: rust/kernel/sync/refcount.rs
"""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code

_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1


class Refcount(NoCopy):
    """A ``refcount_t``. Rust: ``kernel::sync::Refcount``"""

    __slots__ = ("_r",)

    def __init__(self, value: int) -> None:
        """``REFCOUNT_INIT(value)``.

        Raises:
            TypeError: ``value`` is not an int.
            ValueError: outside ``i32``.
            Error: ``EINVAL`` for a negative (saturated) initial value (Rust:
                a ``build_assert!``).
        """
        self._r: Any = ffi.new("refcount_t *")
        if isinstance(value, int) and not isinstance(value, bool) and _I32_MIN <= value < 0:
            raise Error(code.EINVAL, f"initial refcount {value} is saturated")
        self.set(value)

    def as_raw(self) -> Any:
        """The ``refcount_t *``."""
        return self._r

    def read(self) -> int:
        """The current count (``refcount_read()``; Rust reads it through
        ``as_atomic()``), as the C ``unsigned int``."""
        return int(lib.refcount_read(self._r))

    def set(self, value: int) -> None:
        """``refcount_set()``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("a refcount is an int")
        if not _I32_MIN <= value <= _I32_MAX:
            raise ValueError(f"{value} is not an i32")
        lib.refcount_set(self._r, value)

    def inc(self) -> None:
        """Increment; saturates with a WARN on overflow or from 0 (``refcount_inc()``)."""
        lib.refcount_inc(self._r)

    def dec(self) -> None:
        """Decrement; WARNs if it reaches 0 (``refcount_dec()``: use :meth:`dec_and_test`)."""
        lib.refcount_dec(self._r)

    def dec_and_test(self) -> bool:
        """Decrement; True when it reached 0 (``refcount_dec_and_test()``)."""
        return bool(lib.refcount_dec_and_test(self._r))

    def __repr__(self) -> str:
        return f"Refcount({self.read()})"


__all__ = ["Refcount"]
