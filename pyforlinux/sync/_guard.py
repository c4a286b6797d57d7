"""The thread-bound guard shared by lock and RCU read guards.

Both Rust guards are ``!Send``: the lock (or read section) belongs to the
thread that took it. :class:`ThreadBoundGuard` is that rule once: any use
on another thread raises ``EPERM``, a use after release ``EINVAL``;
``unlock()`` is idempotent on the owning thread; ``with`` releases; a guard
garbage collected while held is reported (leak warning) and released if
collected on its own thread. Subclasses give :meth:`_release` (the C
unlock) and the wording of their messages.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep


class ThreadBoundGuard:
    """Base of guards owned by the thread that took them (see the module)."""

    __slots__ = ("__weakref__", "_thread")

    _thread: int | None

    # Messages, with ``{s}`` for :meth:`_subject`.
    _USED_AFTER_RELEASE = "{s} used after it was released"
    _USED_ON_OTHER_THREAD = "{s} used on a thread that does not hold it"
    _UNLOCKED_ON_OTHER_THREAD = "{s} unlocked on a thread that does not hold it"
    _LEAKED = "{s} was garbage collected while held (use 'with' or unlock())"

    def _subject(self) -> str:
        """What the messages call this guard."""
        raise NotImplementedError

    def _release(self) -> None:
        """Release what the guard holds (called once, on the owning thread)."""
        raise NotImplementedError

    def _check(self) -> None:
        owner = self._thread
        if owner is None:
            raise Error(code.EINVAL, self._USED_AFTER_RELEASE.format(s=self._subject()))
        if owner != threading.get_ident():
            raise Error(code.EPERM, self._USED_ON_OTHER_THREAD.format(s=self._subject()))

    @property
    def held(self) -> bool:
        """Whether the guard still holds what it guards."""
        return self._thread is not None

    def unlock(self) -> None:
        """Release. Idempotent on the owning thread.

        Raises:
            Error: ``EPERM`` on another thread.
        """
        owner = self._thread
        if owner is None:
            return
        if owner != threading.get_ident():
            raise Error(code.EPERM, self._UNLOCKED_ON_OTHER_THREAD.format(s=self._subject()))
        self._thread = None
        self._release()

    def __enter__(self) -> Self:
        self._check()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unlock()

    def __del__(self) -> None:
        owner = getattr(self, "_thread", None)
        if owner is None:
            return
        lockdep._warn_leak(self._LEAKED.format(s=self._subject()))
        if owner == threading.get_ident():
            self.unlock()
