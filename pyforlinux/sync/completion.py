"""Completions: wait for an event that another thread announces.

Mirrors ``rust/kernel/sync/completion.rs`` over the C ``struct completion``
(include/linux/completion.h, unmodified; the runtime implements
kernel/sched/completion.c's algorithm): :meth:`Completion.complete_all`
and :meth:`Completion.wait_for_completion` as in Rust, plus the C calls
Rust does not wrap yet (``complete``, the timeout and interruptible waits,
``try_wait_for_completion``, ``completion_done``, ``reinit_completion``).

``complete()`` releases one waiter (or one future wait); ``complete_all()``
releases every current and future waiter until :meth:`reinit`. Timeouts are
:class:`~pyforlinux.time.Delta` (converted to jiffies, rounded up).

Interruptible waits end with ``Error(ERESTARTSYS)`` when the task has a
signal pending (:meth:`pyforlinux.task.Task.signal`); the signal stays
pending until consumed (``current().clear_signal()``, or the DRM ioctl exit,
:func:`pyforlinux.error.syscall_exit_errno`). Ctrl-C in the main thread is
seen as a signal by every wait here: the wait ends (``ERESTARTSYS`` inside)
and ``KeyboardInterrupt`` propagates (see
:func:`pyforlinux.task.interruptible_wait`).

C header: include/linux/completion.h
Rust: rust/kernel/sync/completion.rs
"""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.task import interruptible_wait
from pyforlinux.time import MAX_SCHEDULE_TIMEOUT, Delta, delta_to_jiffies

_TASK_UNINTERRUPTIBLE = int(lib.TASK_UNINTERRUPTIBLE)
_TASK_INTERRUPTIBLE = int(lib.TASK_INTERRUPTIBLE)


class Completion(NoCopy):
    """A ``struct completion``; safe to share between threads.

    Rust: ``kernel::sync::Completion``
    """

    def __init__(self) -> None:
        self._c: Any = ffi.new("struct completion *")
        lib.init_completion(self._c)

    def as_raw(self) -> Any:
        """The ``struct completion *`` (valid while this object lives)."""
        return self._c

    def complete(self) -> None:
        """Release one waiter, or let one future wait pass (``complete()``)."""
        lib.complete(self._c)

    def complete_all(self) -> None:
        """Release every waiter, now and later, until :meth:`reinit`
        (``complete_all()``). Rust: ``Completion::complete_all``"""
        lib.complete_all(self._c)

    def reinit(self) -> None:
        """Forget past completions (``reinit_completion()``); no waiter may
        be waiting."""
        lib.reinit_completion(self._c)

    def _wait(self, state: int, timeout: int) -> int:
        c = self._c
        return interruptible_wait(
            lambda j: lib.pfl_wait_for_completion_state_timeout(c, state, j), timeout
        )

    def wait_for_completion(self) -> None:
        """Wait, uninterruptibly, until completed (``wait_for_completion()``).

        Context: may sleep. Rust: ``Completion::wait_for_completion``
        """
        lockdep.might_sleep("wait_for_completion")
        self._wait(_TASK_UNINTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT)

    def wait_for_completion_timeout(self, timeout: Delta) -> bool:
        """Wait at most ``timeout`` (``wait_for_completion_timeout()``).

        Returns:
            True if completed, False on timeout.

        Raises:
            Error: ``EINVAL`` for a negative timeout, ``ERANGE`` for one
                beyond ``MAX_JIFFY_OFFSET``.
        """
        j = delta_to_jiffies(timeout)
        lockdep.might_sleep("wait_for_completion_timeout")
        return self._wait(_TASK_UNINTERRUPTIBLE, j) > 0

    def wait_for_completion_interruptible(self) -> None:
        """Wait until completed or a signal is pending
        (``wait_for_completion_interruptible()``).

        Raises:
            Error: ``ERESTARTSYS`` when a signal is pending.
        """
        lockdep.might_sleep("wait_for_completion_interruptible")
        if self._wait(_TASK_INTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT) < 0:
            raise Error(code.ERESTARTSYS, "wait_for_completion_interruptible: signal pending")

    def wait_for_completion_interruptible_timeout(self, timeout: Delta) -> bool:
        """:meth:`wait_for_completion_interruptible` for at most ``timeout``.

        Returns:
            True if completed, False on timeout.

        Raises:
            Error: ``ERESTARTSYS`` when a signal is pending; ``EINVAL`` /
                ``ERANGE`` for a bad timeout.
        """
        j = delta_to_jiffies(timeout)
        lockdep.might_sleep("wait_for_completion_interruptible_timeout")
        r = self._wait(_TASK_INTERRUPTIBLE, j)
        if r < 0:
            raise Error(
                code.ERESTARTSYS, "wait_for_completion_interruptible_timeout: signal pending"
            )
        return r > 0

    def try_wait_for_completion(self) -> bool:
        """Consume a completion without waiting (``try_wait_for_completion()``)."""
        return bool(lib.try_wait_for_completion(self._c))

    def completion_done(self) -> bool:
        """Whether a wait would pass now, without consuming (``completion_done()``)."""
        return bool(lib.completion_done(self._c))

    def __repr__(self) -> str:
        return f"<Completion done={int(self._c.done)}>"


__all__ = ["Completion"]
