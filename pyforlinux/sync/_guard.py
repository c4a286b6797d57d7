"""The thread-bound guard shared by lock, RCU read and Revocable guards.

The Rust guards are ``!Send``: the lock (or read section) belongs to the
task that took it. :class:`ThreadBoundGuard` is that rule once: any use on
another task raises ``EPERM``, a use after release ``EINVAL``; ``unlock()``
is idempotent on the owning task; ``with`` releases; a guard garbage
collected while held is reported (leak warning) and released if collected
on its own task.

The owner is the runtime task (:class:`~pyforlinux._owner.TaskIdentity`),
never ``threading.get_ident()``, which the OS reuses once a thread exits:
a new thread with a dead thread's id is another task and gets ``EPERM``.
A thread that ends while holding guards is reported by the lock validator
("task exits holding N lock(s)") and its guards are released on it as it
ends (their owner can no longer do it), so the locks stay usable.

Subclasses call :meth:`_bind` once the thing is taken, and give
:meth:`_release` (the C unlock) and the wording of their messages.
"""

from __future__ import annotations

from typing import Self
from weakref import ref

from pyforlinux._owner import TASK_TLS, NoCopy, TaskIdentity, task_identity
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep


class ThreadBoundGuard(NoCopy):
    """Base of guards owned by the task that took them (see the module)."""

    __slots__ = ("__weakref__", "_thread", "_unlocked")

    _thread: TaskIdentity | None
    #: Suspended: the guard's own do_unlocked() runs (the lock is not held).
    _unlocked: bool

    # Messages, with ``{s}`` for :meth:`_subject`.
    _USED_AFTER_RELEASE = "{s} used after it was released"
    _USED_ON_OTHER_THREAD = "{s} used on a thread that does not hold it"
    _UNLOCKED_ON_OTHER_THREAD = "{s} unlocked on a thread that does not hold it"
    _USED_WHILE_UNLOCKED = "{s} used inside its own do_unlocked() (the lock is not held)"
    _LEAKED = "{s} was garbage collected while held (use 'with' or unlock())"

    def _subject(self) -> str:
        """What the messages call this guard."""
        raise NotImplementedError

    def _release(self) -> None:
        """Release what the guard holds (called once, on the owning task)."""
        raise NotImplementedError

    def _bind(self) -> None:
        """Make the calling task the owner (after the lock/section was taken)."""
        try:  # task_identity(), inline: once per lock
            ident = TASK_TLS.ident
        except AttributeError:
            ident = task_identity()
        if ident.deferred:
            ident.release_deferred()
        self._thread = ident
        self._unlocked = False
        ident.held[id(self)] = ref(self)  # ident.hold(self), inline: once per lock

    def _check(self) -> None:
        owner = self._thread
        if owner is None:
            raise Error(code.EINVAL, self._USED_AFTER_RELEASE.format(s=self._subject()))
        try:
            me = TASK_TLS.ident  # the owner has one: a thread without one is not it
        except AttributeError:
            me = None
        if owner is not me:
            raise Error(code.EPERM, self._USED_ON_OTHER_THREAD.format(s=self._subject()))
        if self._unlocked:
            raise Error(code.EBUSY, self._USED_WHILE_UNLOCKED.format(s=self._subject()))

    @property
    def held(self) -> bool:
        """Whether the guard still holds what it guards."""
        return self._thread is not None

    def unlock(self, *_exc: object) -> None:
        """Release. Idempotent on the owning task.

        Also the guard's ``__exit__`` (which passes the exception, ignored):
        one call fewer per ``with`` block.

        Raises:
            Error: ``EPERM`` on another task; ``EBUSY`` inside the guard's
                own ``do_unlocked()`` (the lock is not held there).
        """
        owner = self._thread
        if owner is None:
            return
        try:
            me = TASK_TLS.ident
        except AttributeError:
            me = None
        if owner is not me:
            raise Error(code.EPERM, self._UNLOCKED_ON_OTHER_THREAD.format(s=self._subject()))
        if self._unlocked:
            raise Error(code.EBUSY, self._USED_WHILE_UNLOCKED.format(s=self._subject()))
        self._thread = None
        owner.held.pop(id(self), None)  # owner.unhold(self), inline: once per lock
        self._release()

    def _task_exit(self) -> None:
        """The owning thread is ending with this guard held: release it there."""
        if self._thread is not None:
            self._thread = None
            self._release()

    def __enter__(self) -> Self:
        # _check() only when it has something to say (one call fewer per with).
        try:
            ok = self._thread is TASK_TLS.ident and not self._unlocked
        except AttributeError:  # (a thread without an identity is not the owner)
            ok = False
        if not ok:
            self._check()
        return self

    #: ``with`` releases: :meth:`unlock` itself.
    __exit__ = unlock

    def __del__(self) -> None:
        try:
            owner = self._thread
        except AttributeError:  # never bound
            return
        if owner is None:
            return
        lockdep._warn_leak(self._LEAKED.format(s=self._subject()))
        if owner is task_identity():
            self.unlock()
        else:  # collected elsewhere (a cycle): released on its task's next call
            owner.defer_release(self)
