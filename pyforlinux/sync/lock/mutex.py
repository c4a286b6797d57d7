"""A kernel mutex: :class:`Mutex` over the runtime's C ``struct mutex``.

When several threads lock one mutex, one at a time proceeds; the others
sleep in C (the GIL released) until it is unlocked. Taking a mutex may
sleep, so it must not be done while holding a
:class:`~pyforlinux.sync.lock.spinlock.SpinLock` or inside an RCU read
section: the validator reports might_sleep (and strict mode raises
``EDEADLK``).

Example::

    with new_mutex(0) as m:          # Mutex[int], class and name "file.py:LINE"
        with m.lock() as g:
            g.value += 1

C header: include/linux/mutex.h (``mutex_init``, ``mutex_lock``,
``mutex_trylock``, ``mutex_unlock``; runtime/lock.c).
Rust: rust/kernel/sync/lock/mutex.rs
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock import Backend, Lock
from pyforlinux.sync.lockdep import LockClassKey

__all__ = ["Mutex", "MutexBackend", "new_mutex"]

T = TypeVar("T")


class MutexBackend(Backend):
    """``struct mutex`` backend (Rust: ``MutexBackend``); guard state ``()``."""

    STATE_TYPE: ClassVar[str] = "struct mutex"
    SLEEPING: ClassVar[bool] = True
    KIND: ClassVar[str] = "Mutex"
    #: The checked acquisition in one C call and the guard's release (see
    #: ``Backend.take``/``release``): cffi builtins, so the class attributes
    #: are the C functions themselves.
    release: ClassVar[Callable[[Any], None]] = lib.pfl_sync_mutex_release
    take: ClassVar[Callable[[Any, int, int, int, int], int]] = lib.pfl_sync_mutex_take

    @staticmethod
    def init(ptr: Any, name: Any, key: Any) -> None:
        """``__mutex_init(ptr, name, key)`` (runtime: ``pfl_mutex_init``)."""
        lib.pfl_mutex_init(ptr, name, key)

    @staticmethod
    def lock(ptr: Any) -> Any:
        """``mutex_lock(ptr)``: may sleep; the GIL is released while waiting."""
        lib.pfl_mutex_lock(ptr, 0, 0)
        return ()

    @staticmethod
    def try_lock(ptr: Any) -> Any | None:
        """``mutex_trylock(ptr)``: ``()`` if taken, else ``None``."""
        return () if lib.pfl_mutex_trylock(ptr, 0) else None

    @staticmethod
    def unlock(ptr: Any, guard_state: Any) -> None:
        """``mutex_unlock(ptr)``."""
        lib.pfl_mutex_unlock(ptr, 0)

    @staticmethod
    def assert_is_held(ptr: Any) -> None:
        """``lockdep_assert_held(ptr)`` in C (WARNs if the task does not hold it)."""
        lib.pfl_sync_mutex_assert_held(ptr)

    @staticmethod
    def dep_map(ptr: Any) -> Any:
        """``&ptr->dep_map``."""
        return ffi.addressof(ptr, "dep_map")


class Mutex(Lock[T, MutexBackend]):
    """A mutual exclusion primitive over a C ``struct mutex`` (Rust: ``Mutex<T>``).

    ``Mutex(value, name=None, key=None)``: see :class:`~pyforlinux.sync.lock.Lock`.

    ``from_raw(ptr)`` wraps a ``struct mutex *`` initialised by C (``mutex_init``):
    see :meth:`~pyforlinux.sync.lock.Lock.from_raw`.

    Raises:
        Error: ``ENOMEM`` if the C mutex cannot be allocated.
    """

    DEFAULT_BACKEND: ClassVar[type[Backend] | None] = MutexBackend

    def __init__(self, value: T, name: str | None = None, key: LockClassKey | None = None) -> None:
        super().__init__(
            value,
            MutexBackend,
            name if name is not None else lockdep.caller_name(),
            key if key is not None else lockdep.static_lock_class(kind="Mutex"),
        )


def new_mutex(value: T, name: str | None = None, key: LockClassKey | None = None) -> Mutex[T]:
    """A :class:`Mutex` named ``name`` or ``"file.py:LINE"`` of the caller.

    ``key`` defaults to the static lock class of the calling line.

    Raises:
        Error: ``ENOMEM``.

    Rust: ``new_mutex!``
    """
    return Mutex(
        value,
        name if name is not None else lockdep.caller_name(),
        key if key is not None else lockdep.static_lock_class(kind="Mutex"),
    )
