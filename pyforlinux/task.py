"""Tasks: the calling thread and process, as the kernel sees them.

Mirrors ``rust/kernel/task.rs``. :func:`current` is the
:class:`CurrentTask` of the calling thread: its runtime ``task_struct``
(created when the thread first enters the C side), its thread id (``pid``
in kernel terms) and process id (``tgid``), and its credentials, which are
the real process's. A task is *signalled* with :meth:`Task.signal`
(``pfl_task_signal()`` in the runtime): ``signal_pending()`` becomes true
and an interruptible sleep ends, as a real signal would make it;
:meth:`Task.clear_signal` consumes it.

Rust: rust/kernel/task.rs. C header: include/linux/sched.h
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, TaskIdentity, task_identity
from pyforlinux.cred import Credential, Kuid
from pyforlinux.error import Error, code


class Task(NoCopy):
    """A reference to a task (``struct task_struct *``), counted.

    Release it with :meth:`close` (``put_task_struct()``).

    Rust: ``kernel::task::Task`` (under an ``ARef``)
    """

    def __init__(self, raw: Any) -> None:
        # SAFETY: raw is a live task_struct; we take our own reference.
        lib.get_task_struct_fn(raw)
        self._raw: Any = raw

    def _ptr(self) -> Any:
        if self._raw is None:
            raise Error(code.EINVAL, "task reference already released")
        return self._raw

    def as_raw(self) -> Any:
        """The ``struct task_struct *``."""
        return self._ptr()

    def pid(self) -> int:
        """The thread id (``task_pid_nr()``)."""
        return int(self._ptr().pid)

    def tgid(self) -> int:
        """The process id (``task_tgid_nr()``)."""
        return int(self._ptr().tgid)

    def comm(self) -> str:
        """The task's name (``comm``)."""
        return str(ffi.string(self._ptr().comm).decode(errors="replace"))

    def signal_pending(self) -> bool:
        """Whether a signal is pending (``signal_pending()``)."""
        return bool(lib.signal_pending(self._ptr()))

    def signal(self) -> None:
        """Send the task a signal: ``signal_pending()`` becomes true and an
        interruptible sleep (condvar, fence wait, ...) ends."""
        lib.pfl_task_signal(self._ptr())

    def clear_signal(self) -> None:
        """Consume a pending signal."""
        lib.pfl_task_clear_signal(self._ptr())

    def wake_up(self) -> bool:
        """``wake_up_process()``: True if the task was asleep."""
        state = lib.TASK_INTERRUPTIBLE | lib.TASK_UNINTERRUPTIBLE
        return bool(lib.pfl_wake_up_state(self._ptr(), state))

    def close(self) -> None:
        """Drop this reference (``put_task_struct()``); idempotent."""
        raw, self._raw = self._raw, None
        if raw is not None:
            lib.put_task_struct(raw)

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CurrentTask(NoCopy):
    """The calling thread's task; valid on that thread only.

    Raises:
        Error: ``EPERM`` if used from another thread.

    Rust: ``kernel::task::CurrentTask``
    """

    def __init__(self) -> None:
        # The runtime task itself, never a reusable thread id: another thread
        # is another task (EPERM) even if the OS gave it this thread's id.
        self._task: TaskIdentity = task_identity()

    def _ptr(self) -> Any:
        task = self._task
        if task is not task_identity():
            raise Error(code.EPERM, "CurrentTask used from another thread")
        return task.raw

    def pid(self) -> int:
        """The thread id."""
        return int(self._ptr().pid)

    def tgid(self) -> int:
        """The process id (``os.getpid()``)."""
        return int(self._ptr().tgid)

    def uid(self) -> Kuid:
        """The real user id."""
        self._ptr()
        return Kuid(os.getuid())

    def euid(self) -> Kuid:
        """The effective user id."""
        self._ptr()
        return Kuid(os.geteuid())

    def cred(self) -> Credential:
        """The task's credentials (``current_cred()``)."""
        self._ptr()
        return Credential.current()

    def signal_pending(self) -> bool:
        """Whether a signal is pending for this task."""
        return bool(lib.signal_pending(self._ptr()))

    def clear_signal(self) -> None:
        """Consume a pending signal."""
        lib.pfl_task_clear_signal(self._ptr())

    def get(self) -> Task:
        """A counted reference usable from any thread (``get_task_struct()``)."""
        return Task(self._ptr())


def current() -> CurrentTask:
    """The calling thread's task (``current``)."""
    return CurrentTask()


_WAIT_SLICE = 100
"""Jiffies a Python-driven wait sleeps in C before Python checks for Ctrl-C."""


def interruptible_wait(wait: Callable[[int], int], timeout: int) -> int:
    """Run a kernel wait so that Ctrl-C reaches it, in slices.

    ``wait(j)`` is one C wait of at most ``j`` jiffies with the kernel's
    result convention (``> 0``: done, jiffies left; ``0``: timed out;
    ``-ERESTARTSYS``: a signal is pending). Between slices the interpreter
    runs, so a Ctrl-C (``KeyboardInterrupt``) in the main thread is seen:
    it is made a pending signal of the task (``signal_pending()``), the wait
    is run once more and ends with ``-ERESTARTSYS`` inside (or succeeds if
    the event already happened), the signal is consumed (delivered, as at
    syscall exit) and ``KeyboardInterrupt`` propagates, chained from
    ``Error(ERESTARTSYS)``.

    Args:
        wait: the C wait, called with a slice timeout in jiffies.
        timeout: jiffies, or ``MAX_SCHEDULE_TIMEOUT`` to wait forever.

    Returns:
        The kernel's value: jiffies left (``>= 1``; ``MAX_SCHEDULE_TIMEOUT``
        for an unbounded wait), ``0`` on timeout, or ``-ERESTARTSYS``.

    Context: process context, may sleep. C header: include/linux/sched.h
    """
    forever = timeout >= int(lib.MAX_SCHEDULE_TIMEOUT)
    deadline = int(lib.pfl_jiffies()) + timeout
    try:
        while True:
            left = _WAIT_SLICE + 1 if forever else max(deadline - int(lib.pfl_jiffies()), 0)
            piece = min(left, _WAIT_SLICE)
            r = int(wait(piece))
            if r < 0:
                return r
            if r > 0:
                return int(lib.MAX_SCHEDULE_TIMEOUT) if forever else max(left - (piece - r), 1)
            if left <= piece:
                return 0
    except KeyboardInterrupt as kbi:
        me = lib.pfl_current()
        lib.pfl_task_signal(me)
        try:
            r = int(wait(0))
        finally:
            lib.pfl_task_clear_signal(me)
        if r == -code.ERESTARTSYS:
            raise kbi from Error(code.ERESTARTSYS, "interruptible wait ended by Ctrl-C")
        raise
