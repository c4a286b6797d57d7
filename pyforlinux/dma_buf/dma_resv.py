"""Reservation objects over the real ``drivers/dma-buf/dma-resv.c``.

A :class:`DmaResv` is a ``struct dma_resv``: a ``ww_mutex`` of the
``reservation_ww_class`` and a list of fences, each added with a
:class:`Usage` (kernel memory management, implicit write, implicit read,
bookkeeping). Adding needs the lock (:meth:`DmaResv.lock` returns a
:class:`DmaResvGuard`); testing and waiting do not (RCU, as in C).

Upstream Rust for Linux has no reservation-object abstraction yet (only
``rust/helpers/dma-resv.c``: ``dma_resv_lock``/``dma_resv_unlock``); this
follows the C API and the style of :mod:`pyforlinux.dma_buf.dma_fence`.
Locking several reservation objects with one ``ww_acquire_ctx`` (and the
back-off on ``-EDEADLK``) is ``drm_exec``'s job and is not wrapped here:
:meth:`DmaResv.lock` takes one object without a context
(``dma_resv_lock(obj, NULL)``).

C header: include/linux/dma-resv.h
"""

from __future__ import annotations

import enum
import threading
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, task_identity
from pyforlinux.dma_buf.dma_fence import Fence, _timeout_jiffies
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync._guard import ThreadBoundGuard
from pyforlinux.time import Delta


class Usage(enum.IntEnum):
    """How a fence in a reservation object is used (``enum dma_resv_usage``).

    Ordered: querying a usage covers that usage and every one before it
    (``READ`` sees ``KERNEL``, ``WRITE`` and ``READ`` fences).
    """

    KERNEL = lib.DMA_RESV_USAGE_KERNEL
    WRITE = lib.DMA_RESV_USAGE_WRITE
    READ = lib.DMA_RESV_USAGE_READ
    BOOKKEEP = lib.DMA_RESV_USAGE_BOOKKEEP


def _usage(usage: object) -> int:
    if not isinstance(usage, Usage):
        raise Error(code.EINVAL, f"a reservation usage is a dma_resv.Usage, not {usage!r}")
    return int(usage)


class DmaResv(NoCopy):
    """A reservation object (``struct dma_resv``, ``dma_resv_init``).

    ``DmaResv()`` allocates and initialises one; :meth:`close` (or the end
    of a ``with`` block) drops its fences and frees it (``dma_resv_fini``).

    Raises:
        Error: ``ENOMEM`` if the allocation fails.

    Thread context: any; the lock and waits sleep.
    C header: include/linux/dma-resv.h
    """

    __slots__ = ("__weakref__", "_busy", "_holder", "_mu", "_raw")

    def __init__(self) -> None:
        raw = lib.pfl_dma_resv_new()
        if raw == ffi.NULL:
            raise Error(code.ENOMEM)
        self._raw: Any = raw
        self._mu = threading.Lock()
        self._holder: DmaResvGuard | None = None
        self._busy = 0  # threads inside a C lock/wait call: close() must wait

    def _enter(self, what: str) -> Any:
        """Pin the C object for a sleeping call (``_leave`` after)."""
        with self._mu:
            raw = self._live(what)
            holder = self._holder
            if holder is not None and holder._thread is task_identity():
                verb = "lock" if what == "lock" else "wait"
                raise Error(code.EDEADLK if verb == "lock" else code.EBUSY,
                            f"DmaResv.{what}() while this thread holds its lock")
            self._busy += 1
            return raw

    def _leave(self) -> None:
        with self._mu:
            self._busy -= 1

    def _live(self, what: str) -> Any:
        raw = self._raw
        if raw is None:
            raise Error(code.EINVAL, f"DmaResv.{what} after close()")
        return raw

    def close(self) -> None:
        """Drop the fences and free the object (``dma_resv_fini``). Idempotent.

        Raises:
            Error: ``EBUSY`` while it is locked.
        """
        with self._mu:
            if self._raw is None:
                return
            if self._holder is not None or self._busy:
                raise Error(code.EBUSY, "DmaResv.close() while it is locked or waited on")
            raw, self._raw = self._raw, None
        lib.pfl_dma_resv_free(raw)

    def __enter__(self) -> DmaResv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lock(self, interruptible: bool = False) -> DmaResvGuard:
        """Take the reservation lock (``dma_resv_lock(obj, NULL)``).

        Args:
            interruptible: ``dma_resv_lock_interruptible``: a signal to the
                task ends the wait with ``EINTR``.

        Returns:
            The guard; ``with`` releases it.

        Raises:
            Error: ``EDEADLK`` if this thread already holds it (the C lock
                would deadlock on itself); ``EINTR`` if interrupted;
                ``EINVAL`` after :meth:`close`.

        Thread context: process context, sleeps.
        """
        raw = self._enter("lock")
        try:
            lockdep.might_sleep("taking a reservation lock")
            fn = lib.dma_resv_lock_interruptible if interruptible else lib.dma_resv_lock
            ret = int(fn(raw, ffi.NULL))
            if ret:
                raise Error(-ret)
            guard = DmaResvGuard(self, raw)
            with self._mu:
                self._holder = guard
            return guard
        finally:
            self._leave()

    def test_signaled(self, usage: Usage) -> bool:
        """Whether every fence of ``usage`` (and the usages before it) has
        signalled (``dma_resv_test_signaled``). No lock needed (RCU).

        Raises:
            Error: ``EINVAL`` for a usage that is not a :class:`Usage`, after close.
        """
        u = _usage(usage)
        with self._mu:
            raw = self._live("test_signaled")
            return bool(lib.dma_resv_test_signaled(raw, u))

    def wait(self, usage: Usage, timeout: Delta | None = None,
             interruptible: bool = True) -> bool:
        """Sleep until every fence of ``usage`` (and before) signals
        (``dma_resv_wait_timeout``).

        Args:
            usage: which fences.
            timeout: ``None`` waits forever; else a
                :class:`~pyforlinux.time.Delta` rounded up to jiffies.
            interruptible: a signal to the task ends the wait.

        Returns:
            ``True`` if all signalled, ``False`` on timeout.

        Raises:
            Error: ``ERESTARTSYS`` if interrupted; ``EINVAL`` for a bad
                usage or timeout, or after close; ``EBUSY`` if this thread
                holds the lock (waiting under the reservation lock for fences
                whose signalling may need it is the classic deadlock: drop
                the guard first).

        Thread context: process context, sleeps.
        """
        u = _usage(usage)
        jiffies = _timeout_jiffies(timeout)
        raw = self._enter("wait")
        try:
            lockdep.might_sleep("waiting on a reservation object")
            ret = int(lib.dma_resv_wait_timeout(raw, u, interruptible, jiffies))
        finally:
            self._leave()
        if ret < 0:
            raise Error(-ret)
        return ret > 0


class DmaResvGuard(ThreadBoundGuard):
    """The reservation lock held (``dma_resv_lock`` .. ``dma_resv_unlock``).

    Thread-bound (``EPERM`` on another thread, ``EINVAL`` after release);
    ``with`` releases it.
    """

    __slots__ = ("_raw", "_resv")

    def __init__(self, resv: DmaResv, raw: Any) -> None:
        self._resv = resv
        self._raw = raw
        self._bind()

    def _subject(self) -> str:
        return "reservation lock"

    def _release(self) -> None:
        with self._resv._mu:
            self._resv._holder = None
        lib.dma_resv_unlock(self._raw)

    def add_fence(self, fence: Fence, usage: Usage) -> None:
        """Add ``fence`` with ``usage`` (``dma_resv_reserve_fences(1)`` then
        ``dma_resv_add_fence``). The object takes its own reference; a fence
        of the same context replaces the older one (C semantics).

        Raises:
            Error: ``ENOMEM`` if the fence slot cannot be allocated;
                ``EINVAL`` for a bad usage, a fence with no reference left
                or a released guard; ``EPERM`` on another thread.
        """
        self._check()
        u = _usage(usage)
        if not isinstance(fence, Fence):
            raise Error(code.EINVAL, f"add_fence() takes a Fence, not {fence!r}")
        ret = int(lib.dma_resv_reserve_fences(self._raw, 1))
        if ret:
            raise Error(-ret)
        raw = fence._pin("add to a reservation object")
        try:
            lib.dma_resv_add_fence(self._raw, raw, u)
        finally:
            Fence._unpin(raw)
