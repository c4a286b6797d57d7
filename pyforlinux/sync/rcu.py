"""RCU: read-side guards, grace periods, deferred callbacks and :class:`RcuBox`.

All on the runtime's RCU, which is liburcu's memb flavour (runtime/rcu.c);
Python threads are registered with liburcu automatically on first use.

- :func:`read_lock` returns a :class:`Guard` (``rcu_read_lock()`` until
  :meth:`Guard.unlock` or the end of its ``with`` block). Guards nest. A
  guard belongs to its thread: using it on another raises ``EPERM``.
- :func:`synchronize_rcu` waits until every read section that began
  before it has ended. It sleeps: inside a read section it could never
  return (the runtime reports might_sleep and does not wait) so it raises
  ``EDEADLK`` there, always; under a SpinLock it is a might_sleep report
  (``EDEADLK`` in strict mode).
- :func:`call_rcu` runs a Python callable after a grace period, and
  :func:`rcu_barrier` waits for every callback queued before it.
- :class:`RcuBox` owns a value that outlives, by one grace period, the
  moment the box is dropped (:meth:`RcuBox.close`): readers that found it
  under a guard may use it until they leave their read section.

How Python callbacks run (a choice; the kernel runs them in softirq
context): the grace period is liburcu's, in C. A kmalloc'd node carrying a
cookie goes to the C ``call_rcu()``; its C callback (csrc/helpers/sync.c)
frees the node and queues the cookie. One Python thread, ``pfl-rcu-cb``,
collects the cookies (up to 64 at a time) and runs their Python callables,
in order, each batch in one section with preemption disabled like a
softirq's ``rcu_do_batch()``: a callback that sleeps (takes a
Mutex, calls synchronize_rcu) is a might_sleep report. Python code never
runs on liburcu's own threads (they are registered with liburcu behind
the runtime's back, and may run while the interpreter finalises). A
callback that raises is a kernel WARN (and its traceback is printed);
other callbacks still run. Callbacks still queued at interpreter exit are
not run.

C header: include/linux/rcupdate.h. Rust: rust/kernel/sync/rcu.rs, and the
proposed ``RcuBox``/``ForeignOwnableRcu`` (rust/kernel/sync/rcu/rcu_box.rs,
"rust: rcu: add RcuBox type").
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Generic, Self, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import (
    REGISTRY,
    NoCopy,
    OwnerName,
    after_fork_in_child,
    arg_callable,
    drop_in_place,
    leak_finalizer,
)
from pyforlinux.alloc import GFP_KERNEL, AllocError, Flags
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync._guard import ThreadBoundGuard
from pyforlinux.sync.lockdep import StrictCheck
from pyforlinux.types import ForeignBorrow

__all__ = [
    "Guard",
    "RcuBox",
    "call_rcu",
    "rcu_barrier",
    "read_lock",
    "read_lock_held",
    "synchronize_rcu",
]

T = TypeVar("T")

_BATCH: Final = 64
"""Cookies the callback thread takes (and runs) at once."""


# ---------------------------------------------------------------------------
# read side


class Guard(ThreadBoundGuard):
    """Evidence that the RCU read lock is held by the calling thread.

    ``Guard()`` (or :func:`read_lock`) calls ``rcu_read_lock()``;
    :meth:`unlock` (or leaving the ``with`` block) ``rcu_read_unlock()``.
    Guards nest. A guard garbage collected while held is reported (leak
    warning) and unlocked if collected on its own thread.

    Errors: ``EPERM`` when used (unlock, :meth:`RcuBox.with_rcu`, ...) on a
    thread other than the one that created it (the Rust guard is ``!Send``:
    the read lock is per thread); ``EINVAL`` when used after unlock.

    Rust: ``kernel::sync::rcu::Guard``
    """

    __slots__ = ()

    _USED_AFTER_RELEASE = "{s} used after unlock"
    _LEAKED = "an RCU read guard was garbage collected while held (use 'with' or unlock())"

    def __init__(self) -> None:
        lib.pfl_rcu_read_lock()
        self._bind()

    def _subject(self) -> str:
        return "RCU guard"

    def _release(self) -> None:
        # rcu_read_unlock() (Rust: Guard::unlock)
        lib.pfl_rcu_read_unlock()

    def __repr__(self) -> str:
        return f"<rcu.Guard {'held' if self._thread is not None else 'released'}>"


def read_lock() -> Guard:
    """Take the RCU read lock: a :class:`Guard`. Rust: ``rcu::read_lock``."""
    return Guard()


def read_lock_held() -> bool:
    """Whether the calling thread is inside an RCU read section (``rcu_read_lock_held``)."""
    return bool(lib.pfl_rcu_read_lock_held())


# ---------------------------------------------------------------------------
# grace periods


def _site() -> tuple[bytes, int]:
    f = lockdep.caller_frame()
    if f is None:
        return b"?", 0
    return os.path.basename(f.f_code.co_filename).encode(), f.f_lineno


def _sleepable(what: str) -> None:
    """Refuse (EDEADLK) to wait for a grace period where it cannot end or is
    forbidden; in strict mode, also where it is reported (atomic context)."""
    stale = int(lib.pfl_rcu_stale_readers())
    if stale:
        raise Error(
            code.EDEADLK,
            f"{what} in a fork child: {stale} thread(s) of the parent were in RCU read "
            "sections at the fork and do not exist here; no grace period can end",
        )
    chk = StrictCheck()
    in_reader = lib.pfl_rcu_read_depth() > 0
    if chk.before is not None or in_reader:
        fname, line = _site()
        lib.pfl_might_sleep(fname, line)
        if in_reader:
            raise Error(
                code.EDEADLK,
                f"{what} inside an RCU read-side critical section would never return:\n"
                f"{lockdep.thread_last_report()}",
            )
        chk.check(what)


def synchronize_rcu() -> None:
    """Wait for a grace period: every read section begun before has ended.

    Sleeps (the GIL is released).

    Raises:
        Error: ``EDEADLK`` inside an RCU read section (reported as
            might_sleep), or in strict mode when the caller is atomic.

    C header: include/linux/rcupdate.h. Rust: ``kernel::sync::rcu::synchronize_rcu``
    """
    _sleepable("synchronize_rcu()")
    lib.synchronize_rcu()


# ---------------------------------------------------------------------------
# callbacks


class _Callbacks:
    """Cookies queued to C call_rcu(), and the thread that runs their callables."""

    def __init__(self) -> None:
        self.mu = threading.Lock()
        self.cond = threading.Condition(self.mu)
        self.pending: dict[int, Callable[[], None]] = {}
        self.cookies = itertools.count(1)
        self.processed = 0
        self.thread: threading.Thread | None = None
        self.errors = 0

    def new_cookie(self) -> int:
        # SAFETY: next() of an itertools.count is one C call under the GIL;
        # the thread is started once (checked again under the lock).
        cookie = next(self.cookies)
        if self.thread is None:
            with self.mu:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="pfl-rcu-cb", daemon=True)
                    self.thread.start()
        return cookie

    def arm(self, cookie: int, fn: Callable[[], None]) -> None:
        # SAFETY: one dict store (int key: no Python __eq__/__hash__ runs),
        # atomic under the GIL; no lock needed.
        self.pending[cookie] = fn

    def disarm(self, cookie: int) -> None:
        # SAFETY: one dict pop, atomic under the GIL (see arm).
        self.pending.pop(cookie, None)

    def _invoke(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException:
            self.errors += 1
            sys.stderr.write("pyforlinux: an RCU callback raised:\n" + traceback.format_exc())
            lib.pfl_warn(b"pyforlinux/sync/rcu.py", 0, b"RCU callback raised an exception")

    def _run(self) -> None:
        buf = ffi.new("unsigned long[]", _BATCH)
        while True:
            n = int(lib.pfl_rcu_cookie_wait(buf, _BATCH, 1))
            if n == 0:
                return  # interpreter exit
            # One softirq-like section per batch, as the kernel's
            # rcu_do_batch(): every callable runs with preemption disabled
            # (sleeping in one is a might_sleep report). No C call and no
            # lock per cookie: each C call releases the GIL and hands it to
            # the thread queueing the callbacks and back.
            pending = self.pending
            lib.pfl_preempt_disable()
            try:
                for i in range(n):
                    # SAFETY: one dict pop, atomic under the GIL (see arm).
                    fn = pending.pop(buf[i], None)
                    if fn is not None:
                        self._invoke(fn)
            finally:
                lib.pfl_preempt_enable()
                with self.mu:
                    self.processed += n
                    self.cond.notify_all()

    def barrier(self) -> None:
        """Wait until every cookie C has completed so far was acted on."""
        target = int(lib.pfl_rcu_cookie_completed())
        with self.mu:
            while self.processed < target:
                self.cond.wait()

    def stop(self) -> None:
        lib.pfl_rcu_cookie_stop()
        t = self.thread
        if t is not None:
            t.join(timeout=1.0)


_callbacks: Final = _Callbacks()
atexit.register(_callbacks.stop)


def _callbacks_after_fork() -> None:
    # The callback thread did not survive the fork: new locks, and a new
    # thread now if callbacks are pending (their cookies complete in the child).
    _callbacks.mu = threading.Lock()
    _callbacks.cond = threading.Condition(_callbacks.mu)
    _callbacks.thread = None
    # Cookies the parent's thread had taken but not finished count as done
    # (their callables ran, or were running, in the parent only).
    _callbacks.processed = int(lib.pfl_rcu_cookie_taken())
    if _callbacks.pending:
        _callbacks.new_cookie()


after_fork_in_child(_callbacks_after_fork)


def _queue(fn: Callable[[], None], gfp: int) -> None:
    cookie = _callbacks.new_cookie()
    node = lib.pfl_rcu_cookie_alloc(cookie, gfp)
    if node == ffi.NULL:
        raise Error(code.ENOMEM, "call_rcu: no memory for the callback's rcu_head")
    _callbacks.arm(cookie, fn)
    # SAFETY: the node is ours (just allocated); the C callback frees it.
    lib.pfl_rcu_cookie_call(node)


def call_rcu(fn: Callable[[], None]) -> None:
    """Run ``fn()`` after a grace period (on the ``pfl-rcu-cb`` thread).

    Does not sleep (may be called in any context, read sections included).
    ``fn`` runs with preemption disabled (must not sleep) and should not
    raise (a raise is a kernel WARN). See the module doc.

    Raises:
        Error: ``ENOMEM`` if the callback's kmalloc'd ``rcu_head`` cannot be
            allocated (``GFP_ATOMIC``).

    C header: include/linux/rcupdate.h (``call_rcu``)
    """
    _queue(arg_callable(fn, "call_rcu(fn)"), lib.GFP_ATOMIC)


def rcu_barrier() -> None:
    """Wait until every callback queued (C and Python) before the call has run.

    Sleeps.

    Raises:
        Error: ``EDEADLK`` inside an RCU read section or an RCU callback
            (it would wait for itself), or in strict mode when atomic.

    C header: include/linux/rcupdate.h (``rcu_barrier``)
    """
    if threading.current_thread() is _callbacks.thread:
        fname, line = _site()
        lib.pfl_might_sleep(fname, line)
        raise Error(code.EDEADLK, "rcu_barrier() in an RCU callback would wait for itself")
    _sleepable("rcu_barrier()")
    lib.rcu_barrier()
    _callbacks.barrier()


def callback_errors() -> int:
    """How many Python RCU callbacks raised so far."""
    return _callbacks.errors


# ---------------------------------------------------------------------------
# RcuBox


def _addr(ptr: Any) -> int:
    if isinstance(ptr, int):
        return ptr
    return int(ffi.cast("uintptr_t", ptr))


_OWNED: Final = "owned"
_FOREIGN: Final = "foreign"
_DROPPING: Final = "dropping"
_DEAD: Final = "dead"

# The boxes whose node address was handed out (as_ptr, into_foreign), for
# rcu_borrow(): weak, so that a forgotten box is still collected and
# reported. A box whose address never left it is not entered.
_boxes: weakref.WeakValueDictionary[int, RcuBox[Any]] = weakref.WeakValueDictionary()
_boxes_mu = threading.Lock()


class RcuBox(NoCopy, Generic[T]):
    """A box freed with RCU: the value lives one grace period past :meth:`close`.

    ``RcuBox(value, flags=alloc.GFP_KERNEL, *, drop=None)`` allocates the box's C
    part (a kmalloc'd node holding the ``rcu_head``, so that its lifetime is
    visible to the kernel's live-object counters) and owns ``value``.
    :meth:`close` (or the end of a ``with`` block) gives the box up, like
    dropping a Rust ``RcuBox``: after a grace period the node is kfree'd (in
    C, by the RCU callback) and the value dropped — ``drop(value)`` if
    given, else ``value.close()`` if it has one (a KBox, a lock ...), else
    just the reference. Until then a reader that reached the box inside a
    read section (:meth:`with_rcu`, :meth:`rcu_borrow`) may use the value.

    Foreign ownership: RcuBox is a :class:`pyforlinux.types.ForeignOwnable`
    (:meth:`into_foreign` hands the box to C as a ``void *``,
    :meth:`from_foreign`/:meth:`try_from_foreign` take it back,
    :meth:`borrow`/:meth:`borrow_mut` borrow it while C owns it, with the
    errno of that protocol), and a ``ForeignOwnableRcu``:
    :meth:`rcu_borrow` borrows it under an RCU guard — valid until one
    grace period after it is dropped. Pointers are checked against
    registries first, so a stale or unknown pointer raises instead of
    touching freed memory.

    Errors: :class:`~pyforlinux.alloc.AllocError` (``ENOMEM``), ``EINVAL``
    (flags not :class:`~pyforlinux.alloc.Flags`; use after close, a
    pointer that is not a live foreign RcuBox), ``EPERM``/``EINVAL`` (an RCU
    guard of another thread / released).

    Rust: ``kernel::sync::rcu::RcuBox`` (proposed), drop through ``call_rcu``.
    """

    __slots__ = ("__weakref__", "_cookie", "_drop", "_exposed", "_fin", "_node", "_state", "_value")
    _fin: weakref.finalize[..., Any] | None  # None: a part of another owner (_part_of)

    def __init__(
        self,
        value: T,
        flags: Flags = GFP_KERNEL,
        *,
        drop: Callable[[T], None] | None = None,
    ) -> None:
        if drop is not None:
            arg_callable(drop, "RcuBox drop")
        self._init(value, flags, drop)
        self._fin = leak_finalizer(self, OwnerName(("RcuBox", type(value).__name__, self._node)))

    def _init(self, value: T, flags: Flags, drop: Callable[[T], None] | None) -> None:
        cookie = _callbacks.new_cookie()
        if not isinstance(flags, Flags):
            raise Error(code.EINVAL, f"RcuBox flags must be pyforlinux.alloc.Flags, not {flags!r}")
        node = lib.pfl_rcu_cookie_alloc(cookie, flags.as_raw())
        if node == ffi.NULL:
            raise AllocError("RcuBox")
        self._node: Any = node
        self._cookie = cookie
        self._value: T | None = value
        self._drop = drop
        self._state = _OWNED
        self._exposed = False

    @classmethod
    def _part_of(cls, value: T, flags: Flags = GFP_KERNEL) -> RcuBox[T]:
        """A box inside another owner (a fence's data): made as by the
        constructor, without a leak report of its own, since it is closed
        when that owner is released and leaks only with it (whose report
        names it). Errors as the constructor's.
        """
        self: RcuBox[T] = object.__new__(cls)
        self._init(value, flags, None)
        self._fin = None
        return self

    def _set_drop(self, drop: Callable[[T], None]) -> None:
        """Replace how the value is dropped (the owner's choice, before close)."""
        self._drop = drop

    def _expose(self) -> Any:
        """The node, entered in ``_boxes`` for :meth:`rcu_borrow` (its address leaves the box)."""
        if not self._exposed:
            with _boxes_mu:
                _boxes[_addr(self._node)] = self
                self._exposed = True
        return self._node

    def _owned(self) -> T:
        if self._state != _OWNED:
            raise Error(code.EINVAL, f"RcuBox used after it was {self._state_text()}")
        return self._value  # type: ignore[return-value]

    def _state_text(self) -> str:
        return {
            _FOREIGN: "given to C (into_foreign)",
            _DROPPING: "closed",
            _DEAD: "closed",
        }.get(self._state, self._state)

    @property
    def value(self) -> T:
        """The value, for the owner (Rust ``Deref``).

        Raises:
            Error: ``EINVAL`` once closed or given to C.
        """
        return self._owned()

    def with_rcu(self, guard: Guard) -> T:
        """The value, for as long as ``guard`` (an RCU read section) is held.

        Raises:
            Error: ``EPERM``/``EINVAL`` for a guard of another thread or a
                released one; ``EINVAL`` once the box is closed.

        Rust: ``RcuBox::with_rcu``
        """
        guard._check()
        return self._owned()

    def as_ptr(self) -> Any:
        """The box's C node (``void *``), as :meth:`into_foreign` returns it."""
        return self._expose()

    def close(self) -> None:
        """Drop the box: node and value are released after a grace period.

        Does not sleep (``call_rcu``). Idempotent.

        Raises:
            Error: ``EINVAL`` while C owns the box (take it back with
                :meth:`from_foreign` first).

        Rust: ``Drop for RcuBox``
        """
        # SAFETY: the check and the claim (one attribute store) run with no
        # call and no backward jump in between, so the GIL serialises them
        # against every other state change (into_foreign claims the same way).
        state = self._state
        if state == _DROPPING or state == _DEAD:
            return
        if state == _FOREIGN:
            raise Error(code.EINVAL, "RcuBox is owned by C: from_foreign() it first")
        self._state = _DROPPING
        fin = self._fin
        if fin is not None:
            fin.detach()
        _callbacks.pending[self._cookie] = self._finish  # _callbacks.arm(), inlined
        # SAFETY: the node is the box's, and the box gave it up above; the C
        # RCU callback frees it after the grace period.
        lib.pfl_rcu_cookie_call(self._node)

    def _finish(self) -> None:
        # Runs after the grace period, on the callback thread: no reader
        # can still reach the value. rcu_borrow() finds exposed boxes only,
        # under _boxes_mu: dead first, so that a box exposed after the test
        # below is seen dead there.
        self._state = _DEAD
        if self._exposed:
            with _boxes_mu:
                addr = _addr(self._node)
                if _boxes.get(addr) is self:
                    del _boxes[addr]
                value, self._value = self._value, None
        else:
            value, self._value = self._value, None
        if self._drop is not None:
            self._drop(value)  # type: ignore[arg-type]
        else:
            drop_in_place(value)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran."""
        return self._state in (_DROPPING, _DEAD)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- ForeignOwnable / ForeignOwnableRcu ----------------------------------

    def into_foreign(self) -> Any:
        """Give the box to C: the ``void *`` (its node) to store in a C structure.

        Recorded in the process-wide foreign registry
        (:class:`pyforlinux.types.ForeignOwnable` book-keeping), which
        keeps the box alive while C owns it.

        Raises:
            Error: ``EINVAL`` if the box is closed or already foreign.

        Rust: ``ForeignOwnable::into_foreign``
        """
        # SAFETY: check and claim with no call in between (see close()).
        if self._state != _OWNED:
            self._owned()  # raises
        self._state = _FOREIGN
        try:
            node = self._expose()
            REGISTRY.register(_addr(node), RcuBox, self, shareable=False)
        except BaseException:
            self._state = _OWNED
            raise
        return node

    @classmethod
    def from_foreign(cls, ptr: Any) -> RcuBox[Any]:
        """Take back a box :meth:`into_foreign` gave to C.

        Raises:
            Error: ``EINVAL`` (NULL, a pointer of another kind), ``ENOENT``
                (never given to C, or already taken back), ``EBUSY`` (a
                :meth:`borrow` of it is live).

        Rust: ``ForeignOwnable::from_foreign``
        """
        with _boxes_mu:
            box: RcuBox[Any] = REGISTRY.take(_addr(ptr), RcuBox)
            box._state = _OWNED
        return box

    @classmethod
    def try_from_foreign(cls, ptr: Any) -> RcuBox[Any] | None:
        """:meth:`from_foreign`, or ``None`` for NULL. Rust: ``try_from_foreign``"""
        if ptr is None or ptr == ffi.NULL:
            return None
        return cls.from_foreign(ptr)

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[Any]:
        """Borrow a box C owns: a :class:`~pyforlinux.types.ForeignBorrow`
        (``with RcuBox.borrow(ptr) as value:``) whose view is the value.

        While the borrow is live, :meth:`from_foreign` raises ``EBUSY``.

        Raises:
            Error: ``EINVAL``/``ENOENT`` as :meth:`from_foreign`; ``EBUSY``
                while a :meth:`borrow_mut` is live.

        Rust: ``ForeignOwnable::borrow`` (``Borrowed<'a> = &'a T``)
        """
        return cls._borrow(ptr, False)

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[Any]:
        """:meth:`borrow`, exclusive of every other borrow (``EBUSY``).

        Rust: ``ForeignOwnable::borrow_mut`` (``BorrowedMut<'a> = &'a T`` for RcuBox)
        """
        return cls._borrow(ptr, True)

    @staticmethod
    def _borrow(ptr: Any, mutable: bool) -> ForeignBorrow[Any]:
        addr = _addr(ptr)
        box: RcuBox[Any] = REGISTRY.borrow(addr, RcuBox, mutable)
        return ForeignBorrow(
            REGISTRY, addr, mutable, lambda _b: box._value, view_holds_borrow=False
        )

    @staticmethod
    def rcu_borrow(ptr: Any, guard: Guard) -> Any:
        """The value of a box found through ``ptr`` inside an RCU read section.

        Valid while ``guard`` is held: even if the box is taken back and
        closed meanwhile, its value is not dropped before a grace period.

        Raises:
            Error: ``EPERM``/``EINVAL`` (guard), ``EINVAL`` if ``ptr`` is not
                a box or its grace period already ended.

        Rust: ``ForeignOwnableRcu::rcu_borrow``
        """
        guard._check()
        addr = _addr(ptr) if ptr is not None else 0
        with _boxes_mu:
            box = _boxes.get(addr)
            if box is None or box._state == _DEAD:
                raise Error(code.EINVAL, f"{addr:#x} is not a live RcuBox")
            return box._value

    def __repr__(self) -> str:
        return f"<RcuBox {self._state} at {_addr(self._node):#x}>"
