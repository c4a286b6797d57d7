"""Generic kernel lock and guard: :class:`Lock` over a :class:`Backend`.

A :class:`Lock` owns a real C lock of the runtime (a ``struct mutex`` or a
``spinlock_t``, kmalloc'd) and the Python data it protects. The data is
reachable only through a :class:`Guard`, which :meth:`Lock.lock` returns
with the lock held; the guard is a context manager that unlocks on exit::

    m = new_mutex([])              # Mutex[list[int]], named "file.py:LINE"
    with m.lock() as g:
        g.value.append(1)          # g.value is the protected data
    m.close()                      # frees the C lock (or: with new_mutex(...) as m)

Because acquisitions go through the same C functions as kernel C's
(``pfl_mutex_lock``/``pfl_spin_lock``), C code sees the lock held
(``lockdep_assert_held``, ``spin_is_locked``, ``mutex_is_locked``), and
the lock-order validator (:mod:`pyforlinux.sync.lockdep`) checks every
acquisition, naming its Python site.

Errors (:class:`~pyforlinux.error.Error`):

- ``EDEADLK``: locking a lock the task already holds (caught in Python,
  before C, which would BUG); in strict mode, an acquisition that made the
  validator report an inversion, a recursion or a might_sleep.
- ``EPERM``: a guard used (value, unlock, do_unlocked, CondVar wait,
  LockedBy access) on a thread other than the one that took the lock —
  the Rust ``Guard`` is ``!Send``; the kernel answers ``EPERM`` to an
  unlock by a non-owner (``rt_mutex``/futex).
- ``EINVAL``: a guard used after it was released; a closed lock used.
- ``EBUSY``: :meth:`Lock.close` while the lock is held or being taken.
- ``ENOMEM``: the C lock cannot be allocated.

Thread context: locks and guards may be shared between threads; a guard
belongs to the thread that took it. A Mutex may sleep: not under a
SpinLock or in an RCU read section (might_sleep).

C header: include/linux/mutex.h, include/linux/spinlock.h.
Rust: rust/kernel/sync/lock.rs
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, NoReturn, Protocol, Self, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_callable
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync._guard import ThreadBoundGuard
from pyforlinux.sync.lockdep import LockClassKey

#: GFP_KERNEL | __GFP_ZERO (module level: a class body would mangle ``__GFP_ZERO``).
_GFP_ZEROED: Final = lib.GFP_KERNEL | lib.__GFP_ZERO

__all__ = ["Backend", "Guard", "Lock"]

T = TypeVar("T")
U = TypeVar("U")
B = TypeVar("B", bound="Backend")


class Backend(Protocol):
    """The C side of a lock kind (Rust: ``unsafe trait Backend``).

    Backends are classes used through their static methods; ``ptr`` is a
    cffi pointer to :attr:`STATE_TYPE`. Every method is unsafe in the
    Rust sense — only :class:`Lock` calls them, with the invariants below.

    Safety:
        - ``init`` is called once, on zeroed memory, before anything else;
          ``name`` and ``key`` outlive the lock.
        - ``lock``/``try_lock`` give the caller the lock; ``unlock`` is only
          called by the owner, with the state ``lock`` returned.
        - ``relock`` re-takes a lock released by ``unlock`` with the same
          method as the original acquisition.
    """

    #: The C type of the lock (``"struct mutex"``).
    STATE_TYPE: ClassVar[str]
    #: Whether taking the lock may sleep (might_sleep is checked).
    SLEEPING: ClassVar[bool]
    #: The lock kind's name in messages (``"Mutex"``).
    KIND: ClassVar[str]

    @staticmethod
    def init(ptr: Any, name: Any, key: Any) -> None:
        """Initialise the C lock at ``ptr`` (``mutex_init``/``spin_lock_init``)."""
        ...

    @staticmethod
    def lock(ptr: Any) -> Any:
        """Take the lock (blocking); returns the guard state (``()`` here)."""
        ...

    @staticmethod
    def try_lock(ptr: Any) -> Any | None:
        """Take the lock if free; the guard state, or ``None``."""
        ...

    #: ``take(ptr, frame, code, lasti, flags) -> int``: the safe layer's
    #: acquisition in one C call (``pfl_sync_mutex_take``/``pfl_sync_spin_take``):
    #: refuses a lock the task holds, a fork orphan and (strict mode, which
    #: the C reads from ``pfl_sync_strict``) a reported acquisition before
    #: blocking, else locks; ``frame``,
    #: ``code`` (``id()`` of the user's frame and of its code object) and
    #: ``lasti`` name the Python site for the validator, which formats it
    #: only when needed. 0 when taken, else a ``PFL_SYNC_*`` refusal
    #: (nothing held).
    take: ClassVar[Callable[[Any, int, int, int, int], int]]
    #: ``release(ptr)``: the C unlock a guard's release makes
    #: (``mutex_unlock``/``spin_unlock``), called directly; it has the
    #: backends' guard state ``()`` built in.
    release: ClassVar[Callable[[Any], None]]

    @staticmethod
    def unlock(ptr: Any, guard_state: Any) -> None:
        """Release the lock; the caller owns it."""
        ...

    @classmethod
    def relock(cls, ptr: Any, guard_state: Any) -> Any:
        """Re-take the lock after :meth:`unlock`; the new guard state."""
        return cls.lock(ptr)

    @staticmethod
    def assert_is_held(ptr: Any) -> None:
        """C ``lockdep_assert_held()`` on the lock (a WARN if not held)."""
        ...

    @staticmethod
    def dep_map(ptr: Any) -> Any:
        """The lock's ``struct lockdep_map *`` (owner and class)."""
        ...


_TRYLOCK: Final = int(lib.PFL_SYNC_TRYLOCK)
_RECURSIVE: Final = int(lib.PFL_SYNC_RECURSIVE)
_ORPHANED: Final = int(lib.PFL_SYNC_ORPHANED)
_BUSY: Final = int(lib.PFL_SYNC_BUSY)


def _leak(what: str) -> None:
    lockdep._leak(what)


class Lock(NoCopy, Generic[T, B]):
    """A mutual exclusion primitive over the C lock kind ``B`` (Rust: ``Lock<T, B>``).

    Create one through :class:`~pyforlinux.sync.lock.mutex.Mutex` /
    :class:`~pyforlinux.sync.lock.spinlock.SpinLock` or :func:`new_mutex`
    / :func:`new_spinlock`. The C lock is kmalloc'd (a live kernel object)
    until :meth:`close`; a lock garbage collected unclosed is reported
    (a leak warning) and its memory is not freed.

    ``name`` names the lock in reports (default ``"file.py:LINE"`` of the
    creator); ``key`` its class (default: the static key of the creating
    source line).
    """

    _backend: type[B]

    def __init__(
        self,
        value: T,
        backend: type[B],
        name: str | None = None,
        key: LockClassKey | None = None,
        *,
        _static: bool = False,
    ) -> None:
        lockdep.is_strict()  # the default strict mode, decided before a take reads it in C
        self._backend = backend
        self._data = value
        self.name: str = name if name is not None else lockdep.caller_name()
        self._key = key if key is not None else lockdep.static_lock_class(kind=backend.KIND)
        self._users = 0  # takers and guards: close() refuses while any
        self._owned = True
        self._static = _static
        self._key._get()
        try:
            size = ffi.sizeof(backend.STATE_TYPE)
            if _static:
                # SAFETY: Python-owned, zeroed memory that lives as long as
                # this object, like a C static; never handed to kfree.
                self._mem: Any = ffi.new("char[]", size)
                ptr = ffi.cast(backend.STATE_TYPE + " *", self._mem)
            else:
                raw = lib.pfl_kmalloc(size, _GFP_ZEROED, 0)
                if raw == ffi.NULL:
                    raise Error(code.ENOMEM, f"{backend.KIND} {self.name!r}")
                self._mem = None
                ptr = ffi.cast(backend.STATE_TYPE + " *", raw)
        except BaseException:
            self._key._put()
            raise
        # SAFETY: the name buffer lives as long as this object, and the C
        # lock (which points at it) is freed by close() before it.
        self._name_buf = ffi.new("char[]", self.name.encode()[:255])
        self._ptr: Any = ptr
        self._dm: Any = backend.dep_map(ptr)  # taken once: ffi.addressof costs per lock()
        backend.init(ptr, self._name_buf, self._key.as_ptr())
        self._fin: Any = None
        if not _static:
            self._fin = weakref.finalize(self, _leak, f"{backend.KIND} {self.name!r}")
            self._fin.atexit = False

    #: The backend :meth:`from_raw` uses when none is given (set by Mutex, SpinLock).
    DEFAULT_BACKEND: ClassVar[type[Backend] | None] = None

    @classmethod
    def from_raw(
        cls, ptr: Any, backend: type[Backend] | None = None, name: str | None = None
    ) -> Lock[None, Any]:
        """A lock over a C lock initialised by C (``mutex_init``/``spin_lock_init``).

        ``ptr`` is a ``struct mutex *`` / ``spinlock_t *``; ``backend`` defaults
        to the class's (``Mutex.from_raw(ptr)``, ``SpinLock.from_raw(ptr)``).
        The lock protects no Python data (``None``) and C keeps ownership:
        :meth:`close` only forgets it. ``name`` defaults to the C lock's name.

        Safety:
            ``ptr`` must stay a valid, initialised lock of that kind while the
            returned lock is used.

        Raises:
            Error: ``EINVAL`` without a backend (on :class:`Lock` itself) or
                for a ``NULL`` pointer.

        Rust: ``Lock::<(), B>::from_raw``
        """
        backend = backend if backend is not None else cls.DEFAULT_BACKEND
        if backend is None:
            raise Error(code.EINVAL, "Lock.from_raw needs a backend (MutexBackend ...)")
        if ptr is None or ptr == ffi.NULL:
            raise Error(code.EINVAL, "Lock.from_raw of a NULL pointer")
        lockdep.is_strict()  # as __init__
        lock: Lock[None, Any] = Lock.__new__(Lock)
        lock._backend = backend
        lock._data = None
        # SAFETY: the caller promises ptr is an initialised lock of this kind.
        lock._ptr = ffi.cast(backend.STATE_TYPE + " *", ptr)
        lock._dm = backend.dep_map(lock._ptr)
        c_name = lock._dm.name
        lock.name = name or (ffi.string(c_name).decode() if c_name != ffi.NULL else "raw lock")
        lock._key = None  # type: ignore[assignment]
        lock._users = 0
        lock._owned = False
        lock._static = False
        lock._mem = None
        lock._name_buf = None
        lock._fin = None
        return lock

    # -- state -------------------------------------------------------------

    def _leave(self) -> None:
        # GIL: one statement, no call inside; see _take().
        self._users -= 1

    def as_ptr(self) -> Any:
        """The C lock (``struct mutex *`` / ``spinlock_t *``), for C callees.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        if self._ptr is None:
            raise Error(code.EINVAL, f"{self._backend.KIND} {self.name!r} is closed")
        return self._ptr

    @property
    def backend(self) -> type[B]:
        """The lock's backend class (``MutexBackend``, ``SpinLockBackend``)."""
        return self._backend

    @property
    def key(self) -> LockClassKey | None:
        """The lock's class key (``None`` for :meth:`from_raw` locks)."""
        return self._key

    def is_locked(self) -> bool:
        """Whether any task holds the lock (``mutex_is_locked``/``spin_is_locked``).

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        return bool(self._backend.dep_map(self.as_ptr()).owner != ffi.NULL)

    def is_held(self) -> bool:
        """Whether the calling task holds the lock (``lockdep_is_held``).

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        return bool(lib.pfl_lock_is_held(self._backend.dep_map(self.as_ptr())))

    def assert_is_held(self) -> None:
        """Check that the calling task holds the lock, then C ``lockdep_assert_held``.

        Raises:
            Error: ``EPERM`` if the calling task does not hold it (no WARN).
        """
        if not self.is_held():
            raise Error(code.EPERM, f"{self._backend.KIND} {self.name!r} is not held by this task")
        self._backend.assert_is_held(self._ptr)

    # -- locking -----------------------------------------------------------

    def _take(self, flags: int) -> bool:
        """Count a user, then check and take the C lock in one C call.

        ``flags``: ``PFL_SYNC_TRYLOCK`` or 0. True with the lock held and one
        user counted (the guard's, which ``_leave`` drops); False (nothing
        held or counted) when a trylock finds it taken; raises a refusal.
        """
        ptr = self._ptr
        if ptr is None:
            raise Error(code.EINVAL, f"{self._backend.KIND} {self.name!r} is closed")
        # SAFETY: no call and no backward jump between the check above and
        # this count, so no other thread runs in between (the GIL changes
        # hands only there): close() on another thread sees the lock
        # either closed or used, never freed under us while we wait in C.
        self._users += 1
        try:
            # The user's frame (lock() -> _take(): 2 up), named by reference:
            # the validator formats it only if it reports or records a new
            # dependency edge (lockdep.pfl_lockdep_py_site).
            f = sys._getframe(2)
            if f.f_code.co_filename in lockdep.SYNC_FILES:
                f = lockdep.user_frame(2) or f
            # The checks made before the C lock (recursion, a fork orphan,
            # strict validation: the C reads the strict mode and whether
            # this is a fork child itself) and the lock itself, in one C call.
            # SAFETY: ptr is initialised and not freed (we are a user).
            rc = self._backend.take(ptr, id(f), id(f.f_code), f.f_lasti, flags)
            if rc:
                if rc == _BUSY:
                    self._users -= 1
                    return False
                self._refuse(rc)
        except BaseException:
            self._users -= 1
            raise
        return True

    def _refuse(self, rc: int) -> NoReturn:
        kind, name = self._backend.KIND, self.name
        if rc == _RECURSIVE:
            raise Error(
                code.EDEADLK,
                f"recursive locking: this task already holds {kind} {name!r} "
                "(a certain deadlock; refused before calling C)",
            )
        if rc == _ORPHANED:
            raise Error(
                code.EDEADLK,
                f"{kind} {name!r} was held by another thread when this process "
                "was forked: that thread does not exist here, the lock is never released",
            )
        raise Error(
            code.EDEADLK,
            f"lock validator (strict mode) while taking {kind} {name!r}:\n"
            f"{lockdep.thread_last_report()}",
        )

    def lock(self) -> Guard[T, B]:
        """Take the lock (blocking) and return the guard giving access to the data.

        Raises:
            Error: ``EDEADLK`` if this task already holds the lock, or (strict
                mode) if the validator reported this acquisition; ``EINVAL``
                if the lock is closed.

        Rust: ``Lock::lock``
        """
        self._take(0)
        return Guard(self, ())

    def try_lock(self) -> Guard[T, B] | None:
        """Take the lock if it is free: a guard, or ``None`` (also if this task holds it).

        Raises:
            Error: ``EINVAL`` if the lock is closed.

        Rust: ``Lock::try_lock``
        """
        if not self._take(_TRYLOCK):
            return None
        return Guard(self, ())

    # -- lifetime ----------------------------------------------------------

    def close(self) -> None:
        """Free the C lock (``mutex_destroy`` + kfree). Idempotent.

        A :meth:`from_raw` lock is only forgotten (C owns it).

        Raises:
            Error: ``EBUSY`` while the lock is held or being taken.
        """
        ptr = self._ptr
        if ptr is None:
            return
        # SAFETY: no call between these checks and the store (the GIL does not
        # change hands): _take() counts its user in one step too.
        if self._users or self._dm.owner != ffi.NULL:
            raise Error(code.EBUSY, f"{self._backend.KIND} {self.name!r} is held or being taken")
        self._ptr = None
        if self._fin is not None:
            self._fin.detach()
        if self._owned:
            if self._backend.STATE_TYPE == "struct mutex":
                lib.mutex_destroy(ptr)
            if not self._static:
                lib.pfl_kfree(ptr, 0)
            self._key._put()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran."""
        return self._ptr is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else ("locked" if self.is_locked() else "unlocked")
        return f"<{self._backend.KIND} {self.name!r} {state}>"


class Guard(ThreadBoundGuard, Generic[T, B]):
    """Proof that the calling thread holds a :class:`Lock`; access to its data.

    Returned locked by :meth:`Lock.lock`; released by :meth:`unlock` or at
    the end of a ``with`` block. Belongs to the thread that took the lock:
    any use on another thread raises ``EPERM``; any use after release
    ``EINVAL``. A guard garbage collected while still holding the lock
    (``m.lock().value = 1``) is reported with a leak warning and unlocked if
    the collecting thread is its owner (CPython collects it at once on
    that thread), so the lock is not lost; otherwise it stays held.

    Rust: ``kernel::sync::lock::Guard`` (``!Send``; ``Deref``/``DerefMut``
    are :attr:`value`; ``Drop`` is :meth:`unlock`)
    """

    __slots__ = ("_lock", "_ptr", "_state")

    _USED_ON_OTHER_THREAD = "{s} used on a thread that does not hold the lock"
    _LEAKED = "{s} was garbage collected with the lock held (use 'with' or unlock())"

    def __init__(self, lock: Lock[T, B], state: Any) -> None:
        # SAFETY (caller): the calling thread has just taken ``lock``.
        self._lock = lock
        self._ptr = lock._ptr
        self._state = state
        self._bind()

    def _subject(self) -> str:
        return f"guard of {self._lock.name!r}"

    def _release(self) -> None:
        lock = self._lock
        if not self._unlocked:  # (ended inside do_unlocked(): nothing is held)
            lock._backend.release(self._ptr)
        lock._users -= 1  # lock._leave(), inline: once per lock

    @property
    def lock(self) -> Lock[T, B]:
        """The lock this guard holds (Rust: ``Guard::lock_ref``)."""
        return self._lock

    @property
    def value(self) -> T:
        """The protected data (read; assign to replace it).

        Raises:
            Error: ``EPERM`` on another thread, ``EINVAL`` after release.
        """
        self._check()
        return self._lock._data

    @value.setter
    def value(self, v: T) -> None:
        self._check()
        self._lock._data = v

    def do_unlocked(self, fn: Callable[[], U]) -> U:
        """Run ``fn`` with the lock released, then re-take it (also if ``fn`` raises).

        The re-acquisition is validated and counted like any other but never
        raises in strict mode (the guard must hold the lock afterwards).

        Raises:
            Error: ``EPERM``/``EINVAL`` as for :attr:`value`; whatever
                ``fn`` raises.

        Rust: ``Guard::do_unlocked``
        """
        fn = arg_callable(fn, "do_unlocked(fn)")
        self._check()
        backend = self._lock._backend
        backend.unlock(self._ptr, self._state)
        self._unlocked = True
        try:
            return fn()
        finally:
            self._unlocked = False
            if lib.pfl_lock_is_held(self._lock._dm):
                # fn took the lock again and kept it (a guard escaped fn):
                # relocking would deadlock on ourselves. That guard holds
                # the lock now; this one is over.
                owner = self._thread
                self._thread = None
                if owner is not None:
                    owner.unhold(self)
                self._lock._leave()
                raise Error(
                    code.EDEADLK,
                    f"do_unlocked(): fn returned holding {self._lock.name!r} again; "
                    "this guard was released (the other guard holds the lock)",
                )
            if lib.pfl_lockdep_enabled():
                lockdep.set_acquire_context(lockdep.acquire_site_bytes())
            self._state = backend.relock(self._ptr, self._state)

    def __repr__(self) -> str:
        state = "held" if self._thread is not None else "released"
        return f"<Guard of {self._lock.name!r} {state}>"
