"""DMA fences over the real ``drivers/dma-buf/dma-fence.c``, as the Rust series designs them.

Mirrors "rust / dma_buf: Add abstractions for dma_fence" v2 (Philipp
Stanner, "[PATCH v2 5/6] rust: Add dma_fence abstractions", 2026-06-16,
``rust/kernel/dma_buf/dma_fence.rs``), which splits a fence in two:

- :class:`DriverFence` ``[F]``: the producer's side. Exactly one owner, the
  only type that can be signalled, carries the driver data ``F``.
  :meth:`DriverFence.signal` consumes it and needs a result: success
  (``None``/``0``) or an error (a negative errno or an
  :class:`~pyforlinux.error.Error`). A DriverFence dropped unsignalled
  (:meth:`DriverFence.close`, the end of its ``with`` block) is a driver
  bug: it is signalled with ``-ECANCELED`` and a kernel WARN is printed
  (``pfl_warn_count()`` counts it), so no waiter hangs.
- :class:`Fence`: the consumers' side, shared with other drivers and
  userspace, always reference counted (``ARef[Fence]``), cannot be
  signalled; the only type callbacks are registered on. Both live in one C
  allocation (a ``struct pfl_dma_fence``) and share the C refcount; a
  Fence may outlive its DriverFence and the context.
- :class:`FenceCtx` ``[F]``: a fence context (``dma_fence_context_alloc(1)``)
  with an atomic sequence number and the driver and timeline names the C
  backend ops (``get_driver_name``/``get_timeline_name``) return; its data
  is a :class:`FenceCtxOps`, whose ``FenceDataType`` is the type of the
  fences' data.
- :class:`DriverFenceAllocation`: creation in two steps, a fallible
  allocation (:meth:`FenceCtx.new_fence_allocation`: the C fence and the
  data's ``RcuBox``) and an infallible creation from it
  (:meth:`FenceCtx.new_fence`: ``dma_fence_init``, no allocation), so that
  a job-submission path allocates nothing.
- :class:`FenceCb` objects (anything with a ``called()`` method) are
  registered through a :class:`FenceCbRegistration`, which removes the
  callback when it is dropped; registering on a signalled fence raises
  :class:`CallbackError` (``ENOENT``) handing the callback back.
- Driver data goes into an :class:`~pyforlinux.sync.rcu.RcuBox` and is
  dropped through ``call_rcu`` (then the DriverFence's C reference is put),
  so backend ops racing the drop cannot use freed data.
- :class:`DriverFence` and ``ARef[Fence]`` are ForeignOwnable.

Where the series is silent, the C dma_fence rules apply (and the
docstrings say so): a fence is signalled once, its error is set only
before signalling, every pointer to it is backed by a reference. Waiting
(:meth:`Fence.wait`) and the status queries (:meth:`Fence.get_status`,
:attr:`Fence.error`, :meth:`Fence.timestamp_ns`) are C's: v2 has only
``Fence::is_signaled``.

Signalling sections. :func:`begin_signalling` (``dma_fence_begin_signalling``)
marks the code that leads to a signal (a job's completion path); every
signal is one too. The lock validator checks them as lockdep does: a lock
taken inside a signalling section that is also held around a wait for a
fence (:meth:`Fence.wait`) is reported as a circular dependency (the
signaller could block on the lock the waiter holds while waiting for it).

Lock context. Callbacks run in the signalling thread **with the fence's
spinlock held** (``dma_fence_signal_timestamp_locked``), like kernel
fence callbacks in atomic context: ``called()`` must not sleep. From a
callback:

- anything that would take the lock of the fence being signalled
  (registering, dropping a registration of it, ``get_status``, ``wait``)
  raises ``Error(EDEADLK)`` before calling C;
- waiting on any fence raises ``EDEADLK`` (sleeping in atomic context);
- signalling (or dropping unsignalled) *another* DriverFence works: the
  nested lock is taken with a lockdep subclass (``spin_lock_nested``).
  Two threads cannot deadlock crosswise (A's callback signalling B while
  B's signals A): a DriverFence is consumed before its lock is taken, so
  the second signal of either raises ``EINVAL`` without locking;
- registering on, dropping a registration of, or ``get_status`` of another
  fence raise ``EDEADLK`` (two fence locks of one lock class);
- ``is_signaled`` is then lockless; ``error``, ``describe``, ``seqno``
  never lock.

An exception raised by ``called()`` cannot cross the C signalling loop:
the remaining callbacks still run, and the exception is raised by the
Python call that signalled (``signal`` or ``close``) after the fence is
completely signalled and the DriverFence consumed (one exception as is,
several as an ``ExceptionGroup``).

Owners (DriverFence, DriverFenceAllocation, FenceCbRegistration) cannot
be copied or pickled (``EINVAL``): a copy would be a second owner.

Thread context: any thread. ``wait`` sleeps (process context); the rest
never sleeps.

C header: include/linux/dma-fence.h (drivers/dma-buf/dma-fence.c);
csrc/include/pfl/dma_fence.h (csrc/helpers/dma_fence.c).
Rust: rust/kernel/dma_buf/dma_fence.rs (the series' v2)
"""

from __future__ import annotations

import itertools
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import (
    REGISTRY,
    ForeignBorrow,
    NoCopy,
    OwnerName,
    addr_of,
    drop_in_place,
    leak_finalizer,
)
from pyforlinux.alloc import GFP_KERNEL, Flags
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync._guard import ThreadBoundGuard
from pyforlinux.sync.aref import ARef
from pyforlinux.sync.rcu import RcuBox
from pyforlinux.time import Delta, delta_to_jiffies

__all__ = [
    "NAME_MAX",
    "CallbackError",
    "DriverFence",
    "DriverFenceAllocation",
    "DriverFenceBorrow",
    "Fence",
    "FenceCb",
    "FenceCbRegistration",
    "FenceCtx",
    "FenceCtxOps",
    "SignallingGuard",
    "begin_signalling",
    "in_fence_callback",
]

F = TypeVar("F")
C = TypeVar("C", bound="FenceCb")
U = TypeVar("U")

NAME_MAX: Final[int] = int(lib.PFL_DMA_FENCE_NAME_LEN) - 1
"""Longest driver or timeline name, in UTF-8 bytes (the C struct keeps 64 with the NUL)."""

_U64: Final = 1 << 64
_INTPTR: Final = ffi.typeof("intptr_t")
_MAX_ERRNO: Final = 4095
# lockdep subclasses 0..7 (MAX_LOCKDEP_SUBCLASSES): nesting depth of fence locks.
_MAX_SUBCLASS: Final = 7
_DESCRIBE_LEN: Final = 256


# ---------------------------------------------------------------- callback plumbing


class _Tls(threading.local):
    """Per thread: fence-callback nesting depth and the exceptions callbacks raised."""

    depth: int = 0
    errors: list[BaseException] | None = None


_tls = _Tls()


def in_fence_callback() -> bool:
    """Whether the calling thread is running a fence callback (a fence lock is held).

    Thread context: any.
    """
    return _tls.depth > 0


# cookie -> registration whose callback is pending. No lock: every access
# is one C-level operation under the GIL (next() of a count, a dict store or
# pop with int keys, which run no Python code), so none is ever torn; and a
# signalling thread enters the callback below holding a fence lock.
_callbacks: dict[int, FenceCbRegistration[Any]] = {}
_cookies = itertools.count(1)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_dma_fence_py_callback(fence_ptr: Any, cookie: int) -> None:
    """C -> Python: one registered callback, run with the fence lock held.

    Called by ``pfl_dma_fence_cb_func`` (csrc/helpers/dma_fence.c) from
    ``dma_fence_signal_timestamp_locked()``. Never raises into C:
    exceptions go to the signalling Python call.
    """
    reg = _callbacks.pop(int(cookie), None)  # SAFETY: GIL-atomic (see _callbacks)
    if reg is None:  # pragma: no cover - every cookie C holds is registered
        return
    _tls.depth += 1
    try:
        reg._callback.called()
    except BaseException as e:  # must not unwind through C
        if _tls.errors is not None:
            e.add_note(
                f"raised by {reg!r} while its fence was signalled; "
                "the fence is signalled and the other callbacks ran"
            )
            _tls.errors.append(e)
        else:  # pragma: no cover - only our signalling calls reach here
            traceback.print_exception(e, file=sys.stderr)
    finally:
        _tls.depth -= 1


def _signalling(fn: Callable[..., int], raw: Any, *args: int) -> list[BaseException]:
    """Run a C signalling call ``fn(raw, *args, subclass)``; return what its
    callbacks raised."""
    tls = _tls
    saved = tls.errors
    errors: list[BaseException] = []
    tls.errors = errors
    try:
        fn(raw, *args, min(tls.depth, _MAX_SUBCLASS))  # the lockdep subclass: nesting depth
    finally:
        tls.errors = saved
    return errors


def _raise_all(errors: list[BaseException]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BaseExceptionGroup("fence callbacks raised", errors)


def _lock_held_by_me(raw: Any) -> bool:
    # The task that owns the fence's spinlock is recorded in its lockdep
    # map (runtime/lock.c); only this task can have set it to itself.
    # One C call (pfl_lock_is_held on raw->lock).
    return bool(lib.pfl_dma_fence_lock_held(raw))


def _lock_held_error(what: str) -> Error:
    return Error(
        code.EDEADLK,
        f"{what}: the calling task holds this fence's lock (a callback of this fence "
        "is running); the call would deadlock",
    )


def _check_may_lock(raw: Any, what: str, *, nests: bool) -> None:
    """Refuse, before C, a call that would take a fence lock and deadlock."""
    if lib.pfl_dma_fence_lock_held(raw):  # _lock_held_by_me(raw), one call less
        raise _lock_held_error(what)
    if _tls.depth and not nests:
        raise Error(
            code.EDEADLK,
            f"{what} from a fence callback: it would nest two fence locks of one lock class "
            "(callbacks run with the signalled fence's lock held); do it after the signal",
        )


class _LeakName(OwnerName):
    """A leak report's text, ``template % args`` (a C pointer shown as its
    address), formatted only when shown: an owner is made per fence, and
    its name is read only if it leaks. ``_LeakName((template, "", args))``.
    """

    __slots__ = ()

    def __str__(self) -> str:
        template, _, args = self
        return str(template % tuple(addr_of(a) if isinstance(a, ffi.CData) else a for a in args))


# ---------------------------------------------------------------- signalling sections


class SignallingGuard(ThreadBoundGuard):
    """A fence signalling critical section, from :func:`begin_signalling` to :meth:`unlock`.

    Thread-bound (``EPERM`` on another thread, ``EINVAL`` after release);
    ``with`` ends it. Everything a driver does between a job's completion
    and the signal of its fence belongs inside: the lock validator then
    reports a lock taken here that is also held around a fence wait.

    C header: include/linux/dma-fence.h (``dma_fence_end_signalling``).
    Rust: the series' "TODO signalling guards".
    """

    __slots__ = ("_cookie",)

    def __init__(self) -> None:
        self._cookie = bool(lib.pfl_dma_fence_begin_signalling())
        self._bind()

    def _subject(self) -> str:
        return "dma_fence signalling section"

    def _release(self) -> None:
        lib.pfl_dma_fence_end_signalling(self._cookie)


def begin_signalling() -> SignallingGuard:
    """Enter a fence signalling critical section (``dma_fence_begin_signalling``).

    Returns:
        The :class:`SignallingGuard` that ends it (use ``with``). In atomic
        context (a SpinLock held) the section is not annotated, as in C.

    Thread context: any; never sleeps.
    C header: include/linux/dma-fence.h
    """
    return SignallingGuard()


# ---------------------------------------------------------------- errors


class CallbackError(Error, Generic[U]):
    """A callback could not be registered; the callback comes back in :attr:`data`.

    ``errno`` is ``ENOENT`` when the fence is already signalled (Rust:
    ``CallbackError::AlreadySignaled(T)``), ``ENOMEM`` when the callback node
    cannot be allocated (``CallbackError::Other``).

    Rust: ``kernel::dma_buf::CallbackError<T>``
    """

    def __init__(self, errno: int, data: U, message: str | None = None) -> None:
        super().__init__(errno, message)
        self.data: U = data
        """The callback, given back to the caller."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errno, self.data, self._message))


def _check_name(name: object, what: str) -> bytes:
    if not isinstance(name, str):
        raise Error(code.EINVAL, f"{what} must be a str, not {type(name).__name__}")
    raw = name.encode()
    if b"\0" in raw or len(raw) > NAME_MAX:
        raise Error(code.EINVAL, f"{what} {name!r}: at most {NAME_MAX} UTF-8 bytes, no NUL")
    return raw


def _check_flags(flags: object) -> int:
    if not isinstance(flags, Flags):
        raise Error(code.EINVAL, f"flags must be alloc.Flags, not {type(flags).__name__}")
    return flags.as_raw()


def _to_errno(result: object) -> int:
    """``signal``'s result as a C error: 0, or ``-errno`` (Rust ``Result``)."""
    if result is None:
        return 0
    if isinstance(result, Error):
        return result.to_errno()
    if (
        isinstance(result, bool)
        or not isinstance(result, int)
        or not (result == 0 or -_MAX_ERRNO <= result < 0)
    ):
        raise Error(
            code.EINVAL,
            f"signal needs None/0 (success), a negative errno or an Error, not {result!r}",
        )
    return result


def _timeout_jiffies(timeout: object) -> int:
    """A wait timeout (a :class:`~pyforlinux.time.Delta`, ``None``: forever) in jiffies."""
    if timeout is None:
        return int(lib.MAX_SCHEDULE_TIMEOUT)
    if not isinstance(timeout, Delta):
        raise Error(code.EINVAL, f"a wait timeout is a time.Delta or None, not {timeout!r}")
    return delta_to_jiffies(timeout)


# ---------------------------------------------------------------- context


class FenceCtxOps(Generic[F]):
    """The data of a :class:`FenceCtx`; its ``FenceDataType`` is the fences' data type.

    Subclass it (``class Ring(FenceCtxOps[Job]): FenceDataType = Job``);
    :meth:`FenceCtx.new_fence_allocation` then refuses data of another type
    with ``EINVAL``. ``FenceDataType = None`` (the default) accepts any.
    The mandatory backend ops (names) are implemented by the context;
    further ops would be methods here, as in the series.

    Rust: ``trait FenceCtxOps { type FenceDataType; }``
    """

    FenceDataType: ClassVar[type[Any] | None] = None
    """The type of the fences' driver data (``None``: not checked)."""


class FenceCtx(NoCopy, Generic[F]):
    """A fence context: a context number and a timeline of sequence numbers.

    ``FenceCtx(driver_name, timeline_name, data, initial_seqno=0)``
    allocates one context number (``dma_fence_context_alloc(1)``, a global
    atomic in C); each fence created on it gets the next sequence number
    (``u64``, atomically incremented, wrapping at 2**64). The names
    (``str``, at most :data:`NAME_MAX` UTF-8 bytes, no NUL) are what the
    fences' C ops ``get_driver_name``/``get_timeline_name`` return
    (``dma_fence_describe``, the core's WARN messages). ``data`` is the
    context's :class:`FenceCtxOps` (default: a plain one).

    The context owns no C memory: each fence's allocation keeps a copy of
    the names for its ops (the 6.12 core calls them on signalled fences
    too), so fences may outlive the context.

    Raises:
        Error: ``EINVAL`` for a bad name, a seqno outside ``0..2**64-1``
            or ``data`` that is not a FenceCtxOps.

    Thread context: any; fences may be created from many threads.

    C header: include/linux/dma-fence.h (``dma_fence_context_alloc``).
    Rust: ``FenceCtx<T: FenceCtxOps>`` (``FenceCtx::new``)
    """

    __slots__ = ("_data", "_driver", "_nr", "_seqno", "_timeline")

    def __init__(
        self,
        driver_name: str,
        timeline_name: str,
        data: FenceCtxOps[F] | None = None,
        initial_seqno: int = 0,
    ) -> None:
        self._driver = _check_name(driver_name, "driver name")
        self._timeline = _check_name(timeline_name, "timeline name")
        if data is None:
            data = FenceCtxOps()
        if not isinstance(data, FenceCtxOps):
            raise Error(code.EINVAL, f"FenceCtx data must be a FenceCtxOps, not {data!r}")
        if (
            isinstance(initial_seqno, bool)
            or not isinstance(initial_seqno, int)
            or not (0 <= initial_seqno < _U64)
        ):
            raise Error(code.EINVAL, f"initial seqno {initial_seqno!r} is not a u64")
        self._data: FenceCtxOps[F] = data
        self._seqno = initial_seqno
        self._nr = int(lib.dma_fence_context_alloc(1))

    @classmethod
    def new(
        cls,
        driver_name: str,
        timeline_name: str,
        data: FenceCtxOps[F] | None = None,
        initial_seqno: int = 0,
    ) -> FenceCtx[F]:
        """Same as the constructor. Rust: ``FenceCtx::new``."""
        return cls(driver_name, timeline_name, data, initial_seqno)

    @property
    def data(self) -> FenceCtxOps[F]:
        """The context's data (its :class:`FenceCtxOps`)."""
        return self._data

    @property
    def context(self) -> int:
        """The context number (``u64``, ``dma_fence.context`` of every fence)."""
        return self._nr

    @property
    def driver_name(self) -> str:
        """The driver name the fences report."""
        return self._driver.decode()

    @property
    def timeline_name(self) -> str:
        """The timeline name the fences report."""
        return self._timeline.decode()

    def _next_seqno(self) -> int:
        # SAFETY: a read, int arithmetic and a store, with no call and no
        # backward jump in between: the GIL runs them as one step, so no two
        # fences get one seqno.
        seqno = self._seqno
        self._seqno = (seqno + 1) % _U64
        return seqno

    def new_fence_allocation(self, data: F, flags: Flags = GFP_KERNEL) -> DriverFenceAllocation[F]:
        """Allocate a fence and store its data now; create the fence later without allocating.

        Args:
            data: the fence's driver data (``FenceCtxOps.FenceDataType``).
                It is dropped (``close()`` if it has one) through
                ``call_rcu``, on the RCU callback thread with preemption
                disabled: its ``close()`` must not sleep (Rust: "must not
                perform any operations that are illegal in atomic context
                in its Drop").
            flags: GFP flags of the allocations (``GFP_KERNEL`` may sleep).

        Returns:
            A :class:`DriverFenceAllocation` (close it if never used).

        Raises:
            Error: ``ENOMEM`` (the C fence or the data's RcuBox; fault
                injection applies), ``EINVAL`` for bad flags or data that
                is not a ``FenceDataType``.

        Rust: ``FenceCtx::new_fence_allocation``
        """
        gfp = _check_flags(flags)
        want = self._data.FenceDataType
        if want is not None and not isinstance(data, want):
            raise Error(
                code.EINVAL,
                f"fence data {data!r} is not a {want.__name__} (FenceCtxOps.FenceDataType)",
            )
        ptr = lib.pfl_dma_fence_alloc(self._driver, self._timeline, gfp)
        err = int(ffi.cast(_INTPTR, ptr))
        if -_MAX_ERRNO <= err < 0:  # IS_ERR(ptr), without a C call: -PTR_ERR(ptr)
            raise Error(-err, "cannot allocate a dma_fence")
        # The data is dropped plainly (drop_in_place) while unused; the
        # DriverFence, once there is one, makes it its own drop (data, then
        # its C reference).
        try:
            # Part of the allocation, then of the DriverFence: their leak
            # reports cover it.
            box: RcuBox[F] = RcuBox._part_of(data, flags)
        except BaseException:
            # SAFETY: never armed, so C never saw it: a plain kfree.
            lib.pfl_dma_fence_free_unarmed(ptr)
            raise
        return DriverFenceAllocation._adopt(ptr, self, box)

    def new_fence(self, allocation: DriverFenceAllocation[F]) -> DriverFence[F]:
        """Create the fence from its allocation: ``dma_fence_init``, never allocates.

        Takes the context's next seqno and consumes ``allocation``.

        Returns:
            The :class:`DriverFence`, owning the C reference
            ``dma_fence_init`` created.

        Raises:
            Error: ``EINVAL`` if ``allocation`` was already used or closed,
                or belongs to another context (nothing is consumed then).

        Rust: ``FenceCtx::new_fence``
        """
        if not isinstance(allocation, DriverFenceAllocation):
            raise Error(code.EINVAL, f"new_fence needs a DriverFenceAllocation, not {allocation!r}")
        if allocation._ctx is not self:
            raise Error(code.EINVAL, "new_fence: the allocation belongs to another FenceCtx")
        ptr, box = allocation._take("FenceCtx.new_fence")
        seqno = self._next_seqno()
        # SAFETY: ptr is the unarmed, zeroed struct pfl_dma_fence the
        # allocation owned; dma_fence_init() gives it a refcount of 1, which
        # the DriverFence owns. From here C frees the memory (release op).
        raw = lib.pfl_dma_fence_arm(ptr, self._nr, seqno)
        fence = Fence._armed(raw, self, seqno)
        return DriverFence._adopt(fence, box)

    def __repr__(self) -> str:
        return f"<FenceCtx {self.driver_name}:{self.timeline_name} context {self._nr}>"


# ---------------------------------------------------------------- allocation


class DriverFenceAllocation(NoCopy, Generic[F]):
    """The memory of one fence and its data, not yet a fence.

    Made by :meth:`FenceCtx.new_fence_allocation` (the only allocations);
    :meth:`FenceCtx.new_fence` turns it into a :class:`DriverFence` and
    consumes it. Unused, it owns the C memory and the data:
    :meth:`close` (or leaving ``with``) frees both (the data through
    ``call_rcu``); a forgotten one is reported (``LeakWarning``).

    Errors: ``EINVAL`` when used after it was consumed or closed.

    Rust: ``DriverFenceAllocation<T>``
    """

    __slots__ = ("__weakref__", "_box", "_ctx", "_fin", "_ptr")
    _ptr: Any
    _ctx: FenceCtx[F]
    _box: RcuBox[F] | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        raise TypeError("use FenceCtx.new_fence_allocation()")

    @classmethod
    def _adopt(cls, ptr: Any, ctx: FenceCtx[F], box: RcuBox[F]) -> DriverFenceAllocation[F]:
        self: DriverFenceAllocation[F] = object.__new__(cls)
        self._ptr = ptr
        self._ctx = ctx
        self._box = box
        self._fin = leak_finalizer(self, _LeakName(("DriverFenceAllocation at %#x", "", (ptr,))))
        return self

    def _take(self, what: str) -> tuple[Any, RcuBox[F]]:
        # SAFETY: the check and the claim (two stores of None; the locals
        # keep the old values alive, so no finalizer runs) have no call and
        # no backward jump in between: the GIL serialises them, so one
        # taker wins.
        ptr, box = self._ptr, self._box
        if ptr is None or box is None:
            raise Error(code.EINVAL, f"{what}: the fence allocation was already used or freed")
        self._ptr = self._box = None
        self._fin.detach()
        return ptr, box

    @property
    def closed(self) -> bool:
        """Whether it was consumed or freed."""
        return self._ptr is None

    def close(self) -> None:
        """Free the memory and drop the data (through ``call_rcu``). No-op once consumed."""
        try:
            ptr, box = self._take("close")
        except Error:
            return
        # SAFETY: never armed, so C never saw it: a plain kfree.
        lib.pfl_dma_fence_free_unarmed(ptr)
        box.close()

    def __enter__(self) -> DriverFenceAllocation[F]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DriverFenceAllocation {'used' if self.closed else 'unused'} on {self._ctx!r}>"


# ---------------------------------------------------------------- Fence


class Fence(NoCopy):
    """The consumers' side of a fence: shared, reference counted, cannot be signalled.

    Handed out as ``ARef[Fence]``: ``ARef.new(driver_fence.as_fence())``
    takes a reference (``dma_fence_get``), ``ARef.clone()`` another,
    ``ARef.close()`` drops one (``dma_fence_put``). ``ARef[Fence]`` is
    ForeignOwnable: ``into_foreign()`` hands C the ``struct dma_fence *``.
    Callbacks are registered on it through :class:`FenceCbRegistration`.

    A Fence object is usable while a reference is owned (an ``ARef``, the
    DriverFence's own until its data is dropped, a live
    FenceCbRegistration's, or a foreign ownership);
    afterwards every method raises ``Error(EINVAL)`` and never touches the
    freed C fence. Each C access pins the fence (``dma_fence_get``/``put``)
    for its duration, so a concurrent drop in another thread is safe.

    Errors common to the methods: ``EINVAL`` once no reference is left;
    ``EDEADLK`` for calls a fence callback must not make (module doc).

    C header: include/linux/dma-fence.h. Rust: ``Fence``
    """

    __slots__ = ("__weakref__", "_ctx", "_lock", "_raw", "_refs", "_seqno")
    _raw: Any
    _ctx: FenceCtx[Any]
    _seqno: int
    _refs: int
    _lock: threading.Lock

    def __init__(self) -> None:
        raise TypeError("a Fence comes from DriverFence.as_fence()")

    @classmethod
    def _armed(cls, raw: Any, ctx: FenceCtx[Any], seqno: int) -> Fence:
        self: Fence = object.__new__(cls)
        self._raw = raw
        self._ctx = ctx
        self._seqno = seqno
        self._refs = 1  # the DriverFence's (dma_fence_init)
        self._lock = threading.Lock()
        return self

    @classmethod
    def from_c_ref(cls, raw: Any) -> ARef[Fence]:
        """Adopt one reference to a C ``struct dma_fence *`` that any code made
        (a sync_file's fence, a fence array, another driver's) as an
        ``ARef[Fence]``; its context, seqno and names are the C fence's
        (``ops->get_driver_name``/``get_timeline_name``, read now).

        Safety: the caller owns that reference and gives it up (e.g. what
        ``sync_file_get_fence()`` returned).

        Raises:
            Error: ``EINVAL`` for NULL.
        """
        if raw == ffi.NULL:
            raise Error(code.EINVAL, "Fence.from_c_ref(NULL)")
        ctx: FenceCtx[Any] = object.__new__(FenceCtx)
        ctx._data = FenceCtxOps()
        ctx._seqno = 0
        ctx._nr = int(raw.context)
        ctx._driver = bytes(ffi.string(raw.ops.get_driver_name(raw)))
        ctx._timeline = bytes(ffi.string(raw.ops.get_timeline_name(raw)))
        self = cls._armed(raw, ctx, int(raw.seqno))  # _refs = 1: the adopted one
        return ARef.from_raw(self)

    def _pin(self, what: str) -> Any:
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, f"Fence.{what}: no reference to the fence is left")
            # SAFETY: _refs > 0 means an owned reference keeps the C fence
            # alive; the pin is a reference of its own (kref, lockless).
            return lib.dma_fence_get(self._raw)

    @staticmethod
    def _unpin(raw: Any) -> None:
        # SAFETY: drops the pin taken by _pin(). If it is the final C
        # reference, the fence is signalled (its DriverFence signals before
        # it lets go), so no callback is pending and the release op frees it.
        lib.dma_fence_put(raw)

    # -- AlwaysRefCounted

    def inc_ref(self) -> None:
        """Take a reference (``dma_fence_get``). Rust: ``AlwaysRefCounted::inc_ref``.

        Raises:
            Error: ``EINVAL`` once no reference is left.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "Fence.inc_ref: no reference to the fence is left")
            # SAFETY: an owned reference exists (checked under the lock).
            lib.dma_fence_get(self._raw)
            self._refs += 1

    def dec_ref(self) -> None:
        """Drop a reference (``dma_fence_put``). Rust: ``AlwaysRefCounted::dec_ref``.

        Never signals: only a DriverFence signals, and it does before it
        lets its own reference go. Callable from fence callbacks.

        Safety: only for a reference the caller owns (``ARef.into_raw()``);
        ``ARef.close()`` is the safe way. Dropping a reference that belongs
        to someone else (the DriverFence's) frees the C fence under them.

        Raises:
            Error: ``EINVAL`` if no reference is left.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "Fence.dec_ref: no reference to the fence is left")
            self._refs -= 1
        # SAFETY: the reference this call owned; see _unpin().
        lib.dma_fence_put(self._raw)

    def as_ptr(self) -> Any:
        """The ``struct dma_fence *`` (what ``ARef.into_foreign`` hands to C).

        Raises ``EINVAL`` once no reference is left.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "Fence.as_ptr: no reference to the fence is left")
            return self._raw

    # -- plain accessors

    @property
    def context(self) -> int:
        """The fence context number (``u64``)."""
        return self._ctx.context

    @property
    def seqno(self) -> int:
        """The sequence number in its context (``u64``)."""
        return self._seqno

    @property
    def driver_name(self) -> str:
        """``ops->get_driver_name()``'s answer."""
        return self._ctx.driver_name

    @property
    def timeline_name(self) -> str:
        """``ops->get_timeline_name()``'s answer."""
        return self._ctx.timeline_name

    def is_signaled(self) -> bool:
        """Whether the fence is signalled, with every callback run.

        ``dma_fence_is_signaled()`` then a lock round trip, as the series
        does (the C sets the flag before it runs the callbacks). From a
        fence callback: lockless (the flag only).

        Rust: ``Fence::is_signaled``
        """
        raw = self._pin("is_signaled")
        try:
            if _tls.depth or _lock_held_by_me(raw):
                return bool(lib.dma_fence_is_signaled(raw))
            return bool(lib.pfl_dma_fence_is_signaled_sync(raw))
        finally:
            self._unpin(raw)

    @property
    def error(self) -> int:
        """``dma_fence.error``: ``0``, or the negative errno it was signalled with.

        Meaningful once signalled (``-ECANCELED`` after a drop unsignalled).
        Lockless. C rule (the series is silent).
        """
        raw = self._pin("error")
        try:
            return int(raw.error)
        finally:
            self._unpin(raw)

    def timestamp_ns(self) -> int:
        """When the fence was signalled (``ktime_t`` ns, ``CLOCK_MONOTONIC``).

        Raises:
            Error: ``EBUSY`` while unsignalled.

        C header: include/linux/dma-fence.h (``dma_fence.timestamp``).
        """
        raw = self._pin("timestamp_ns")
        try:
            ns = int(lib.pfl_dma_fence_timestamp_ns(raw))
        finally:
            self._unpin(raw)
        if ns == -code.EBUSY:
            raise Error(code.EBUSY, "the fence is not signalled yet")
        return ns

    def refcount(self) -> int:
        """The C reference count (``kref_read``), excluding this call's own pin.

        A snapshot for diagnostics: other threads may change it at once.
        """
        raw = self._pin("refcount")
        try:
            return int(lib.pfl_dma_fence_refcount(raw)) - 1
        finally:
            self._unpin(raw)

    def describe(self) -> str:
        """``dma_fence_describe()`` into a seq_file buffer.

        Returns:
            ``"<driver> <timeline> seq <n> [un]signalled\\n"``. Lockless.
        """
        buf = ffi.new("char[]", _DESCRIBE_LEN)
        seq = ffi.new("struct seq_file *", {"buf": buf, "size": _DESCRIBE_LEN, "count": 0})
        raw = self._pin("describe")
        try:
            lib.dma_fence_describe(raw, seq)
        finally:
            self._unpin(raw)
        return bytes(ffi.string(buf)).decode(errors="replace")

    def get_status(self) -> int:
        """``dma_fence_get_status()``: ``0`` unsignalled, ``1`` signalled, or ``-errno``.

        Takes the fence lock (``EDEADLK`` from a fence callback). C's
        (the series is silent).
        """
        raw = self._pin("get_status")
        try:
            _check_may_lock(raw, "Fence.get_status", nests=False)
            return int(lib.dma_fence_get_status(raw))
        finally:
            self._unpin(raw)

    def wait(self, timeout: Delta | None = None, interruptible: bool = True) -> bool:
        """Sleep until the fence signals: ``dma_fence_wait_timeout()``.

        The series has no wait; this is C's, with a :class:`~pyforlinux.time.Delta`.

        Args:
            timeout: ``None`` (default) waits forever; else a
                :class:`~pyforlinux.time.Delta`, rounded up to jiffies
                (``HZ`` = 1000; ``delta_to_jiffies``); ``Delta.ZERO`` polls.
            interruptible: ``TASK_INTERRUPTIBLE``: a signal to the task
                (``pfl_task_signal``) ends the wait.

        Returns:
            ``True`` if the fence is signalled (maybe with an error: see
            :attr:`error`), ``False`` if the timeout passed.

        Raises:
            Error: ``ERESTARTSYS`` if interrupted by a signal; ``EINVAL``
                for a negative Delta or a timeout that is not a Delta,
                ``ERANGE`` for a saturated Delta; ``EDEADLK`` from a fence callback
                (sleeping with a fence lock held) or, in lockdep strict
                mode, under a SpinLock or RCU read lock or when the wait
                closes a cycle with a signalling section (before waiting).

        Lock validator: the locks held here get an edge to the signalling
        sections (see :func:`begin_signalling`).

        Thread context: process context, sleeps (the GIL is released).
        C header: include/linux/dma-fence.h (``dma_fence_wait_timeout``).
        """
        jiffies = _timeout_jiffies(timeout)
        raw = self._pin("wait")
        try:
            if _lock_held_by_me(raw) or _tls.depth:
                raise Error(
                    code.EDEADLK,
                    "Fence.wait from a fence callback: sleeping with a fence lock held "
                    "(atomic context) deadlocks",
                )
            lockdep.might_sleep("waiting on a Fence")
            chk = lockdep.StrictCheck()
            lib.pfl_dma_fence_might_wait()  # __dma_fence_might_wait(): the annotation
            chk.check("waiting on a Fence")
            ret = int(lib.dma_fence_wait_timeout(raw, bool(interruptible), jiffies))
        finally:
            self._unpin(raw)
        if ret < 0:
            raise Error(-ret, "Fence.wait interrupted" if ret == -code.ERESTARTSYS else None)
        return ret > 0

    def __repr__(self) -> str:
        state = "dropped" if self._refs == 0 else f"{self._ctx.context}:{self._seqno}"
        return f"<Fence {self._ctx.driver_name}:{self._ctx.timeline_name} {state}>"


# ---------------------------------------------------------------- DriverFence

_ARMED: Final = "armed"
_FOREIGN: Final = "owned by C (into_foreign)"
_CONSUMED: Final = "consumed (signalled or dropped)"


class DriverFenceBorrow(NoCopy, Generic[F]):
    """A borrowed DriverFence (``ForeignOwnable::borrow``): its data and its Fence.

    Valid while the borrow lasts (``EINVAL`` afterwards).

    Rust: ``DriverFenceBorrow<T>``
    """

    __slots__ = ("_borrow", "_owner")

    def __init__(self, owner: DriverFence[F], borrow: list[ForeignBorrow[Any]]) -> None:
        self._owner = owner
        self._borrow = borrow

    def _check(self) -> DriverFence[F]:
        if self._borrow and not self._borrow[0].is_live():
            raise Error(code.EINVAL, "DriverFenceBorrow used after its borrow ended")
        return self._owner

    @property
    def data(self) -> F:
        """The driver data (Rust: ``Deref``)."""
        return self._check()._box_value()

    def as_fence(self) -> Fence:
        """The fence's :class:`Fence` (take an ``ARef.new()`` to keep it)."""
        return self._check()._fence


class DriverFence(NoCopy, Generic[F]):
    """The producer's side of a fence: one owner, carries the data, the only one that signals.

    Made by :meth:`FenceCtx.new_fence`. :meth:`signal` consumes it;
    dropping it unsignalled (:meth:`close`, the end of ``with``) is a
    driver bug that WARNs and signals ``-ECANCELED``. Either way its data
    is then dropped through ``call_rcu`` (``RcuBox``), after which its C
    reference is put; the Fence lives on while referenced.

    ForeignOwnable: :meth:`into_foreign` hands C a ``void *`` into the
    fence's own allocation (not the ``struct dma_fence *``, so that an
    ``ARef[Fence]`` of the same fence can be foreign at the same time);
    :meth:`from_foreign` takes it back; :meth:`borrow` gives a
    :class:`DriverFenceBorrow`.

    Errors: ``EINVAL`` after it was consumed (a second :meth:`signal`
    included) or while C owns it.

    Thread context: any; one owner at a time.

    Rust: ``DriverFence<T>``
    """

    __slots__ = ("__weakref__", "_box", "_fence", "_fin", "_state")
    _fence: Fence
    _box: RcuBox[F]
    _state: str
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        raise TypeError("use FenceCtx.new_fence()")

    @classmethod
    def _adopt(cls, fence: Fence, box: RcuBox[F]) -> DriverFence[F]:
        self: DriverFence[F] = object.__new__(cls)
        self._fence = fence
        self._box = box
        box._set_drop(self._drop_data)
        self._state = _ARMED
        self._fin = leak_finalizer(
            self,
            _LeakName(
                (
                    "DriverFence %d:%d (never signalled or dropped)",
                    "",
                    (fence._ctx._nr, fence._seqno),
                )
            ),
        )
        return self

    def _check(self, what: str) -> Fence:
        state = self._state
        if state != _ARMED:
            raise Error(code.EINVAL, f"DriverFence.{what}: the DriverFence is {state}")
        return self._fence

    def _box_value(self) -> F:
        return self._box.value

    @property
    def data(self) -> F:
        """The driver data (Rust: ``Deref`` of ``DriverFence``).

        Raises:
            Error: ``EINVAL`` once consumed or while C owns it.
        """
        self._check("data")
        return self._box_value()

    def as_fence(self) -> Fence:
        """The :class:`Fence` of this fence (borrowed: ``ARef.new()`` to share it).

        Rust: ``DriverFence::as_fence``
        """
        return self._check("as_fence")

    @property
    def closed(self) -> bool:
        """Whether it was consumed (signalled or dropped)."""
        return self._state == _CONSUMED

    def _consume(self, what: str) -> None:
        # SAFETY: the check and the claim have no call and no backward jump
        # in between: the GIL serialises them, so one consumer wins.
        state = self._state
        if state != _ARMED:
            raise Error(code.EINVAL, f"DriverFence.{what}: the DriverFence is {state}")
        self._state = _CONSUMED
        self._fin.detach()

    def _finish(self, what: str, c_call: Callable[..., int], *args: int) -> None:
        """Consume the DriverFence with a signalling C call
        ``c_call(raw, *args, subclass)``, then retire it.

        The checks come first, and the DriverFence is consumed only right
        before C is called, so a refused call (``EDEADLK``) leaves it as it was.
        """
        raw = self._check(what)._raw
        _check_may_lock(raw, f"DriverFence.{what}", nests=True)
        self._consume(what)
        try:
            errors = _signalling(c_call, raw, *args)
        finally:
            self._retire()
        if errors:
            _raise_all(errors)

    def signal(self, result: int | Error | None = None) -> None:
        """Signal the fence with a result and consume the DriverFence.

        Args:
            result: ``None`` or ``0`` for success (Rust ``Ok(())``), else
                the error (``Err(e)``): a negative errno (``-EIO``) or an
                :class:`~pyforlinux.error.Error`. The error is set before
                signalling (C rule), so every callback and waiter sees it.

        Every registered callback runs, in this thread, with the fence lock
        held; waiters wake. Then the data is dropped through ``call_rcu``.

        Raises:
            Error: ``EINVAL`` for a result that is not one of the above
                (the DriverFence is then not consumed), or if it was
                already consumed (a second signal); ``EDEADLK`` from a
                callback of this fence; what a callback raised (after the
                signal completed and the DriverFence was consumed).

        Rust: ``DriverFence::signal(self, res: Result)``
        """
        self._finish("signal", lib.pfl_dma_fence_signal, _to_errno(result))

    def close(self) -> None:
        """Drop the DriverFence; if unsignalled, WARN and signal it with ``-ECANCELED``.

        No-op once consumed (after :meth:`signal`).

        Raises:
            Error: ``EINVAL`` while C owns it; ``EDEADLK`` from a callback
                of this (unsignalled) fence's lock holder; what a callback
                raised during the cancel (after the drop completed).

        Rust: ``impl Drop for DriverFence``
        """
        if self._state == _CONSUMED:
            return
        try:
            self._finish("close", lib.pfl_dma_fence_drop_signal)
        except Error as e:
            if e.errno == code.EINVAL and self._state == _CONSUMED:
                return  # a concurrent signal or close won
            raise

    def _retire(self) -> None:
        """Hand the data and our C reference to ``call_rcu`` (the series' drop)."""
        self._box.close()

    def _drop_data(self, data: F) -> None:
        """The RCU callback: drop the data, then put the DriverFence's reference."""
        try:
            drop_in_place(data)
        finally:
            self._fence.dec_ref()

    def __enter__(self) -> DriverFence[F]:
        self._check("__enter__")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == _ARMED:
            self.close()

    # -- ForeignOwnable

    def _foreign_addr(self) -> Any:
        # The fence's own lock, inside the same allocation as the dma_fence.
        return ffi.cast(
            "void *", ffi.addressof(ffi.cast("struct pfl_dma_fence *", self._fence._raw), "lock")
        )

    def into_foreign(self) -> Any:
        """Hand the DriverFence to C; returns a non-NULL ``void *``.

        Until :meth:`from_foreign`, every method of this object raises
        ``EINVAL`` (C owns it). Rust: ``ForeignOwnable::into_foreign``.
        """
        # SAFETY: check and claim with no call in between (see _consume);
        # undone if the registry refuses.
        state = self._state
        if state != _ARMED:
            raise Error(code.EINVAL, f"DriverFence.into_foreign: the DriverFence is {state}")
        self._state = _FOREIGN
        try:
            ptr = self._foreign_addr()
            REGISTRY.register(addr_of(ptr), DriverFence, self, shareable=False)
        except BaseException:
            self._state = _ARMED
            raise
        return ptr

    @classmethod
    def from_foreign(cls, ptr: Any) -> DriverFence[Any]:
        """Take the DriverFence back from C (once per :meth:`into_foreign`).

        Raises:
            Error: ``ENOENT`` (not foreign-owned), ``EINVAL`` (NULL, other
                type), ``EBUSY`` (borrowed).
        """
        obj: DriverFence[Any] = REGISTRY.take(addr_of(ptr), DriverFence)
        obj._state = _ARMED
        return obj

    @classmethod
    def try_from_foreign(cls, ptr: Any) -> DriverFence[Any] | None:
        """:meth:`from_foreign`, or ``None`` for NULL."""
        if ptr == ffi.NULL:
            return None
        return cls.from_foreign(ptr)

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[DriverFenceBorrow[Any]]:
        """Borrow the foreign-owned DriverFence: a :class:`DriverFenceBorrow`."""
        return cls._borrow(ptr, False)

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[DriverFenceBorrow[Any]]:
        """Borrow exclusively (the view is the same as :meth:`borrow`'s)."""
        return cls._borrow(ptr, True)

    @staticmethod
    def _borrow(ptr: Any, mutable: bool) -> ForeignBorrow[DriverFenceBorrow[Any]]:
        addr = addr_of(ptr)
        obj: DriverFence[Any] = REGISTRY.borrow(addr, DriverFence, mutable)
        cell: list[ForeignBorrow[Any]] = []
        view = DriverFenceBorrow(obj, cell)
        b = ForeignBorrow(REGISTRY, addr, mutable, lambda _b: view)
        cell.append(b)
        return b

    def __repr__(self) -> str:
        f = self._fence
        where = f"{f.driver_name}:{f.timeline_name} {f.context}:{f.seqno}"
        return f"<DriverFence {where} {self._state}>"


# ---------------------------------------------------------------- callbacks


class FenceCb(Protocol):
    """A callback: ``called()`` runs once when the fence signals.

    It runs in the signalling thread with the fence lock held (atomic
    context): it must not sleep, and should hand real work elsewhere (a
    work item) — including the drop of its :class:`FenceCbRegistration`.
    The callback object is only borrowed when called (Rust ``&mut self``).

    Rust: ``trait FenceCb { fn called(&mut self); }``
    """

    def called(self) -> None:
        """The fence signalled (its error is set before: ``Fence.error``)."""
        ...


class FenceCbRegistration(NoCopy, Generic[C]):
    """A callback registered on a :class:`Fence`; dropping it removes the callback.

    Made by :meth:`new`. Owns the callback object, the C node
    (``struct dma_fence_cb``) and a reference to the fence. :meth:`close`
    (or the end of ``with``) calls ``dma_fence_remove_callback`` — always,
    even after the callback ran, because that takes the fence lock and so
    waits for a callback still running on another thread — then frees the
    node and drops the callback (``close()`` if it has one) and the
    reference. A forgotten registration is reported (``LeakWarning``).

    Errors: ``EINVAL`` when used after :meth:`close` (``fence()``,
    ``callback``); ``EDEADLK`` when closed from a fence callback.

    Rust: ``FenceCbRegistration<T: FenceCb>``
    """

    __slots__ = ("__weakref__", "_callback", "_cookie", "_fence", "_fin", "_node")
    _callback: C
    _fence: Fence | None  # its reference (inc_ref) is the registration's
    _node: Any
    _cookie: int
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        raise TypeError("use FenceCbRegistration.new(fence, callback)")

    @classmethod
    def new(cls, fence: Fence, callback: C, flags: Flags = GFP_KERNEL) -> FenceCbRegistration[C]:
        """Register ``callback`` on ``fence``; it runs ``callback.called()`` when it signals.

        Args:
            fence: the :class:`Fence` (a reference is taken for the
                registration's lifetime).
            callback: a :class:`FenceCb`; it moves into the registration.
            flags: GFP flags of the node's allocation (Rust: of the
                ``KBox::pin_init`` the registration is placed in).

        Raises:
            CallbackError: ``ENOENT`` if the fence is already signalled
                (``dma_fence_add_callback``'s answer), ``ENOMEM`` if the
                node cannot be allocated; ``.data`` is ``callback``.
            Error: ``EINVAL`` for a callback without ``called()``, bad
                flags or a fence without references; ``EDEADLK`` from a
                fence callback. The callback stays the caller's.

        Rust: ``FenceCbRegistration::new``
        """
        if not isinstance(fence, Fence):
            raise Error(code.EINVAL, f"FenceCbRegistration.new needs a Fence, not {fence!r}")
        if not callable(getattr(callback, "called", None)):
            raise Error(code.EINVAL, f"{callback!r} is not a FenceCb (no called() method)")
        gfp = _check_flags(flags)
        # The registration's reference first (EINVAL without one): it keeps
        # the C fence alive for everything below, so no pin of its own. The
        # registration owns it directly (Rust: its ARef<Fence> field), and
        # its own leak report covers it.
        fence.inc_ref()
        raw = fence._raw
        if _tls.depth:
            try:
                _check_may_lock(raw, "FenceCbRegistration.new", nests=False)  # raises
            finally:
                fence.dec_ref()
        # SAFETY: next() of a count is GIL-atomic (see _callbacks).
        cookie = next(_cookies)
        self: FenceCbRegistration[C] = object.__new__(cls)
        self._callback = callback
        self._fence = fence
        self._cookie = cookie
        # The entry first: the callback may run as soon as it is added.
        _callbacks[cookie] = self  # SAFETY: GIL-atomic (see _callbacks)
        # SAFETY: raw is referenced (above). One C call makes the checks and
        # steps of before: EDEADLK if this task holds the fence lock, the
        # node's kzalloc (ENOMEM), dma_fence_add_callback (ENOENT); the node
        # is ours until close(), and freed by C on an error.
        node = lib.pfl_dma_fence_cb_add(raw, cookie, gfp)
        ret = int(ffi.cast(_INTPTR, node))
        if -_MAX_ERRNO <= ret < 0:  # IS_ERR(node)
            _callbacks.pop(cookie, None)
            fence.dec_ref()
            if ret == -code.EDEADLK:
                raise _lock_held_error("FenceCbRegistration.new")
            if ret == -code.ENOMEM:
                raise CallbackError(code.ENOMEM, callback, "cannot allocate the callback node")
            if ret == -code.ENOENT:
                raise CallbackError(code.ENOENT, callback, "the fence is already signalled")
            raise CallbackError(-ret, callback)
        self._node = node
        self._fin = leak_finalizer(
            self,
            _LeakName(("FenceCbRegistration on fence %d:%d", "", (fence._ctx._nr, fence._seqno))),
        )
        return self

    def _live(self, what: str) -> Fence:
        f = self._fence
        if f is None:
            raise Error(code.EINVAL, f"FenceCbRegistration.{what}: used after it was dropped")
        return f

    def fence(self) -> Fence:
        """The fence the callback is registered on. Rust: ``FenceCbRegistration::fence``."""
        return self._live("fence")

    @property
    def callback(self) -> C:
        """The callback object (owned by the registration)."""
        self._live("callback")
        return self._callback

    @property
    def closed(self) -> bool:
        """Whether it was dropped."""
        return self._fence is None

    def close(self) -> None:
        """Remove the callback (if still pending) and drop everything. No-op once dropped.

        Raises:
            Error: ``EDEADLK`` from a fence callback (it takes the fence
                lock); nothing is dropped then.

        Rust: ``impl PinnedDrop for FenceCbRegistration``
        """
        fence = self._fence
        if fence is None:
            return
        raw = fence._raw
        _check_may_lock(raw, "FenceCbRegistration.close", nests=False)
        # SAFETY: the claim: a test and a store with no call and no backward
        # jump in between, so the GIL serialises concurrent closes; the one
        # that finds the fence gone returns, as if it came second.
        if self._fence is not fence:
            return
        self._fence = None
        self._fin.detach()
        node, self._node = self._node, None
        # SAFETY: our reference keeps the fence alive; node was added (or already
        # ran: then its list node is empty and this is a lock round trip,
        # which also waits for a callback running on another thread) and
        # is freed after.
        lib.pfl_dma_fence_cb_remove_free(raw, node)
        _callbacks.pop(self._cookie, None)  # SAFETY: GIL-atomic (see _callbacks)
        try:
            fence.dec_ref()  # the registration's reference
        finally:
            drop_in_place(self._callback)

    def __enter__(self) -> FenceCbRegistration[C]:
        self._live("__enter__")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        f = self._fence
        where = "dropped" if f is None else repr(f)
        return f"<FenceCbRegistration {type(self._callback).__name__} on {where}>"
