"""A value set at most once, read without locking afterwards.

Mirrors ``rust/kernel/sync/set_once.rs``: :meth:`SetOnce.populate` stores
the value if none was stored (returns whether it did); :meth:`SetOnce.as_ref`
and :meth:`SetOnce.copy` return it, or ``None`` before. Safe from any
thread; a value, once visible, never changes.

Rust: rust/kernel/sync/set_once.rs
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class SetOnce(Generic[T]):
    """A write-once cell. Rust: ``kernel::sync::SetOnce<T>``"""

    __slots__ = ("_lock", "_set", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._value: T | None = None

    def populate(self, value: T) -> bool:
        """Store ``value`` if the cell is empty.

        Returns:
            True if stored; False if a value was already there (``value``
            is then dropped, as Rust drops it).
        """
        with self._lock:
            if self._set:
                return False
            self._value = value
            self._set = True
            return True

    def as_ref(self) -> T | None:
        """The value, or ``None`` if not populated yet."""
        return self._value if self._set else None

    def copy(self) -> T | None:
        """The value (Rust: ``copy()`` for ``T: Copy``), or ``None``."""
        return self.as_ref()

    def __repr__(self) -> str:
        return f"SetOnce({self._value!r})" if self._set else "SetOnce(<empty>)"


__all__ = ["SetOnce"]
