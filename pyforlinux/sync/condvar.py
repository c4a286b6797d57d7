"""A condition variable: :class:`CondVar` over the kernel's ``struct wait_queue_head``.

A waiter atomically releases the lock of its guard and sleeps; it re-takes
the lock when it wakes. The wait is the kernel's own sequence, in C:
``prepare_to_wait()`` (queue the task and set its state) with the lock
held, unlock, ``schedule_timeout()``, ``finish_wait()``, re-lock — so a
notification between unlock and sleep is never lost, and the waker side
is ``__wake_up()``. Example::

    with new_mutex(0) as m, CondVar() as cv:
        # waiter                                # notifier
        with m.lock() as g:                      with m.lock() as g:
            while g.value == 0:                      g.value = 1
                cv.wait(g)                       cv.notify_all()

Semantics (those of the kernel):

- **Notifications are not sticky**: :meth:`notify_one`/:meth:`notify_all`
  wake tasks that are waiting *now*; with no waiter, the notification is
  lost (a later wait sleeps until the next one).
- **Spurious wake-ups happen**: a wait may return without a notification
  (another wake-up of the task, a notification meant for an earlier wait),
  so always re-check the condition in a loop, under the lock.
- **Signals**: a task is *signalled* with
  :meth:`pyforlinux.task.Task.signal` (the runtime's ``pfl_task_signal()``)
  on the waiting thread's task (``task.current().get()`` taken on that
  thread), which makes ``signal_pending()`` true and ends
  ``TASK_INTERRUPTIBLE`` sleeps, as the delivery of a real signal does. The
  signal stays pending until ``clear_signal()``
  (``pfl_task_clear_signal()``): while it is pending, interruptible waits
  return at once.
- Waiting may sleep: not while holding another SpinLock or inside an RCU
  read section (might_sleep; strict mode raises ``EDEADLK`` before
  sleeping). The guard's own lock may be a SpinLock: it is released while
  sleeping.
- Timeouts are in jiffies; HZ is 1000 here, so a jiffy is a millisecond.

Errors (:class:`~pyforlinux.error.Error`): ``EPERM`` if the guard belongs
to another thread, ``EINVAL`` for a released guard, a negative timeout or a
closed CondVar, ``EBUSY`` closing a CondVar that has waiters, ``ENOMEM``
creating one, ``EDEADLK`` in strict mode (see above).

C header: include/linux/wait.h (runtime/sched.c).
Rust: rust/kernel/sync/condvar.rs
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_int
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock import Guard
from pyforlinux.sync.lockdep import LockClassKey, StrictCheck

__all__ = [
    "MAX_SCHEDULE_TIMEOUT",
    "CondVar",
    "CondVarTimeoutResult",
    "Signal",
    "Timeout",
    "Woken",
    "new_condvar",
]

#: ``MAX_SCHEDULE_TIMEOUT`` (``LONG_MAX`` jiffies): wait without a timeout.
MAX_SCHEDULE_TIMEOUT: Final[int] = lib.MAX_SCHEDULE_TIMEOUT
_GFP_ZEROED: Final = lib.GFP_KERNEL | lib.__GFP_ZERO
# Module level: inside a class body these names would be mangled.
_init_waitqueue_head: Final = lib.__init_waitqueue_head
_wake_up: Final = lib.__wake_up


class CondVarTimeoutResult:
    """What :meth:`CondVar.wait_interruptible_timeout` returns: one of
    :class:`Timeout`, :class:`Woken`, :class:`Signal`.

    Rust: ``kernel::sync::CondVarTimeoutResult``
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Timeout(CondVarTimeoutResult):
    """The timeout passed without a wake-up or a signal."""


@dataclass(frozen=True, slots=True)
class Woken(CondVarTimeoutResult):
    """Woken (notified or spuriously) with ``jiffies`` of the timeout left (> 0)."""

    jiffies: int


@dataclass(frozen=True, slots=True)
class Signal(CondVarTimeoutResult):
    """A signal is pending for the task; ``jiffies`` of the timeout were left."""

    jiffies: int


class CondVar(NoCopy):
    """A condition variable on a kmalloc'd C ``struct wait_queue_head``.

    ``CondVar(name=None, key=None)``: ``name`` (default ``"file.py:LINE"`` of
    the creator) and ``key`` (default: the static lock class of that line)
    name and class the wait queue's spinlock. :meth:`close` (or ``with``)
    frees it; a CondVar garbage collected unclosed is reported as a leak.

    Thread context: any thread may wait or notify; notify never sleeps
    (it may be called with a SpinLock held).

    Raises:
        Error: ``ENOMEM`` if the wait queue cannot be allocated.

    Rust: ``kernel::sync::CondVar``
    """

    def __init__(self, name: str | None = None, key: LockClassKey | None = None) -> None:
        self.name: str = name if name is not None else lockdep.caller_name()
        self._key = key if key is not None else lockdep.static_lock_class(kind="CondVar")
        self._mu = threading.Lock()
        self._idle = threading.Condition(self._mu)
        self._waiters = 0
        self._closing = False
        self._key._get()
        raw = lib.pfl_kmalloc(ffi.sizeof("struct wait_queue_head"), _GFP_ZEROED, 0)
        if raw == ffi.NULL:
            self._key._put()
            raise Error(code.ENOMEM, f"CondVar {self.name!r}")
        # SAFETY: the name buffer outlives the wait queue (freed by close()).
        self._name_buf = ffi.new("char[]", self.name.encode()[:255])
        self._wq: Any = ffi.cast("struct wait_queue_head *", raw)
        _init_waitqueue_head(self._wq, self._name_buf, self._key.as_ptr())
        self._fin = weakref.finalize(self, lockdep._leak, f"CondVar {self.name!r}")
        self._fin.atexit = False

    def as_ptr(self) -> Any:
        """The ``struct wait_queue_head *``.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        wq = self._wq
        if wq is None:
            raise Error(code.EINVAL, f"CondVar {self.name!r} is closed")
        return wq

    # -- waiting -----------------------------------------------------------

    def _wait(self, state: int, guard: Guard[Any, Any], timeout: int) -> int:
        # The caller's values first (their code may run), then the guard.
        timeout = arg_int(timeout, "timeout (jiffies)", 0, (1 << 63) - 1)
        if not isinstance(guard, Guard):
            raise Error(code.EINVAL, f"CondVar waits need a lock Guard, not {guard!r}")
        guard._check()
        timeout = min(timeout, MAX_SCHEDULE_TIMEOUT)
        # SAFETY: the entry is Python memory that outlives the wait: it is
        # queued by prepare_to_wait() and always dequeued by finish_wait()
        # below before this frame returns.
        entry = ffi.new("struct wait_queue_entry *")
        lib.pfl_sync_init_wait(entry)
        with self._mu:
            if self._wq is None or self._closing:
                raise Error(code.EINVAL, f"CondVar {self.name!r} is closed")
            wq = self._wq
            self._waiters += 1
            lib.prepare_to_wait(wq, entry, state)
        finished = False

        def finish() -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            lib.finish_wait(wq, entry)
            with self._mu:
                self._waiters -= 1
                self._idle.notify_all()

        def sleep() -> int:
            # Dequeued before the lock is re-taken, so that PollCondVar's
            # teardown can wait for its waiters even if it holds the lock.
            try:
                chk = StrictCheck()
                if chk.before is not None:
                    f = lockdep.caller_frame()
                    fname = os.path.basename(f.f_code.co_filename) if f else "?"
                    lib.pfl_might_sleep(fname.encode(), f.f_lineno if f else 0)
                    chk.check(f"waiting on CondVar {self.name!r}")
                return int(lib.pfl_schedule_timeout(timeout))
            finally:
                finish()

        try:
            return guard.do_unlocked(sleep)
        finally:
            finish()

    def wait(self, guard: Guard[Any, Any]) -> None:
        """Release ``guard``'s lock, sleep until notified, re-take the lock.

        Uninterruptible (``TASK_UNINTERRUPTIBLE``): signals do not end it. May
        wake spuriously.

        Raises:
            Error: ``EPERM``/``EINVAL`` (guard), ``EINVAL`` (closed),
                ``EDEADLK`` (strict mode, atomic context).

        Rust: ``CondVar::wait``
        """
        self._wait(lib.TASK_UNINTERRUPTIBLE, guard, MAX_SCHEDULE_TIMEOUT)

    def wait_interruptible(self, guard: Guard[Any, Any]) -> bool:
        """Like :meth:`wait`, but a signal ends the sleep (``TASK_INTERRUPTIBLE``).

        Returns:
            Whether a signal is pending for the task (``signal_pending(current)``).

        Raises:
            Error: as :meth:`wait`.

        Rust: ``CondVar::wait_interruptible``
        """
        self._wait(lib.TASK_INTERRUPTIBLE, guard, MAX_SCHEDULE_TIMEOUT)
        return bool(lib.signal_pending(lib.pfl_current()))

    def wait_interruptible_freezable(self, guard: Guard[Any, Any]) -> bool:
        """:meth:`wait_interruptible` (there is no freezer here).

        Rust: ``CondVar::wait_interruptible_freezable``
        """
        return self.wait_interruptible(guard)

    def wait_interruptible_timeout(
        self, guard: Guard[Any, Any], jiffies: int
    ) -> CondVarTimeoutResult:
        """Like :meth:`wait_interruptible`, for at most ``jiffies`` (>= 0; ms here).

        Returns:
            :class:`Signal` (with the jiffies left) if a signal is pending,
            else :class:`Timeout` if none were left, else :class:`Woken`.

        Raises:
            Error: as :meth:`wait`; ``EINVAL`` for a negative ``jiffies``.

        Rust: ``CondVar::wait_interruptible_timeout``
        """
        left = self._wait(lib.TASK_INTERRUPTIBLE, guard, jiffies)
        if lib.signal_pending(lib.pfl_current()):
            return Signal(left)
        if left == 0:
            return Timeout()
        return Woken(left)

    # -- notifying ---------------------------------------------------------

    def _notify(self, count: int) -> None:
        # __wake_up() takes the wait queue's spinlock: fine in any context.
        _wake_up(self.as_ptr(), lib.TASK_NORMAL, count, ffi.NULL)

    def notify_one(self) -> None:
        """Wake one waiting task, if any. Not sticky: lost if none waits.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.

        Rust: ``CondVar::notify_one``
        """
        self._notify(1)

    def notify_sync(self) -> None:
        """:meth:`notify_one` (the kernel's hint that the waker is about to sleep).

        Rust: ``CondVar::notify_sync``
        """
        self._notify(1)

    def notify_all(self) -> None:
        """Wake every waiting task. Not sticky: lost if none waits.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.

        Rust: ``CondVar::notify_all``
        """
        self._notify(0)

    @property
    def waiters(self) -> int:
        """How many threads are inside a wait on this CondVar now."""
        return self._waiters

    # -- lifetime ----------------------------------------------------------

    def _free(self) -> None:
        with self._mu:
            wq, self._wq = self._wq, None
        if wq is None:
            return
        self._fin.detach()
        lib.pfl_kfree(wq, 0)
        self._key._put()

    def close(self) -> None:
        """Free the wait queue. Idempotent.

        Raises:
            Error: ``EBUSY`` while a task waits on it.
        """
        with self._mu:
            if self._wq is None:
                return
            if self._waiters or lib.pfl_sync_waitqueue_active(self._wq):
                raise Error(code.EBUSY, f"CondVar {self.name!r} has waiters")
            self._closing = True
        self._free()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran."""
        return self._wq is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._wq is None else f"{self._waiters} waiter(s)"
        return f"<{type(self).__name__} {self.name!r} {state}>"


def new_condvar(name: str | None = None, key: LockClassKey | None = None) -> CondVar:
    """A :class:`CondVar` named ``name`` or ``"file.py:LINE"`` of the caller.

    Raises:
        Error: ``ENOMEM``.

    Rust: ``new_condvar!``
    """
    return CondVar(
        name if name is not None else lockdep.caller_name(),
        key if key is not None else lockdep.static_lock_class(kind="CondVar"),
    )
