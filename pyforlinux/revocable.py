"""Revocable objects: access that can be withdrawn, readers protected by RCU.

Mirrors ``rust/kernel/revocable.rs``. A :class:`Revocable` wraps a value
that users reach only through :meth:`Revocable.try_access` (a guard that is
an RCU read section) or :meth:`Revocable.try_access_with`. :meth:`revoke`
makes the value unavailable to new readers, waits one RCU grace period
(``synchronize_rcu()`` of the runtime, on liburcu) so that every reader that
got in has left, and then releases the value (its ``close()``, if it has
one). Revocation happens at most once.

Thread context: readers may run on any thread; a guard is used, and
released, on the thread that took it. :meth:`revoke` may sleep.

Rust: rust/kernel/revocable.rs. C: include/linux/rcupdate.h
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pyforlinux._bindings import lib
from pyforlinux._owner import NoCopy, arg_callable, drop_in_place
from pyforlinux.error import Error, code
from pyforlinux.sync._guard import ThreadBoundGuard
from pyforlinux.sync.rcu import _sleepable

T = TypeVar("T")
R = TypeVar("R")


class RevocableGuard(ThreadBoundGuard, Generic[T]):
    """Access to a :class:`Revocable`'s value inside an RCU read section.

    A context manager; the value is ``guard.value`` (or what ``with``
    binds). The read section ends when the guard is released, which must
    happen on the task that took it. A guard dropped without release (garbage
    collected on its task) and a guard whose thread ends are released
    there -- reported, never left holding the read section, so
    :meth:`Revocable.revoke` does not wait for ever (the shared
    :class:`~pyforlinux.sync._guard.ThreadBoundGuard` rules).

    Raises:
        Error: ``EPERM`` if released on another thread; ``EINVAL`` if
            released twice or used after release.

    Rust: ``kernel::revocable::RevocableGuard``
    """

    __slots__ = ("_value",)

    _USED_AFTER_RELEASE = "{s} used after release"
    _USED_ON_OTHER_THREAD = "{s} used on another thread"
    _UNLOCKED_ON_OTHER_THREAD = "{s} released on another thread"
    _LEAKED = "{s} was garbage collected unreleased (use 'with' or release())"

    def __init__(self, value: T) -> None:
        # SAFETY (caller): the calling task has just entered the read section.
        self._value = value
        self._bind()

    def _subject(self) -> str:
        return "RevocableGuard"

    def _release(self) -> None:
        lib.pfl_rcu_read_unlock()

    @property
    def value(self) -> T:
        """The protected value; valid until the guard is released."""
        if self._thread is None:
            raise Error(code.EINVAL, "RevocableGuard used after release")
        return self._value

    def release(self) -> None:
        """End the read section (``rcu_read_unlock()``).

        Raises:
            Error: ``EPERM`` on another task; ``EINVAL`` if already released.
        """
        if self._thread is None:
            raise Error(code.EINVAL, "RevocableGuard released twice")
        self.unlock()

    def __enter__(self) -> T:  # type: ignore[override]
        return self.value

    def __exit__(self, *exc: object) -> None:
        self.release()


class Revocable(NoCopy, Generic[T]):
    """A value whose access can be revoked; see the module documentation.

    Rust: ``kernel::revocable::Revocable<T>``
    """

    def __init__(self, data: T) -> None:
        self._data: T | None = data
        self._available = True  # cleared once, by the revoke() that revokes

    @property
    def is_available(self) -> bool:
        """False once :meth:`revoke` has started."""
        return self._available

    def try_access(self) -> RevocableGuard[T] | None:
        """A guard over the value, or ``None`` if it has been revoked.

        The guard holds an RCU read section: release it (``with``) promptly,
        without sleeping.
        """
        lib.pfl_rcu_read_lock()
        # SAFETY: revoke() clears _available before waiting for readers; a
        # reader that saw it set is inside the read section revoke() waits for.
        if not self._available:
            lib.pfl_rcu_read_unlock()
            return None
        return RevocableGuard(self._data)  # type: ignore[arg-type]

    def try_access_with(self, f: Callable[[T], R]) -> R | None:
        """``f(value)`` inside an RCU read section, or ``None`` if revoked."""
        arg_callable(f, "try_access_with(f)")
        guard = self.try_access()
        if guard is None:
            return None
        with guard as value:
            return f(value)

    def revoke(self) -> bool:
        """Revoke access, wait for readers, release the value.

        Returns True if this call revoked it, False if it was already revoked.
        May sleep (a grace period).

        Raises:
            Error: ``EDEADLK`` inside an RCU read section (a guard of this
                task is live: the wait would never end; reported as
                might_sleep) or, in strict mode, in atomic context; nothing
                is revoked then.
        """
        # Inside a read section (this task's own access, say) the grace period
        # could never end: EDEADLK before anything changes (as synchronize_rcu()).
        _sleepable("Revocable.revoke()")
        # Test and clear with no call in between: atomic under the GIL, so
        # exactly one revoke() gets past it (no lock).
        if not self._available:
            return False
        self._available = False
        lib.synchronize_rcu()
        data, self._data = self._data, None
        drop_in_place(data)
        return True
