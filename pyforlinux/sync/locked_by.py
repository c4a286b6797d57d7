"""Data protected by a lock that does not contain it: :class:`LockedBy`.

Usually a lock wraps the data it protects (``Mutex[T]``). When that is not
possible — e.g. a container's lock also protects a field of each element —
:class:`LockedBy` wraps the data instead, and hands it out only to a caller
that shows a live :class:`~pyforlinux.sync.lock.Guard` of *that* lock,
taken by the calling thread::

    class Directory:
        def __init__(self) -> None:
            self.inner = new_mutex(InnerDirectory())

    class File:
        def __init__(self, d: Directory) -> None:
            self.inner = LockedBy(d.inner, InnerFile())

    with d.inner.lock() as g:
        g.value.bytes_used += 10
        f.inner.access_mut(g).bytes_used += 10

Errors (:class:`~pyforlinux.error.Error`): ``EINVAL`` if the guard is of
another lock ("mismatched owners": Rust panics) or already released;
``EPERM`` if the guard belongs to another thread.

Rust: rust/kernel/sync/locked_by.rs
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pyforlinux.error import Error, code
from pyforlinux.sync.lock import Guard, Lock

__all__ = ["LockedBy"]

T = TypeVar("T")
U = TypeVar("U")


class LockedBy(Generic[T, U]):
    """``T`` protected by a ``Lock[U, ...]`` that does not wrap it (Rust: ``LockedBy<T, U>``).

    ``LockedBy(owner, data)``: ``owner`` is the lock whose guard grants access.
    It keeps a reference to the lock only to recognise its guards.
    """

    __slots__ = ("_data", "_owner")

    def __init__(self, owner: Lock[U, Any], data: T) -> None:
        self._owner = owner
        self._data = data

    def _check(self, guard: Guard[U, Any]) -> None:
        if not isinstance(guard, Guard):
            raise Error(code.EINVAL, f"LockedBy needs a lock guard as proof, not {guard!r}")
        guard._check()
        if guard.lock is not self._owner:
            raise Error(
                code.EINVAL,
                f"mismatched owners: the guard is of {guard.lock.name!r}, "
                f"the data is protected by {self._owner.name!r}",
            )

    def access(self, guard: Guard[U, Any]) -> T:
        """The data, given proof (``guard``) that the owner lock is held.

        Raises:
            Error: ``EINVAL`` (wrong lock, released guard), ``EPERM`` (guard of
                another thread).

        Rust: ``LockedBy::access``
        """
        self._check(guard)
        return self._data

    def access_mut(self, guard: Guard[U, Any]) -> T:
        """:meth:`access` for mutation (the same object; Python has no ``&mut``).

        Rust: ``LockedBy::access_mut``
        """
        self._check(guard)
        return self._data

    def set(self, guard: Guard[U, Any], value: T) -> None:
        """Replace the data (``*access_mut(guard) = value``).

        Raises:
            Error: as :meth:`access`.
        """
        self._check(guard)
        self._data = value
