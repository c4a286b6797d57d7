"""Locks defined at module level: :class:`GlobalLock` and :class:`GlobalLockedBy`.

A :class:`GlobalLock` is declared as a module global and must be
initialised with :meth:`GlobalLock.init` exactly once (typically from the
module's ``init``) before anything else uses it; its C lock lives in
memory owned by the Python object, like a C ``static`` (it is never a
kmalloc'd kernel object and is never freed)::

    MY_COUNTER: GlobalLock[int] = GlobalLock(0, MutexBackend, "MY_COUNTER")

    def module_init() -> None:
        MY_COUNTER.init()

    def increment() -> int:
        with MY_COUNTER.lock() as g:
            g.value += 1
            return g.value

Errors (:class:`~pyforlinux.error.Error`): ``EINVAL`` for any use before
:meth:`~GlobalLock.init`; ``EBUSY`` for a second ``init()``; otherwise as
:class:`~pyforlinux.sync.lock.Lock`.

Rust: rust/kernel/sync/lock/global.rs (``global_lock!``)
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock import Backend, Guard, Lock
from pyforlinux.sync.lock.mutex import MutexBackend
from pyforlinux.sync.lockdep import LockClassKey

__all__ = ["GlobalGuard", "GlobalLock", "GlobalLockedBy"]

T = TypeVar("T")
V = TypeVar("V")
B = TypeVar("B", bound=Backend)


class GlobalGuard(Guard[T, Any]):
    """The guard of a :class:`GlobalLock` (Rust: ``GlobalGuard``)."""

    __slots__ = ("_global",)
    _global: GlobalLock[Any]


class GlobalLock(NoCopy, Generic[T]):
    """A lock for module-level data; :meth:`init` before use (Rust: ``GlobalLock<B>``).

    ``GlobalLock(value, backend=MutexBackend, name=None)``: ``backend`` is
    :class:`~pyforlinux.sync.lock.mutex.MutexBackend` or
    :class:`~pyforlinux.sync.lock.spinlock.SpinLockBackend`; ``name``
    (default ``"file.py:LINE"``) names it and its static lock class.
    """

    def __init__(
        self, value: T, backend: type[Backend] = MutexBackend, name: str | None = None
    ) -> None:
        self.name: str = name if name is not None else lockdep.caller_name()
        self._value = value
        self._backend = backend
        self._key: LockClassKey = lockdep.static_lock_class(self.name, kind=backend.KIND)
        self._inner: Lock[T, Any] | None = None
        self._mu = threading.Lock()

    def init(self) -> None:
        """Initialise the C lock. Call exactly once, before any other use.

        Raises:
            Error: ``EBUSY`` if already initialised.

        Rust: ``GlobalLock::init``
        """
        with self._mu:
            if self._inner is not None:
                raise Error(
                    code.EBUSY,
                    f"GlobalLock {self.name!r} is already initialised (init() runs exactly once)",
                )
            self._inner = Lock(self._value, self._backend, self.name, self._key, _static=True)

    @property
    def initialized(self) -> bool:
        """Whether :meth:`init` ran."""
        return self._inner is not None

    def _get(self) -> Lock[T, Any]:
        inner = self._inner
        if inner is None:
            raise Error(code.EINVAL, f"GlobalLock {self.name!r} used before init()")
        return inner

    def _wrap(self, g: Guard[T, Any]) -> GlobalGuard[T]:
        gg: GlobalGuard[T] = GlobalGuard.__new__(GlobalGuard)
        gg._lock = g._lock
        gg._ptr = g._ptr
        gg._state = g._state
        gg._unlocked = False
        owner = g._thread
        gg._thread = owner
        gg._global = self
        g._thread = None  # ownership moved to gg: g must not unlock
        if owner is not None:
            owner.unhold(g)
            owner.hold(gg)
        return gg

    def lock(self) -> GlobalGuard[T]:
        """Take the lock: a guard giving access to the value.

        Raises:
            Error: ``EINVAL`` before :meth:`init`; as :meth:`Lock.lock`.
        """
        return self._wrap(self._get().lock())

    def try_lock(self) -> GlobalGuard[T] | None:
        """Take the lock if free: a guard, or ``None``.

        Raises:
            Error: ``EINVAL`` before :meth:`init`.
        """
        g = self._get().try_lock()
        return None if g is None else self._wrap(g)

    def as_lock(self) -> Lock[T, Any]:
        """The underlying :class:`~pyforlinux.sync.lock.Lock` (C pointer, is_held ...).

        Raises:
            Error: ``EINVAL`` before :meth:`init`.
        """
        return self._get()

    def __repr__(self) -> str:
        return f"<GlobalLock {self.name!r}{'' if self._inner else ' (uninitialised)'}>"


class GlobalLockedBy(Generic[V, T]):
    """``V`` protected by the :class:`GlobalLock` ``lock`` (Rust: ``GlobalLockedBy<T, B>``).

    ``GlobalLockedBy(lock, value)``.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self, lock: GlobalLock[T], value: V) -> None:
        self._lock = lock
        self._value = value

    def _check(self, guard: GlobalGuard[T]) -> None:
        if not isinstance(guard, GlobalGuard):
            raise Error(code.EINVAL, f"GlobalLockedBy needs a GlobalGuard as proof, not {guard!r}")
        guard._check()
        if guard._global is not self._lock:
            raise Error(
                code.EINVAL,
                f"mismatched owners: the guard is of {guard._global.name!r}, "
                f"the data is protected by {self._lock.name!r}",
            )

    def as_ref(self, guard: GlobalGuard[T]) -> V:
        """The value, given the global lock's guard.

        Raises:
            Error: ``EINVAL`` (wrong lock, released guard), ``EPERM`` (guard of
                another thread).

        Rust: ``GlobalLockedBy::as_ref``
        """
        self._check(guard)
        return self._value

    def as_mut(self, guard: GlobalGuard[T]) -> V:
        """:meth:`as_ref` for mutation. Rust: ``GlobalLockedBy::as_mut``"""
        self._check(guard)
        return self._value

    def set(self, guard: GlobalGuard[T], value: V) -> None:
        """Replace the value (``*as_mut(guard) = value``).

        Raises:
            Error: as :meth:`as_ref`.
        """
        self._check(guard)
        self._value = value
