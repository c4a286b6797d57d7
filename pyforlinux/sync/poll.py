"""A :class:`PollCondVar`: a CondVar whose teardown is safe for late wakers.

In the kernel, a ``poll_table`` may queue entries on a condition variable's
wait queue that are only removed on wake-up, and read the queue for a
grace period after that; the Rust ``PollCondVar`` therefore wakes every
waiter (``__wake_up_pollfree``) and waits one RCU grace period
(``synchronize_rcu``) before the wait queue is freed. Here, there are no
``struct file``/``poll_table``; the waiters are threads inside
:meth:`~pyforlinux.sync.condvar.CondVar.wait`. :meth:`PollCondVar.close`
wakes them all, waits until each has left the wait queue (they leave it
before re-taking their lock, so closing while holding that lock does not
deadlock), waits one grace period, and only then frees the queue. A wait
started after close began raises ``EINVAL``; a woken waiter sees a
spurious wake-up and, on its next wait, ``EINVAL``.

``close()`` sleeps (grace period): not under a SpinLock or in an RCU read
section (might_sleep; ``EDEADLK`` in strict mode, and always ``EDEADLK``
inside an RCU read section, where the grace period could never end).

C header: include/linux/wait.h, include/linux/poll.h.
Rust: rust/kernel/sync/poll.rs
"""

from __future__ import annotations

from pyforlinux.sync import lockdep, rcu
from pyforlinux.sync.condvar import CondVar
from pyforlinux.sync.lockdep import LockClassKey

__all__ = ["PollCondVar", "new_poll_condvar"]


class PollCondVar(CondVar):
    """A :class:`~pyforlinux.sync.condvar.CondVar` whose :meth:`close` wakes
    its waiters, waits for them to leave, then waits a grace period.

    Rust: ``kernel::sync::poll::PollCondVar``
    """

    def close(self) -> None:
        """Wake every waiter, wait until they left, ``synchronize_rcu()``, free.

        Idempotent. If the grace period cannot be waited for (strict-mode
        report, RCU read section), it raises and the queue stays allocated
        (closing; new waits fail): call close() again from a sleepable
        context.

        Raises:
            Error: ``EDEADLK`` (see the module doc).

        Rust: ``PinnedDrop for PollCondVar``
        """
        with self._mu:
            if self._wq is None:
                return
            self._closing = True
        # Every counted waiter queued itself under _mu before _closing was
        # set, so one wake-up reaches them all; none can queue any more.
        self._notify(0)
        with self._mu:
            while self._waiters:
                self._idle.wait()
        rcu.synchronize_rcu()
        self._free()


def new_poll_condvar(name: str | None = None, key: LockClassKey | None = None) -> PollCondVar:
    """A :class:`PollCondVar` named ``name`` or ``"file.py:LINE"`` of the caller.

    Raises:
        Error: ``ENOMEM``.

    Rust: ``new_poll_condvar!``
    """
    return PollCondVar(
        name if name is not None else lockdep.caller_name(),
        key if key is not None else lockdep.static_lock_class(kind="CondVar"),
    )
