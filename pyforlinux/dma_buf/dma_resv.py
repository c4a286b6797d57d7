"""Reservation objects over the real ``drivers/dma-buf/dma-resv.c``.

A :class:`DmaResv` is a ``struct dma_resv``: a ``ww_mutex`` of the
``reservation_ww_class`` and a list of fences, each added with a
:class:`Usage` (kernel memory management, implicit write, implicit read,
bookkeeping). Adding needs the lock (:meth:`DmaResv.lock` returns a
:class:`DmaResvGuard`); testing and waiting do not (RCU, as in C).

Several reservation objects are locked together under one acquire
context, a :class:`WwAcquireCtx` (``struct ww_acquire_ctx`` of the kernel's
``reservation_ww_class``, a wait-die class) with the real ``ww_mutex``
rules: :meth:`DmaResv.lock` with ``ctx`` raises ``EDEADLK`` when this
context must back off (an older context holds the lock) -- unlock every
lock of the context, then :meth:`DmaResv.lock_slow` the contended one and
take the rest again -- and ``EALREADY`` for a lock the context already
holds; :meth:`WwAcquireCtx.done` ends the acquire phase, :meth:`WwAcquireCtx.fini`
(or ``with``) ends the context. :mod:`pyforlinux.drm.exec` does that loop
for GEM objects (``drm_exec``).

Upstream Rust for Linux has no reservation-object abstraction yet (only
``rust/helpers/dma-resv.c``: ``dma_resv_lock``/``dma_resv_unlock``); this
follows the C API and the style of :mod:`pyforlinux.dma_buf.dma_fence`;
:class:`WwAcquireCtx` takes the name of the posted ww_mutex series
(``kernel::sync::lock::ww_mutex::WwAcquireCtx``).

C header: include/linux/dma-resv.h, include/linux/ww_mutex.h
"""

from __future__ import annotations

import enum
import threading
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, leak_finalizer, task_identity
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

    def _enter(self, what: str, ctx: WwAcquireCtx | None = None) -> Any:
        """Pin the C object for a sleeping call (``_leave`` after)."""
        with self._mu:
            raw = self._live(what)
            holder = self._holder
            if holder is not None and ctx is not None and holder._ctx is ctx:
                raise Error(code.EALREADY, "the acquire context already holds this lock")
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

    def lock(self, interruptible: bool = False,
             ctx: WwAcquireCtx | None = None) -> DmaResvGuard:
        """Take the reservation lock (``dma_resv_lock(obj, ctx)``).

        Args:
            interruptible: ``dma_resv_lock_interruptible``: a signal to the
                task ends the wait with ``EINTR``.
            ctx: the :class:`WwAcquireCtx` this lock joins (``None``: a
                plain lock, ``dma_resv_lock(obj, NULL)``).

        Returns:
            The guard; ``with`` releases it.

        Raises:
            Error: ``EDEADLK`` if this thread already holds it outside
                ``ctx`` (the C lock would deadlock on itself), or under ``ctx``
                when the context must back off (wait-die: an older context
                holds it; unlock all of ``ctx``'s locks, then
                :meth:`lock_slow`); ``EALREADY`` if ``ctx`` holds it already;
                ``EINTR`` if interrupted; ``EINVAL`` after :meth:`close`, for
                a finished context or one past :meth:`WwAcquireCtx.done`;
                ``EPERM`` for a context of another thread.

        Thread context: process context, sleeps.
        """
        raw_ctx = ffi.NULL if ctx is None else WwAcquireCtx._use(ctx)
        raw = self._enter("lock", ctx)
        try:
            lockdep.might_sleep("taking a reservation lock")
            fn = lib.dma_resv_lock_interruptible if interruptible else lib.dma_resv_lock
            ret = int(fn(raw, raw_ctx))
            if ret == -code.EDEADLK and ctx is not None:
                raise Error(code.EDEADLK, "reservation lock contended: back off (unlock "
                                          "every lock of the context, then lock_slow())")
            if ret:
                raise Error(-ret)
            return self._locked(raw, ctx)
        finally:
            self._leave()

    def lock_slow(self, ctx: WwAcquireCtx, interruptible: bool = False) -> DmaResvGuard:
        """After backing off from ``EDEADLK``: sleep until the contended lock
        is free and take it (``dma_resv_lock_slow``/``_interruptible``); then
        take the others again with :meth:`lock`.

        Raises:
            Error: ``EINVAL`` if ``ctx`` still holds locks (the back-off
                drops them all first) or is finished; ``EINTR`` if
                interrupted; ``EPERM`` for a context of another thread.

        Thread context: process context, sleeps.
        """
        if not isinstance(ctx, WwAcquireCtx):
            raise Error(code.EINVAL, f"lock_slow() takes a WwAcquireCtx, not {ctx!r}")
        raw_ctx = WwAcquireCtx._use(ctx)
        if ctx._held:
            raise Error(code.EINVAL, "lock_slow() while the context still holds "
                                     f"{len(ctx._held)} lock(s): unlock them first")
        raw = self._enter("lock", ctx)
        try:
            lockdep.might_sleep("taking a reservation lock")
            ret = int(lib.pfl_dma_resv_lock_slow(raw, raw_ctx, bool(interruptible)))
            if ret:
                raise Error(-ret)
            return self._locked(raw, ctx)
        finally:
            self._leave()

    def _locked(self, raw: Any, ctx: WwAcquireCtx | None) -> DmaResvGuard:
        guard = DmaResvGuard(self, raw, ctx)
        with self._mu:
            self._holder = guard
        if ctx is not None:
            ctx._held.append(guard)
        return guard

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

    __slots__ = ("_ctx", "_raw", "_resv")

    def __init__(self, resv: DmaResv, raw: Any, ctx: WwAcquireCtx | None = None) -> None:
        self._resv = resv
        self._raw = raw
        self._ctx = ctx
        self._bind()

    def _subject(self) -> str:
        return "reservation lock"

    def _release(self) -> None:
        with self._resv._mu:
            self._resv._holder = None
        ctx = self._ctx
        if ctx is not None:
            ctx._held.remove(self)
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


class WwAcquireCtx(NoCopy):
    """An acquire context for several reservation locks (``struct
    ww_acquire_ctx`` of ``reservation_ww_class``, ``ww_acquire_init``).

    Belongs to the thread that made it (``EPERM`` elsewhere). Its stamp
    orders it against other contexts: under contention the younger one
    gets ``EDEADLK`` from :meth:`DmaResv.lock` and backs off (see the
    module). :meth:`done` ends the acquire phase (no more locks);
    :meth:`fini` (or the end of a ``with`` block) ends the context.

    Raises:
        Error: ``ENOMEM`` if the allocation fails.

    Rust: ``kernel::sync::lock::ww_mutex::WwAcquireCtx`` (posted series).
    C header: include/linux/ww_mutex.h
    """

    __slots__ = ("__weakref__", "_done", "_fin", "_held", "_raw", "_thread")

    def __init__(self) -> None:
        raw = lib.pfl_ww_acquire_ctx_new()
        if raw == ffi.NULL:
            raise Error(code.ENOMEM)
        self._raw: Any = raw
        self._thread = task_identity()
        self._held: list[DmaResvGuard] = []
        self._done = False
        self._fin = leak_finalizer(self, "WwAcquireCtx")

    def _live(self) -> Any:
        if self._raw is None:
            raise Error(code.EINVAL, "WwAcquireCtx used after fini()")
        if self._thread is not task_identity():
            raise Error(code.EPERM, "WwAcquireCtx used on a thread that did not make it")
        return self._raw

    @staticmethod
    def _use(ctx: object) -> Any:
        """The C context for one more lock (checked: live, this thread, not done)."""
        if not isinstance(ctx, WwAcquireCtx):
            raise Error(code.EINVAL, f"ctx is a WwAcquireCtx or None, not {ctx!r}")
        raw = ctx._live()
        if ctx._done:
            raise Error(code.EINVAL, "lock under a WwAcquireCtx after done()")
        return raw

    @property
    def acquired(self) -> int:
        """How many locks the context holds (``ww_acquire_ctx.acquired``).

        Raises:
            Error: ``EINVAL`` after :meth:`fini`; ``EPERM`` on another thread.
        """
        return int(lib.pfl_ww_acquire_acquired(self._live()))

    def done(self) -> None:
        """End the acquire phase (``ww_acquire_done``): every lock is taken,
        further :meth:`DmaResv.lock` calls with this context raise ``EINVAL``.

        Raises:
            Error: ``EINVAL`` after :meth:`fini` or a second ``done()``;
                ``EPERM`` on another thread.
        """
        raw = self._live()
        if self._done:
            raise Error(code.EINVAL, "WwAcquireCtx.done() called twice")
        self._done = True
        lib.pfl_ww_acquire_done(raw)

    def fini(self) -> None:
        """End the context (``ww_acquire_fini``) and free it. Idempotent.

        Raises:
            Error: ``EBUSY`` while it still holds locks (unlock them first);
                ``EPERM`` on another thread.
        """
        if self._raw is None:
            return
        raw = self._live()
        if self._held:
            raise Error(code.EBUSY, f"WwAcquireCtx.fini() while it holds {len(self._held)} "
                                    "lock(s)")
        self._raw = None
        self._fin.detach()
        lib.pfl_ww_acquire_ctx_free(raw)

    def __enter__(self) -> WwAcquireCtx:
        return self

    def __exit__(self, *exc: object) -> None:
        # An exception out of the block: drop what the context still holds.
        for guard in list(self._held):
            guard.unlock()
        self.fini()
