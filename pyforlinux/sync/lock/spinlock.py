"""A kernel spinlock: :class:`SpinLock` over the runtime's C ``spinlock_t``.

Holding a spinlock makes the task atomic ("preemption disabled"): sleeping
while holding one — taking a :class:`~pyforlinux.sync.lock.mutex.Mutex`,
a :class:`~pyforlinux.sync.condvar.CondVar` wait on another lock,
``synchronize_rcu``, ``msleep`` — is reported by the validator (might_sleep;
strict mode raises ``EDEADLK``). Keep the critical section short. Waiting
for a contended spinlock blocks in C with the GIL released. Interrupts do
not exist here, so there are no ``_irq``/``_irqsave`` variants.

C header: include/linux/spinlock.h (``spin_lock_init``, ``spin_lock``,
``spin_trylock``, ``spin_unlock``; runtime/lock.c).
Rust: rust/kernel/sync/lock/spinlock.rs
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux.sync import lockdep
from pyforlinux.sync.lock import Backend, Lock
from pyforlinux.sync.lockdep import LockClassKey

__all__ = ["SpinLock", "SpinLockBackend", "new_spinlock"]

T = TypeVar("T")


class SpinLockBackend(Backend):
    """``spinlock_t`` backend (Rust: ``SpinLockBackend``); guard state ``()``."""

    STATE_TYPE: ClassVar[str] = "spinlock_t"
    SLEEPING: ClassVar[bool] = False
    KIND: ClassVar[str] = "SpinLock"
    #: The checked acquisition in one C call and the guard's release (see
    #: ``Backend.take``/``release``): cffi builtins, so the class attributes
    #: are the C functions themselves.
    release: ClassVar[Callable[[Any], None]] = lib.pfl_sync_spin_release
    take: ClassVar[Callable[[Any, int, int, int, int], int]] = lib.pfl_sync_spin_take

    @staticmethod
    def init(ptr: Any, name: Any, key: Any) -> None:
        """``__spin_lock_init(ptr, name, key)`` (runtime: ``pfl_spin_lock_init``)."""
        lib.pfl_spin_lock_init(ptr, name, key)

    @staticmethod
    def lock(ptr: Any) -> Any:
        """``spin_lock(ptr)``: disables preemption; the GIL is released while spinning."""
        lib.pfl_spin_lock(ptr, 0, 0)
        return ()

    @staticmethod
    def try_lock(ptr: Any) -> Any | None:
        """``spin_trylock(ptr)``: ``()`` if taken, else ``None``."""
        return () if lib.pfl_spin_trylock(ptr, 0) else None

    @staticmethod
    def unlock(ptr: Any, guard_state: Any) -> None:
        """``spin_unlock(ptr)``: re-enables preemption."""
        lib.pfl_spin_unlock(ptr, 0)

    @staticmethod
    def assert_is_held(ptr: Any) -> None:
        """``assert_spin_locked(ptr)`` in C (WARNs if the task does not hold it)."""
        lib.pfl_sync_spin_assert_held(ptr)

    @staticmethod
    def dep_map(ptr: Any) -> Any:
        """``&ptr->dep_map``."""
        return ffi.addressof(ptr, "dep_map")


class SpinLock(Lock[T, SpinLockBackend]):
    """A spinlock over a C ``spinlock_t`` (Rust: ``SpinLock<T>``).

    ``SpinLock(value, name=None, key=None)``: see :class:`~pyforlinux.sync.lock.Lock`.

    ``from_raw(ptr)`` wraps a ``spinlock_t *`` initialised by C (``spin_lock_init``):
    see :meth:`~pyforlinux.sync.lock.Lock.from_raw`.

    Raises:
        Error: ``ENOMEM`` if the C spinlock cannot be allocated.
    """

    DEFAULT_BACKEND: ClassVar[type[Backend] | None] = SpinLockBackend

    def __init__(self, value: T, name: str | None = None, key: LockClassKey | None = None) -> None:
        super().__init__(
            value,
            SpinLockBackend,
            name if name is not None else lockdep.caller_name(),
            key if key is not None else lockdep.static_lock_class(kind="SpinLock"),
        )


def new_spinlock(
    value: T, name: str | None = None, key: LockClassKey | None = None
) -> SpinLock[T]:
    """A :class:`SpinLock` named ``name`` or ``"file.py:LINE"`` of the caller.

    ``key`` defaults to the static lock class of the calling line.

    Raises:
        Error: ``ENOMEM``.

    Rust: ``new_spinlock!``
    """
    return SpinLock(
        value,
        name if name is not None else lockdep.caller_name(),
        key if key is not None else lockdep.static_lock_class(kind="SpinLock"),
    )
