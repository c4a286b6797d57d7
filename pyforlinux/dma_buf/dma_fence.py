"""DMA fences over the real ``drivers/dma-buf/dma-fence.c``.

Mirrors Philipp Stanner's Rust dma_fence abstraction
(``rust/kernel/dma_buf/dma_fence.rs``, earlier ``rust/kernel/sync/dma_fence.rs``):

- :class:`DmaFenceCtx` (Rust: ``DmaFenceCtx``, later ``FenceContext``): one
  fence context from ``dma_fence_context_alloc(1)``, an atomic sequence
  number per context, and the driver and timeline names its fences report;
- :class:`DmaFenceAllocation` (Rust: ``DriverFenceAllocation``): the memory
  of a fence allocated early (``kzalloc``, may fail), armed later by
  :meth:`DmaFenceAllocation.new_fence` (``dma_fence_init``, never
  allocates), so that the path from "job submitted" to "fence signalled"
  allocates no kernel memory;
- :class:`DmaFence` ``[T]`` (Rust: ``DmaFence<T>``): a ``struct dma_fence``
  carrying driver data ``T``, always reference counted: it is
  :class:`~pyforlinux.sync.aref.AlwaysRefCounted` over ``dma_fence_get`` /
  ``dma_fence_put`` and handed out as ``ARef[DmaFence[T]]``;
- callbacks (Rust: ``DmaFenceCb``/``DmaFenceCbFunc``, ``CallbackError``):
  :meth:`DmaFence.register_callback` takes ownership of its data and gives it
  back to the callback when the fence signals; on an already signalled fence
  it raises :class:`CallbackError` (``ENOENT``) carrying the data back.

Signalling: :meth:`DmaFence.signal` (``dma_fence_signal``) and
:meth:`DmaFence.signal_with_error` (``dma_fence_set_error`` +
``dma_fence_signal_locked``, a negative errno required) succeed once; a
second signal raises ``EINVAL``, as the C returns. When the last reference
of an unsignalled fence is dropped, the fence is signalled with
``-ECANCELED`` first (Rust: ``DriverFence``'s drop), so that no callback is
left pending and no waiter hangs (C would WARN "released with pending
signals" and use ``-EDEADLK``).

Lock context. Callbacks run in the signalling thread **with the fence's
spinlock held** (``dma_fence_signal_timestamp_locked``), like kernel fence
callbacks in atomic context. From a callback:

- anything that would take the lock of the fence being signalled
  (``signal``, ``register_callback``, ``get_status``, ``wait``) raises
  ``Error(EDEADLK)`` before calling C (the task owns the lock: C would
  deadlock on itself);
- waiting on any fence raises ``EDEADLK`` (sleeping in atomic context);
- signalling *another* fence works: the nested lock is taken with a
  lockdep subclass (``spin_lock_nested``); two threads doing it crosswise
  (A's callback signals B while B's signals A) would deadlock, so such a
  wait is checked against the other threads' nested waits first and the
  one that would close the cycle raises ``EDEADLK``;
- dropping the last reference of another, unsignalled fence is deferred
  until the thread's outermost signalling call returns (no second fence
  lock is taken for it);
- ``register_callback``/``get_status`` on another fence raise ``EDEADLK``
  (they would nest two fence locks of one lock class);
- ``is_signaled``, ``error``, ``describe``, ``data``, ``seqno`` never lock
  and always work.

An exception raised by a callback cannot cross the C signalling loop: the
remaining callbacks still run, and the exception is raised by the Python
call that signalled (``signal``, ``signal_with_error``, or the ``close()``
that dropped the last reference) after the fence is completely signalled
(one exception as is, several as an ``ExceptionGroup``).

Lifetime: a :class:`DmaFence` object is usable while at least one
``ARef`` to it (or one ``into_foreign`` ownership) exists; afterwards every
method raises ``Error(EINVAL)`` and never touches the freed C fence. Each
method pins the C fence (``dma_fence_get``/``put``) for its duration, so a
concurrent drop of the last reference in another thread is safe. When the
last reference goes, ``T`` is dropped (its ``close()`` is called if it has
one, as Rust runs ``Drop``); the C memory is freed by the C release
(``dma_fence_free``: ``kfree_rcu``) once C holds no reference either.

Thread context: every method may be called from any thread. ``wait``
sleeps (process context; ``might_sleep``). The other methods never sleep.

C header: include/linux/dma-fence.h (drivers/dma-buf/dma-fence.c);
csrc/include/pfl/dma_fence.h for the ops (csrc/helpers/dma_fence.c).
Rust: rust/kernel/dma_buf/dma_fence.rs (Philipp Stanner's series)
"""

from __future__ import annotations

import itertools
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Generic, TypeVar, cast

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, addr_of, leak_finalizer
from pyforlinux.alloc import GFP_KERNEL, Flags
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync.aref import ARef

__all__ = [
    "MAX_SCHEDULE_TIMEOUT",
    "CallbackError",
    "DmaFence",
    "DmaFenceAllocation",
    "DmaFenceCtx",
    "FenceContext",
    "in_fence_callback",
]

T = TypeVar("T")
U = TypeVar("U")

MAX_SCHEDULE_TIMEOUT: Final[int] = int(lib.MAX_SCHEDULE_TIMEOUT)
"""Wait forever (``LONG_MAX`` jiffies): the default timeout of :meth:`DmaFence.wait`."""

NAME_MAX: Final[int] = int(lib.PFL_DMA_FENCE_NAME_LEN) - 1
"""Longest driver or timeline name, in UTF-8 bytes (the C struct keeps 64 with the NUL)."""

_U64: Final = 1 << 64
# lockdep subclasses 0..7 (MAX_LOCKDEP_SUBCLASSES): nesting depth of fence locks.
_MAX_SUBCLASS: Final = 7
_DESCRIBE_LEN: Final = 256


# ---------------------------------------------------------------- callback plumbing


class _Tls(threading.local):
    """Per thread: fence-callback nesting depth, the exceptions callbacks raised,
    and the last-reference drops deferred until no fence lock is held."""

    depth: int = 0
    errors: list[BaseException] | None = None
    deferred: list[Callable[[], None]] | None = None


_tls = _Tls()


def in_fence_callback() -> bool:
    """Whether the calling thread is running a fence callback (a fence lock is held).

    Thread context: any.
    """
    return _tls.depth > 0


@dataclass
class _CbEntry:
    func: Callable[[Any, Any], object]
    data: Any
    fence: DmaFence[Any]


# cookie -> pending callback. The lock is never held while calling C: a
# signalling thread holds a fence lock when it enters the callback below.
_cb_lock = threading.Lock()
_callbacks: dict[int, _CbEntry] = {}
_cookies = itertools.count(1)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_dma_fence_py_callback(fence_ptr: Any, cookie: int) -> None:
    """C -> Python: one registered callback, run with the fence lock held.

    Called by ``pfl_dma_fence_cb_func`` (csrc/helpers/dma_fence.c) from
    ``dma_fence_signal_timestamp_locked()``; the C frees the node afterwards.
    Never raises into C: exceptions go to the signalling Python call.
    """
    with _cb_lock:
        entry = _callbacks.pop(int(cookie), None)
    if entry is None:  # pragma: no cover - every cookie C holds is registered
        return
    _tls.depth += 1
    try:
        entry.func(entry.data, entry.fence)
    except BaseException as e:  # must not unwind through C
        if _tls.errors is not None:
            e.add_note(
                f"raised by a callback of {entry.fence!r} while it was signalled; "
                "the fence is signalled and the other callbacks ran"
            )
            _tls.errors.append(e)
        else:  # pragma: no cover - only our signalling calls reach here
            traceback.print_exception(e, file=sys.stderr)
    finally:
        _tls.depth -= 1


def _signalling(fn: Callable[[], int]) -> int:
    """Run a C signalling call; re-raise what its callbacks raised, after it.

    At the outermost level (no fence lock held), also completes the
    last-reference drops that callbacks deferred (:meth:`DmaFence.dec_ref`).
    """
    outermost = _tls.depth == 0
    saved = _tls.errors
    errors: list[BaseException] = []
    _tls.errors = errors
    try:
        ret = fn()
        while outermost and _tls.deferred:
            pending, _tls.deferred = _tls.deferred, None
            for finish in pending:
                try:
                    finish()
                except BaseException as e:
                    errors.append(e)
    finally:
        _tls.errors = saved
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BaseExceptionGroup("fence callbacks raised", errors)
    return ret


def _subclass() -> int:
    return min(_tls.depth, _MAX_SUBCLASS)


# Nested signalling (a callback signalling another fence) holds one fence
# lock while waiting for another: two threads doing it in opposite orders
# would deadlock, and the lockdep subclasses hide it from the validator. So
# each such wait is recorded (task -> fences it waits for, innermost last)
# and refused with EDEADLK if the wait-for graph would close a cycle.
_wf_lock = threading.Lock()
_waiting: dict[int, list[Any]] = {}


def _nested_signal(raw: Any, err: int) -> int:
    """``pfl_dma_fence_signal`` from a callback, refusing a wait-for cycle."""
    me = addr_of(lib.pfl_current())
    with _wf_lock:
        target, seen = raw, set()
        while True:
            # SAFETY: every fence in _waiting is pinned by its waiting thread
            # until its entry is removed (under _wf_lock); raw is pinned by us.
            owner = addr_of(target.lock.dep_map.owner)
            if owner == me:
                raise Error(
                    code.EDEADLK,
                    "DmaFence.signal from a fence callback: another thread holding this "
                    "fence's lock waits (from its own callback) for a fence lock held here",
                )
            if owner == 0 or owner in seen or not _waiting.get(owner):
                break
            seen.add(owner)
            target = _waiting[owner][-1]
        _waiting.setdefault(me, []).append(raw)
    try:
        return int(lib.pfl_dma_fence_signal(raw, err, _subclass()))
    finally:
        with _wf_lock:
            stack = _waiting[me]
            stack.pop()
            if not stack:
                del _waiting[me]


# ---------------------------------------------------------------- errors


class CallbackError(Error, Generic[U]):
    """A callback could not be registered; the data comes back in :attr:`data`.

    ``errno`` is ``ENOENT`` when the fence is already signalled (Rust:
    ``CallbackError::AlreadySignaled(T)``), ``ENOMEM`` when the callback node
    cannot be allocated (``CallbackError::Other``).

    Rust: ``kernel::dma_buf::CallbackError<T>``
    """

    def __init__(self, errno: int, data: U, message: str | None = None) -> None:
        super().__init__(errno, message)
        self.data: U = data
        """The callback's data, given back to the caller."""

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


# ---------------------------------------------------------------- context


class DmaFenceCtx:
    """A fence context: a context number and a timeline of sequence numbers.

    ``DmaFenceCtx(driver_name, timeline_name, initial_seqno=0)`` allocates
    one context number (``dma_fence_context_alloc(1)``, a global atomic in
    C); each fence created on it gets the next sequence number (``u64``,
    atomically incremented, wrapping at 2**64). The names (``str``, at most
    :data:`NAME_MAX` UTF-8 bytes, no NUL) are what the fences' C ops
    ``get_driver_name``/``get_timeline_name`` return (``dma_fence_describe``,
    the WARN messages of the core).

    The context owns no C memory: fences copy the names, so they may
    outlive it.

    Raises:
        Error: ``EINVAL`` for a bad name or a seqno outside ``0..2**64-1``.

    Thread context: any; :meth:`new_fence` may be called from many threads.

    C header: include/linux/dma-fence.h (``dma_fence_context_alloc``).
    Rust: ``DmaFenceCtx`` (``rust/kernel/sync/dma_fence.rs``), ``FenceContext``
    (``rust/kernel/dma_buf/dma_fence.rs``)
    """

    __slots__ = ("_driver", "_nr", "_seq_lock", "_seqno", "_timeline")

    def __init__(self, driver_name: str, timeline_name: str, initial_seqno: int = 0) -> None:
        self._driver = _check_name(driver_name, "driver name")
        self._timeline = _check_name(timeline_name, "timeline name")
        if isinstance(initial_seqno, bool) or not isinstance(initial_seqno, int) or not (
            0 <= initial_seqno < _U64
        ):
            raise Error(code.EINVAL, f"initial seqno {initial_seqno!r} is not a u64")
        self._seqno = initial_seqno
        self._seq_lock = threading.Lock()
        self._nr = int(lib.dma_fence_context_alloc(1))

    @classmethod
    def new(cls, driver_name: str, timeline_name: str, initial_seqno: int = 0) -> DmaFenceCtx:
        """Same as the constructor. Rust: ``DmaFenceCtx::new``/``FenceContext::new``."""
        return cls(driver_name, timeline_name, initial_seqno)

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
        with self._seq_lock:
            seqno = self._seqno
            self._seqno = (seqno + 1) % _U64
        return seqno

    def new_fence_allocation(
        self, data: T, flags: Flags = GFP_KERNEL
    ) -> DmaFenceAllocation[T]:
        """Allocate the memory of a fence now; arm it later without allocating.

        Args:
            data: the driver data ``T`` the fence will carry.
            flags: GFP flags of the ``kzalloc`` (``GFP_KERNEL`` may sleep).

        Returns:
            A :class:`DmaFenceAllocation` (close it if never armed).

        Raises:
            Error: ``ENOMEM`` (``AllocError`` semantics: the runtime's fault
                injection applies), ``EINVAL`` for bad flags.

        Rust: ``FenceContext::new_fence_allocation``
        """
        gfp = _check_flags(flags)
        ptr = lib.pfl_dma_fence_alloc(self._driver, self._timeline, gfp)
        if lib.IS_ERR(ptr):
            raise Error(-int(lib.PTR_ERR(ptr)), "cannot allocate a dma_fence")
        return DmaFenceAllocation._adopt(ptr, self, data)

    def new_fence(self, data: T, flags: Flags = GFP_KERNEL) -> ARef[DmaFence[T]]:
        """A new armed fence with the next seqno: allocation and arming at once.

        Raises:
            Error: ``ENOMEM``, ``EINVAL`` as :meth:`new_fence_allocation`.

        Rust: ``ArcBorrow<DmaFenceCtx>::new_fence``
        """
        return self.new_fence_allocation(data, flags).new_fence()

    def __repr__(self) -> str:
        return f"<DmaFenceCtx {self.driver_name}:{self.timeline_name} context {self._nr}>"


FenceContext = DmaFenceCtx
"""The newer Rust name of :class:`DmaFenceCtx`."""


# ---------------------------------------------------------------- allocation


class DmaFenceAllocation(NoCopy, Generic[T]):
    """The memory of one fence and its data, not yet armed.

    Made by :meth:`DmaFenceCtx.new_fence_allocation` (the only allocation);
    :meth:`new_fence` arms it (``dma_fence_init``: no allocation, takes the
    context's next seqno) and consumes it. Unarmed, it owns the C memory
    (``struct pfl_dma_fence *``): :meth:`close` (or leaving ``with``) frees
    it; a forgotten one is reported (``LeakWarning``).

    Errors: ``EINVAL`` when used after :meth:`new_fence` or :meth:`close`.

    Thread context: any, but one allocation is one owner's.

    Rust: ``DriverFenceAllocation``
    """

    __slots__ = ("__weakref__", "_ctx", "_data", "_fin", "_lock", "_ptr")
    _ptr: Any
    _ctx: DmaFenceCtx
    _data: T | None
    _fin: weakref.finalize[..., Any]
    _lock: threading.Lock

    def __init__(self) -> None:
        raise TypeError("use DmaFenceCtx.new_fence_allocation()")

    @classmethod
    def _adopt(cls, ptr: Any, ctx: DmaFenceCtx, data: T) -> DmaFenceAllocation[T]:
        self: DmaFenceAllocation[T] = object.__new__(cls)
        self._ptr = ptr
        self._ctx = ctx
        self._data = data
        self._lock = threading.Lock()
        self._fin = leak_finalizer(self, f"DmaFenceAllocation at {addr_of(ptr):#x}")
        return self

    def _take(self, what: str) -> tuple[Any, T | None]:
        with self._lock:
            ptr = self._ptr
            if ptr is None:
                raise Error(code.EINVAL, f"{what}: the fence allocation was already used or freed")
            self._ptr = None
        self._fin.detach()
        data, self._data = self._data, None
        return ptr, data

    @property
    def closed(self) -> bool:
        """Whether it was armed or freed."""
        return self._ptr is None

    def new_fence(self) -> ARef[DmaFence[T]]:
        """Arm the fence: ``dma_fence_init`` with the next seqno; no kernel allocation.

        Returns:
            The only reference, ``ARef[DmaFence[T]]`` (C refcount 1).

        Raises:
            Error: ``EINVAL`` if already armed or freed.

        Rust: ``DriverFenceAllocation::new_fence``
        """
        ptr, data = self._take("new_fence")
        seqno = self._ctx._next_seqno()
        # SAFETY: ptr is the unarmed, zeroed struct pfl_dma_fence this object
        # owned; dma_fence_init() gives the new fence a refcount of 1, which
        # the ARef adopts. From here C frees the memory (release op).
        raw = lib.pfl_dma_fence_arm(ptr, self._ctx.context, seqno)
        fence: DmaFence[T] = DmaFence._armed(raw, self._ctx, seqno, cast("T", data))
        return ARef.from_raw(fence)

    def close(self) -> None:
        """Free the unarmed memory (and drop the data). No-op once armed or freed."""
        try:
            ptr, data = self._take("close")
        except Error:
            return
        # SAFETY: never armed, so C never saw it: a plain kfree.
        lib.pfl_dma_fence_free_unarmed(ptr)
        _drop(data)

    def __enter__(self) -> DmaFenceAllocation[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DmaFenceAllocation {'used' if self.closed else 'unarmed'} on {self._ctx!r}>"


def _drop(data: object) -> None:
    """Rust ``drop_in_place`` of the driver data: ``close()`` it if it has one."""
    close = getattr(data, "close", None)
    if callable(close):
        close()


# ---------------------------------------------------------------- the fence


class DmaFence(NoCopy, Generic[T]):
    """A ``struct dma_fence`` carrying driver data ``T``; always reference counted.

    Obtained as ``ARef[DmaFence[T]]`` from :meth:`DmaFenceCtx.new_fence` or
    :meth:`DmaFenceAllocation.new_fence`; ``ARef.clone()`` takes another
    reference (``dma_fence_get``), ``ARef.close()`` drops one
    (``dma_fence_put``); see the module documentation for lifetime, lock
    context and the behaviour of callbacks. ``ARef[DmaFence]`` is
    ForeignOwnable: ``into_foreign()`` hands C the ``struct dma_fence *``
    (e.g. to store in an XArray).

    Errors common to every method: ``EINVAL`` once the last reference is
    gone; ``EDEADLK`` for the calls a fence callback must not make (module
    documentation).

    C header: include/linux/dma-fence.h. Rust: ``DmaFence<T>`` (``Fence``/
    ``DriverFence`` in the later series)
    """

    __slots__ = ("__weakref__", "_ctx", "_data", "_lock", "_raw", "_refs", "_seqno")
    _raw: Any
    _ctx: DmaFenceCtx
    _seqno: int
    _data: T | None
    _refs: int
    _lock: threading.Lock

    def __init__(self) -> None:
        raise TypeError("use DmaFenceCtx.new_fence()")

    @classmethod
    def _armed(cls, raw: Any, ctx: DmaFenceCtx, seqno: int, data: T) -> DmaFence[T]:
        self: DmaFence[T] = object.__new__(cls)
        self._raw = raw
        self._ctx = ctx
        self._seqno = seqno
        self._data = data
        self._refs = 1  # the reference dma_fence_init() created
        self._lock = threading.Lock()
        return self

    # -- pinning: every C access holds a reference of its own

    def _pin(self, what: str) -> Any:
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, f"DmaFence.{what}: the fence's last reference was dropped")
            # SAFETY: _refs > 0 means an owned reference keeps the C fence
            # alive; the pin is a reference of its own (kref, lockless).
            return lib.dma_fence_get(self._raw)

    @staticmethod
    def _unpin(raw: Any) -> None:
        # SAFETY: drops the pin taken by _pin(). If it is the final reference
        # (the owners are gone), the fence was signalled when the last owner
        # dropped it, so no callback is pending and the release op frees it.
        lib.dma_fence_put(raw)

    @staticmethod
    def _lock_held_by_me(raw: Any) -> bool:
        # The task that owns the fence's spinlock is recorded in its lockdep
        # map (runtime/lock.c); only this task can have set it to itself.
        return bool(raw.lock.dep_map.owner == lib.pfl_current())

    def _check_may_lock(self, raw: Any, what: str, *, nests: bool) -> None:
        """Refuse, before C, a call that would take a fence lock and deadlock."""
        if self._lock_held_by_me(raw):
            raise Error(
                code.EDEADLK,
                f"DmaFence.{what}: the calling task holds this fence's lock (a callback of "
                "this fence is running); the call would deadlock",
            )
        if _tls.depth and not nests:
            raise Error(
                code.EDEADLK,
                f"DmaFence.{what} from a fence callback: it would nest two fence locks of one "
                "lock class (callbacks run with the signalled fence's lock held); "
                "do it after signal() returns",
            )

    # -- AlwaysRefCounted

    def inc_ref(self) -> None:
        """Take a reference (``dma_fence_get``). Rust: ``AlwaysRefCounted::inc_ref``.

        Raises:
            Error: ``EINVAL`` once the last reference was dropped.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "DmaFence.inc_ref: the fence's last reference was dropped")
            # SAFETY: an owned reference exists (checked under the lock).
            lib.dma_fence_get(self._raw)
            self._refs += 1

    def dec_ref(self) -> None:
        """Drop a reference (``dma_fence_put``); the last one signals and drops ``T``.

        If the fence is unsignalled when its last reference goes, it is
        signalled with ``-ECANCELED`` first (callbacks get their data back;
        waiters wake), then ``T`` is dropped, then the C reference is put.
        From a fence callback (a fence lock held), that last drop is
        deferred until the outermost signalling call of the thread returns,
        so that no second fence lock is ever taken for it.

        Raises:
            Error: ``EINVAL`` if no reference is left; whatever a callback
                raised during the signal-on-drop (after the drop completed).

        Rust: ``AlwaysRefCounted::dec_ref`` (and ``DriverFence``'s ``Drop``)
        """
        raw = self._raw
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "DmaFence.dec_ref: no reference left")
            if self._refs > 1:
                self._refs -= 1
                last = False
            else:
                last = True  # the last owner, unless someone clones during the cancel
        if not last:
            # SAFETY: not the last owned reference: the fence stays alive.
            lib.dma_fence_put(raw)
        elif _tls.depth and not lib.pfl_dma_fence_test_signaled_flag(raw):
            if _tls.deferred is None:
                _tls.deferred = []
            _tls.deferred.append(self._drop_last)
        else:
            self._drop_last()

    def _drop_last(self) -> None:
        """The last owner's drop: cancel if unsignalled, drop ``T``, put."""
        raw = self._raw
        try:
            if not lib.pfl_dma_fence_test_signaled_flag(raw):
                # SAFETY: our reference (still counted, so the callbacks may
                # use the fence) keeps raw alive; no fence lock is held here
                # (depth 0: dec_ref defers otherwise). -EINVAL (a concurrent
                # signal won) is fine.
                _signalling(lambda: int(lib.pfl_dma_fence_signal(raw, -code.ECANCELED, 0)))
        finally:
            with self._lock:
                self._refs -= 1
                last = self._refs == 0
                data = self._data
                if last:
                    self._data = None
            try:
                if last:
                    _drop(data)
            finally:
                # SAFETY: the reference this drop owned; if it was the final
                # C reference, no callback is pending (signalled above).
                lib.dma_fence_put(raw)

    def as_ptr(self) -> Any:
        """The ``struct dma_fence *`` (what ``ARef.into_foreign`` hands to C).

        Valid while a reference is owned. Raises ``EINVAL`` once dropped.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "DmaFence.as_ptr: the fence's last reference was dropped")
            return self._raw

    # -- plain accessors (never lock)

    @property
    def data(self) -> T:
        """The driver data ``T`` (Rust: ``Deref`` of ``DriverFence``).

        Raises:
            Error: ``EINVAL`` once the last reference was dropped.
        """
        with self._lock:
            if self._refs == 0:
                raise Error(code.EINVAL, "DmaFence.data: the fence's last reference was dropped")
            return self._data  # type: ignore[return-value]

    @property
    def context(self) -> int:
        """The fence context number (``u64``)."""
        return self._ctx.context

    @property
    def seqno(self) -> int:
        """The sequence number in its context (``u64``). Rust: ``Fence::seqno``."""
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
        """``dma_fence_is_signaled()``: whether the fence is signalled now.

        Lockless (may be called from callbacks). Rust: ``Fence::is_signaled``.
        """
        raw = self._pin("is_signaled")
        try:
            return bool(lib.dma_fence_is_signaled(raw))
        finally:
            self._unpin(raw)

    @property
    def error(self) -> int:
        """``dma_fence.error``: ``0``, or the negative errno it was signalled with.

        Meaningful once signalled (``-ECANCELED`` after signal-on-drop).
        Lockless.
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

        C header: include/linux/dma-fence.h (``dma_fence_describe``).
        """
        buf = ffi.new("char[]", _DESCRIBE_LEN)
        seq = ffi.new("struct seq_file *", {"buf": buf, "size": _DESCRIBE_LEN, "count": 0})
        raw = self._pin("describe")
        try:
            lib.dma_fence_describe(raw, seq)
        finally:
            self._unpin(raw)
        return bytes(ffi.string(buf)).decode(errors="replace")

    # -- locking operations

    def get_status(self) -> int:
        """``dma_fence_get_status()``: ``0`` unsignalled, ``1`` signalled, or ``-errno``.

        Takes the fence lock. Raises ``EDEADLK`` from a fence callback.
        """
        raw = self._pin("get_status")
        try:
            self._check_may_lock(raw, "get_status", nests=False)
            return int(lib.dma_fence_get_status(raw))
        finally:
            self._unpin(raw)

    def signal(self) -> None:
        """Signal the fence (``dma_fence_signal``): run every callback, wake waiters.

        Raises:
            Error: ``EINVAL`` if it was already signalled (the C's answer);
                ``EDEADLK`` from a callback of this fence; what a callback
                raised (after signalling completed).

        Thread context: callbacks run in this thread, fence lock held.
        Rust: ``DmaFence::signal``
        """
        self._signal(0, "signal")

    def signal_with_error(self, error: int | Error) -> None:
        """Signal the fence as failed: ``dma_fence_set_error`` + ``dma_fence_signal_locked``.

        Args:
            error: a negative errno (``-EIO``), or an :class:`Error`.

        Raises:
            Error: ``EINVAL`` if ``error`` is not a negative errno
                (``-MAX_ERRNO..-1``) or the fence was already signalled;
                ``EDEADLK``/callback exceptions as :meth:`signal`.

        Rust: ``DriverFence::signal(Err(e))``
        """
        if isinstance(error, Error):
            err = error.to_errno()
        elif isinstance(error, bool) or not isinstance(error, int) or not -4095 <= error < 0:
            raise Error(code.EINVAL, f"signal_with_error needs a negative errno, not {error!r}")
        else:
            err = error
        self._signal(err, "signal_with_error")

    def _signal(self, err: int, what: str) -> None:
        raw = self._pin(what)
        try:
            self._check_may_lock(raw, what, nests=True)
            if _tls.depth:
                ret = _signalling(lambda: _nested_signal(raw, err))
            elif err == 0:
                ret = _signalling(lambda: int(lib.dma_fence_signal(raw)))
            else:
                ret = _signalling(lambda: int(lib.pfl_dma_fence_signal(raw, err, 0)))
        finally:
            self._unpin(raw)
        if ret < 0:
            raise Error(-ret, f"DmaFence.{what}: the fence was already signalled")

    def register_callback(
        self,
        data: U,
        func: Callable[[U, DmaFence[T]], object],
        flags: Flags = GFP_KERNEL,
    ) -> None:
        """Run ``func(data, fence)`` when the fence signals; ``data`` moves in.

        The callback node (``struct dma_fence_cb``) is allocated here, not
        when signalling. When the fence signals (or is dropped unsignalled:
        ``fence.error == -ECANCELED``), ``func`` gets ``data`` back, in the
        signalling thread, with the fence lock held (module documentation).

        Raises:
            CallbackError: ``ENOENT`` if the fence is already signalled
                (``dma_fence_add_callback``'s answer), ``ENOMEM`` if the node
                cannot be allocated; ``.data`` is ``data``, given back.
            Error: ``EDEADLK`` from a fence callback, ``EINVAL`` bad flags
                or a dropped fence (``data`` stays the caller's).

        Rust: ``DmaFence::register_callback``, ``FenceCallbackRegistration::new``
        """
        if not callable(func):
            raise Error(code.EINVAL, "register_callback: func is not callable")
        gfp = _check_flags(flags)
        raw = self._pin("register_callback")
        try:
            self._check_may_lock(raw, "register_callback", nests=False)
            with _cb_lock:
                cookie = next(_cookies)
            node = lib.pfl_dma_fence_cb_alloc(cookie, gfp)
            if node == ffi.NULL:
                raise CallbackError(code.ENOMEM, data, "cannot allocate the callback node")
            with _cb_lock:
                _callbacks[cookie] = _CbEntry(func, data, self)
            # SAFETY: raw is pinned; node is ours and is consumed by the call
            # (freed by C on error, or after the callback ran). The entry is
            # registered first: the callback may run as soon as it is added.
            ret = int(lib.pfl_dma_fence_add_callback(raw, node))
            if ret:
                with _cb_lock:
                    _callbacks.pop(cookie, None)
                if ret == -code.ENOENT:
                    raise CallbackError(code.ENOENT, data, "the fence is already signalled")
                raise CallbackError(-ret, data)
        finally:
            self._unpin(raw)

    def wait(self, timeout: int = MAX_SCHEDULE_TIMEOUT, interruptible: bool = True) -> int:
        """Sleep until the fence signals: ``dma_fence_wait_timeout()``.

        Args:
            timeout: in jiffies (1 ms each here, ``HZ`` = 1000), ``0`` to
                poll, :data:`MAX_SCHEDULE_TIMEOUT` (default) to wait forever.
            interruptible: ``TASK_INTERRUPTIBLE``: a signal to the task
                (``pfl_task_signal``) ends the wait.

        Returns:
            The remaining jiffies (``> 0``) if signalled (``1`` for a
            ``0`` timeout), ``0`` if the timeout passed (C semantics). The
            fence may have been signalled with an error: see :attr:`error`.

        Raises:
            Error: ``ERESTARTSYS`` if interrupted by a signal; ``EINVAL``
                for a timeout outside ``0..MAX_SCHEDULE_TIMEOUT``;
                ``EDEADLK`` from a fence callback (sleeping with a fence
                lock held) or, in lockdep strict mode, under a SpinLock or
                RCU read lock (might_sleep).

        Thread context: process context, sleeps (the GIL is released).
        C header: include/linux/dma-fence.h (``dma_fence_wait_timeout``).
        """
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not (
            0 <= timeout <= MAX_SCHEDULE_TIMEOUT
        ):
            raise Error(code.EINVAL, f"wait timeout {timeout!r} is not 0..MAX_SCHEDULE_TIMEOUT")
        raw = self._pin("wait")
        try:
            if self._lock_held_by_me(raw) or _tls.depth:
                raise Error(
                    code.EDEADLK,
                    "DmaFence.wait from a fence callback: sleeping with a fence lock held "
                    "(atomic context) deadlocks",
                )
            lockdep.might_sleep("waiting on a DmaFence")
            ret = int(lib.dma_fence_wait_timeout(raw, bool(interruptible), timeout))
        finally:
            self._unpin(raw)
        if ret < 0:
            raise Error(-ret, "DmaFence.wait interrupted" if ret == -code.ERESTARTSYS else None)
        return ret

    def __repr__(self) -> str:
        state = "dropped" if self._refs == 0 else f"{self._ctx.context}:{self._seqno}"
        return f"<DmaFence {self._ctx.driver_name}:{self._ctx.timeline_name} {state}>"
