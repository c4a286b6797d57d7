"""XArray: a sparse array of owned objects over the kernel's lib/xarray.c.

Mirrors ``rust/kernel/xarray.rs``. An :class:`XArray` maps ``unsigned long``
indices to owned objects of one :class:`~pyforlinux.types.ForeignOwnable`
type ``T`` (``KBox``, ``Arc``, ``ARef``, or ``None`` for the unit type):
an object stored in the array is handed to C with ``into_foreign()`` and
the array owns it until it is removed, replaced or the array is closed,
when it comes back through ``from_foreign()``.

All access goes through a :class:`Guard`, which holds the array's C lock
(``xa_lock``, a spinlock of the runtime, checked by the lock validator)
and uses the ``__xa_*`` functions that expect it held:

* :meth:`Guard.get` / :meth:`Guard.get_mut` borrow an entry
  (``T.borrow()`` / ``T.borrow_mut()``); the borrows end when the guard
  is released, after which their views raise ``EINVAL``;
* :meth:`Guard.store` returns the previous entry (the caller owns it) or
  raises :class:`StoreError`, which carries the value back;
* :meth:`Guard.remove` returns the removed entry, or ``None``;
* :meth:`Guard.alloc` stores at the lowest free index of a range
  (``__xa_alloc``): ``AllocKind.Alloc`` arrays start at 0,
  ``AllocKind.Alloc1`` ones at 1;
* iteration (:meth:`Guard.iter`, :meth:`Guard.indices`) in index order.

Closing the array (:meth:`XArray.close`, or leaving ``with``) releases
every entry through ``from_foreign()`` and drops it (its ``close()``),
then ``xa_destroy()``.

=============================================================  ======
misuse                                                         errno
=============================================================  ======
``lock()`` while this thread holds the guard (self-deadlock)   EDEADLK
guard released on another thread (a spinlock's owner)          EPERM
guard used after release                                       EINVAL
store/remove of an entry this guard has borrowed               EBUSY
``get_mut`` while the entry is borrowed (and vice versa)       EBUSY
value of the wrong type, index outside ``0..ULONG_MAX``        EINVAL
``alloc`` range empty/outside ``0..U32_MAX``                   EINVAL
``alloc`` with no free index in the range                      EBUSY
allocation failure                                             ENOMEM
``close()`` while this thread holds the guard                  EBUSY
any use after ``close()``                                      EINVAL
=============================================================  ======

Thread context: any thread may lock the array; the guard is a spinlock
section, so the code under it must not sleep (a ``GFP_KERNEL`` store
drops and retakes the lock around its allocation, as the C does). All
XArrays share one lock class (the ``spin_lock_init()`` in
``xa_init_flags()``), so holding two guards at once is reported by the
lock validator as recursive locking, as in the kernel.

C header: include/linux/xarray.h (lib/xarray.c).
Rust: rust/kernel/xarray.rs
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Final, Generic, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import (
    DETACHED,
    REGISTRY,
    TASK_TLS,
    ForeignBorrow,
    NoCopy,
    TaskIdentity,
    addr_of,
    addr_of_ptr,
    arg_int,
    drop_in_place,
    leak_finalizer,
    task_identity,
)
from pyforlinux.alloc import Flags
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.types import Opaque, Unit

__all__ = ["AllocKind", "Guard", "StoreError", "XArray"]

T = TypeVar("T")

ULONG_MAX: Final = (1 << 64) - 1
"""Largest index (``ULONG_MAX``)."""
U32_MAX: Final = (1 << 32) - 1
"""Largest index :meth:`Guard.alloc` can return (``xa_limit`` is ``u32``)."""


# The __xa_* functions, bound at module level (inside a class body Python
# would mangle the double-underscore names).
_xa_store_locked = lib.__xa_store
_xa_erase_locked = lib.__xa_erase
_xa_alloc_locked = lib.__xa_alloc

# A guard forgets its ended borrows (weak references) once it has this many.
_PRUNE_BORROWS: Final = 32


class AllocKind(enum.Enum):
    """How an :class:`XArray` tracks free indices for :meth:`Guard.alloc`.

    Rust: ``kernel::xarray::AllocKind``

    Thread context: any (an immutable value).
    C header: include/linux/xarray.h.
    """

    Alloc = "Alloc"
    """The first allocated index is 0 (``XA_FLAGS_ALLOC``)."""
    Alloc1 = "Alloc1"
    """The first allocated index is 1 (``XA_FLAGS_ALLOC1``)."""

    def as_raw(self) -> int:
        """The C ``xa_flags`` value."""
        return int(lib.XA_FLAGS_ALLOC if self is AllocKind.Alloc else lib.XA_FLAGS_ALLOC1)


class StoreError(Error, Generic[T]):
    """A failed :meth:`Guard.store` / :meth:`Guard.alloc`: the error and the value back.

    An :class:`~pyforlinux.error.Error` (``errno`` is the error's); the
    value that was not stored is :attr:`value`, owned by the caller again.

    Rust: ``kernel::xarray::StoreError<T>``

    Thread context: any (an exception value).
    C: the ``xa_err()`` of a failed ``__xa_store()``/``__xa_alloc()``.
    """

    def __init__(self, error: Error, value: T) -> None:
        super().__init__(error.to_errno() * -1, str(error).split(": ", 1)[-1])
        self.error: Error = error
        """The underlying error."""
        self.value: T = value
        """The value that was not stored."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.error, self.value))


class XArray(NoCopy, Generic[T]):
    """A sparse array of owned ``T`` (see the module documentation).

    Args:
        kind: :class:`AllocKind` (``Alloc`` or ``Alloc1``).
        item_type: the ``ForeignOwnable`` class of the entries (``KBox``,
            ``Arc``, ``ARef`` ...), or ``None`` / ``type(None)`` for unit
            entries. Python erases generics, so the class is given here.

    Raises:
        Error: ``EINVAL`` for a bad ``kind`` or an ``item_type`` that is
            not ForeignOwnable.

    The ``struct xarray`` lives in this object (``Opaque``), initialised by
    ``xa_init_flags()``; its nodes come from the kernel's radix-tree
    cache. Close it (or use ``with``) to release the entries.

    Rust: ``kernel::xarray::XArray<T>``

    Thread context: any thread may lock it; see :class:`Guard`.
    C: ``struct xarray`` (include/linux/xarray.h, lib/xarray.c).
    """

    def __init__(self, kind: AllocKind, item_type: type[T] | None) -> None:
        if not isinstance(kind, AllocKind):
            raise Error(code.EINVAL, f"kind must be an AllocKind, not {kind!r}")
        if item_type is None or item_type is type(None):
            self._unit = True
            self._type: Any = Unit
        else:
            for name in ("into_foreign", "from_foreign", "try_from_foreign", "borrow",
                         "borrow_mut"):
                if not callable(getattr(item_type, name, None)):
                    raise Error(code.EINVAL, f"{item_type!r} is not ForeignOwnable (no {name})")
            self._unit = False
            self._type = item_type
        self._kind = kind
        flags = kind.as_raw()
        self._xa: Opaque[Any] = Opaque.ffi_init(
            "struct xarray", lambda p: lib.xa_init_flags(p, flags)
        )
        self._ptr = self._xa.get()
        # _holder and _closed change only while xa_lock is held (and the GIL
        # serialises their reads and writes): no Python lock.
        self._holder: TaskIdentity | None = None  # the task holding the guard
        self._closed = False
        self._fin = leak_finalizer(self, f"XArray of {getattr(item_type, '__name__', 'None')}")

    @property
    def kind(self) -> AllocKind:
        """The :class:`AllocKind` the array was created with."""
        return self._kind

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def as_raw(self) -> Any:
        """The ``struct xarray *``.

        Safety: for C that follows the array's rules (entries are
        ``T.into_foreign()`` pointers, the lock is ``xa_lock``).
        """
        self._check()
        return self._ptr

    def _check(self) -> None:
        if self._closed:
            raise Error(code.EINVAL, "XArray used after close()")

    def is_empty(self) -> bool:
        """Whether the array has no entries (``xa_empty()``)."""
        self._check()
        # SAFETY: self._ptr is an initialised xarray, alive with self.
        return bool(lib.xa_empty(self._ptr))

    def _enter(self) -> TaskIdentity:
        me = task_identity()
        if self._closed:
            self._check()
        if self._holder is me:
            raise Error(code.EDEADLK, "XArray.lock(): this thread already holds the guard")
        return me

    def lock(self) -> Guard[T]:
        """Take the array's lock (``xa_lock()``); returns the :class:`Guard`.

        Spins (blocks) while another thread holds it.

        Raises:
            Error: ``EDEADLK`` if this thread already holds it; ``EINVAL``
                after :meth:`close`.

        Rust: ``XArray::lock``
        """
        me = self._enter()
        # SAFETY: self._ptr is an initialised xarray (alive with self).
        lib.xa_lock(self._ptr)
        return Guard(self, me)

    def try_lock(self) -> Guard[T] | None:
        """Take the lock if it is free (``xa_trylock()``); ``None`` if it is not.

        Raises:
            Error: ``EDEADLK`` if this thread already holds it; ``EINVAL``
                after :meth:`close`.

        Rust: ``XArray::try_lock``
        """
        me = self._enter()
        # SAFETY: as lock().
        if not lib.xa_trylock(self._ptr):
            return None
        return Guard(self, me)

    def close(self) -> None:
        """Release every entry (``from_foreign`` + drop) and ``xa_destroy()``. Idempotent.

        The entries are taken out under the lock and dropped after it is
        released, in index order.

        Raises:
            Error: ``EBUSY`` if this thread holds the guard.

        Rust: ``Drop for XArray``
        """
        if self._closed:
            return
        if self._holder is task_identity():
            raise Error(code.EBUSY, "XArray.close() while this thread holds its guard")
        lib.xa_lock(self._ptr)
        if self._closed:  # pragma: no cover - a concurrent close() won
            lib.xa_unlock(self._ptr)
            return
        self._closed = True
        ptrs = []
        try:
            index = ffi.new("unsigned long *", 0)
            # SAFETY: the lock is held; xa_find takes the RCU read lock itself and
            # returns entries that came from T.into_foreign().
            entry = lib.xa_find(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)
            while entry != ffi.NULL:
                # SAFETY: lock held; the entry came from T.into_foreign().
                _xa_erase_locked(self._ptr, index[0])
                ptrs.append(entry)
                entry = lib.xa_find_after(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)
        finally:
            lib.xa_unlock(self._ptr)
        self._fin.detach()
        try:
            for p in ptrs:
                drop_in_place(self._type.from_foreign(p))
        finally:
            # SAFETY: every entry was erased above; xa_destroy takes the lock itself.
            lib.xa_destroy(self._ptr)

    def __enter__(self) -> XArray[T]:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<XArray {self._kind.name} of {getattr(self._type, '__name__', '?')}{state}>"


class Guard(NoCopy, Generic[T]):
    """The locked :class:`XArray` (``xa_lock`` held); release with ``with`` or :meth:`release`.

    Must be released on the thread that took it (``EPERM`` otherwise: a
    spinlock is owned by its CPU/thread). Borrowed views from :meth:`get`
    and :meth:`get_mut` end at release.

    Rust: ``kernel::xarray::Guard<'a, T>``

    C: ``xa_lock()``/``xa_unlock()`` (include/linux/xarray.h).
    """

    __slots__ = ("__weakref__", "_borrows", "_fin", "_held", "_pinned", "_ptr", "_thread", "_xa")

    def __init__(self, xa: XArray[T], holder: TaskIdentity) -> None:
        # SAFETY (caller): ``holder``, the calling task, has just taken xa_lock.
        # (xa_lock is held: close() sets _closed only under it)
        xa._holder = holder
        if xa._closed:  # closed while we waited for the lock
            xa._holder = None
            lib.xa_unlock(xa._ptr)
            raise Error(code.EINVAL, "XArray used after close()")
        self._xa = xa
        self._ptr = xa._ptr
        self._thread = holder
        self._held = True
        # Weak: a borrow whose views are all gone has ended (as Rust's borrow
        # ends at its last use); the ones still alive end at release().
        # (Made by the first get.)
        self._borrows: list[weakref.ref[ForeignBorrow[Any]]] | None = None
        # Strong: borrows whose view is the shared object itself (ARef,
        # RcuBox, unit entries) cannot tell when their last view goes; they
        # last until release(), as the Rust borrow of the guard does.
        self._pinned: list[ForeignBorrow[Any]] | None = None
        # A guard dropped while held is reported and released on its task (as
        # lock guards: the shared ThreadBoundGuard rules), never left spinning
        # every other locker for ever.
        fin = self._fin = leak_finalizer(self, "XArray guard (xa_lock still held)")
        # holder.hold(self), inline: once per lock. The Finalizer is a weakref
        # of the guard: the task's record of it (released if the task ends).
        holder.held[id(self)] = fin

    def __del__(self) -> None:
        if not getattr(self, "_held", False):
            return
        # Reported as the lock guards are (ThreadBoundGuard), unless the leak
        # net already did (a cycle: the gc runs weakref callbacks first).
        if self._fin.detach() is not None:
            lockdep._warn_leak(
                "XArray guard was garbage collected with xa_lock held (use 'with' or release())"
            )
        owner = self._thread
        if owner is task_identity():
            self._unlock()
        else:
            owner.defer_release(self)

    # -- state -------------------------------------------------------------
    def _check(self) -> None:
        if not self._held:
            raise Error(code.EINVAL, "XArray guard used after release")
        try:
            me = TASK_TLS.ident  # (the holder has one: a thread without one is not it)
        except AttributeError:
            me = None
        if me is not self._thread:
            raise Error(code.EPERM, "XArray guard used on another thread than its holder's")

    def release(self) -> None:
        """End every borrow taken through this guard and unlock (``xa_unlock()``).

        Raises:
            Error: ``EPERM`` on another thread; ``EINVAL`` if already released.
        """
        self._check()
        self._unlock()

    def _unlock(self) -> None:
        # (Called on the holder's task, or as it ends; no Python code runs
        # between the tests of the callers and the C unlock.)
        self._thread.held.pop(id(self), None)  # unhold, inline
        borrows, pinned = self._borrows, self._pinned
        if borrows:
            self._borrows = None
            for ref in borrows:
                b = ref()
                if b is not None:
                    b.release()
        if pinned:
            self._pinned = None
            for b in pinned:
                b.release()
        self._held = False
        self._fin.detach()
        self._fin = DETACHED  # (the detached one is freed now, not called back at our end)
        self._xa._holder = None
        # SAFETY: this thread holds the lock (checked by the callers).
        lib.xa_unlock(self._ptr)

    def _task_exit(self) -> None:
        """Release on the holding task (it is ending, or it collected the guard late)."""
        if self._held:
            self._unlock()

    @property
    def held(self) -> bool:
        """Whether the guard still holds the lock."""
        return self._held

    def __enter__(self) -> Guard[T]:
        # _check()'s test inline (a thread without an identity is not the
        # holder); _check() only to raise. The same in every hot method.
        if not (self._held and getattr(TASK_TLS, "ident", None) is self._thread):
            self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._held:  # release(), inline
            if getattr(TASK_TLS, "ident", None) is not self._thread:
                self._check()
            self._unlock()

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _index(index: object) -> int:
        return arg_int(index, "XArray index", 0, ULONG_MAX)

    def _borrowed(self, ptr: Any) -> bool:
        """Whether the entry ``ptr`` has a live borrow (through any guard or none)."""
        return REGISTRY.is_borrowed(addr_of_ptr(ptr))  # (ptr: an xa_load() void *)

    def _check_value(self, value: object) -> None:
        xa = self._xa
        if xa._unit:
            if value is not None:
                raise Error(code.EINVAL, f"this XArray holds None, not {type(value).__name__}")
        elif not isinstance(value, xa._type):
            raise Error(
                code.EINVAL,
                f"this XArray holds {xa._type.__name__}, not {type(value).__name__}",
            )

    def _into(self, value: T) -> Any:
        """``into_foreign`` checked for the XArray's rules (4-byte aligned, non-NULL)."""
        try:
            ptr = self._xa._type.into_foreign(value)
        except Error as e:
            raise StoreError(e, value) from None
        if ptr == ffi.NULL or addr_of(ptr) & 3:
            back = self._xa._type.from_foreign(ptr) if ptr != ffi.NULL else value
            raise StoreError(
                Error(code.EINVAL, "XArray entries must be non-NULL and 4-byte aligned"), back
            )
        return ptr

    def _load(self, index: int, mutable: bool) -> Any:
        if type(index) is not int or not 0 <= index <= ULONG_MAX:  # (else arg_int returns it)
            index = self._index(index)  # user code (__index__) runs before the checks
        if not (self._held and getattr(TASK_TLS, "ident", None) is self._thread):
            self._check()
        # SAFETY: the lock is held; xa_load takes the RCU read lock itself.
        ptr = lib.xa_load(self._ptr, index)
        if ptr == ffi.NULL:
            return None
        kind = self._xa._type
        borrow = kind.borrow_mut(ptr) if mutable else kind.borrow(ptr)
        if getattr(borrow, "view_holds_borrow", True):
            borrows = self._borrows
            if borrows is None:
                borrows = self._borrows = []
            elif len(borrows) >= _PRUNE_BORROWS:  # forget ended ones now and then
                borrows = self._borrows = [
                    r for r in borrows if (b := r()) is not None and b.is_live()
                ]
            borrows.append(weakref.ref(borrow))
        elif self._pinned is None:
            self._pinned = [borrow]
        else:
            self._pinned.append(borrow)
        return borrow.get()

    # -- the API -------------------------------------------------------------
    def get(self, index: int) -> Any:
        """A shared borrow of the entry at ``index`` (``T.borrow()``'s view), or ``None``.

        Valid until the guard is released.

        Raises:
            Error: ``EINVAL`` for a bad index or a released guard;
                ``EBUSY`` if the entry is borrowed mutably.

        Rust: ``Guard::get``
        """
        return self._load(index, False)

    def get_mut(self, index: int) -> Any:
        """An exclusive borrow of the entry at ``index`` (``T.borrow_mut()``'s view), or ``None``.

        Raises:
            Error: as :meth:`get`; ``EBUSY`` if the entry is borrowed at all.

        Rust: ``Guard::get_mut``
        """
        return self._load(index, True)

    def store(self, index: int, value: T, gfp: Flags) -> T | None:
        """Store ``value`` at ``index`` (``__xa_store()``); returns the previous entry.

        The array owns ``value`` from now on; the previous entry (if any)
        is the caller's (close it). With a sleeping ``gfp`` the C drops
        and retakes the lock to allocate.

        Raises:
            StoreError: carrying ``value`` back, with ``ENOMEM`` (allocation
                failed), ``EINVAL`` (bad index, value of another type, bad
                flags) or ``EBUSY`` (the current entry is borrowed: through
                this guard or any other live borrow of it).
            Error: ``EINVAL``/``EPERM`` for a released or foreign guard.

        Rust: ``Guard::store``
        """
        xa = self._xa
        try:
            if type(index) is not int or not 0 <= index <= ULONG_MAX:  # (else arg_int returns it)
                index = self._index(index)  # user code (__index__) runs before the checks
            if not (value is None if xa._unit else isinstance(value, xa._type)):
                self._check_value(value)  # (raises)
            if not isinstance(gfp, Flags):
                raise Error(code.EINVAL, f"gfp must be pyforlinux.alloc.Flags, not {gfp!r}")
        except Error as e:
            raise StoreError(e, value) from None
        if not (self._held and getattr(TASK_TLS, "ident", None) is self._thread):
            self._check()
        ptr = self._into(value)  # may run the value's code: check everything after it
        try:
            if not (self._held and getattr(TASK_TLS, "ident", None) is self._thread):
                self._check()
            # No live borrow anywhere: the current entry is not borrowed (no
            # need to find it); else look it up.
            if REGISTRY.live_borrows:
                # SAFETY: the lock is held; only compared, never dereferenced.
                cur = lib.xa_load(self._ptr, index)
                if cur != ffi.NULL and self._borrowed(cur):
                    raise Error(code.EBUSY, f"entry {index} is borrowed")
        except Error as e:
            raise StoreError(e, xa._type.from_foreign(ptr)) from None
        # SAFETY: the lock is held (checked, no Python since); ptr came from
        # T.into_foreign().
        old = _xa_store_locked(self._ptr, index, ptr, gfp._raw)  # (gfp.as_raw())
        if lib.xa_is_err(old):
            back = xa._type.from_foreign(ptr)
            raise StoreError(Error(-int(lib.xa_err(old))), back)
        if xa._unit:
            if old != ffi.NULL:
                Unit.from_foreign(old)
            return None
        if old == ffi.NULL:
            return None
        # SAFETY: old came from T.into_foreign() (normal API: no zero entries).
        return xa._type.from_foreign(old)  # type: ignore[no-any-return]

    def remove(self, index: int) -> T | None:
        """Remove and return the entry at ``index`` (``__xa_erase()``), or ``None``.

        Raises:
            Error: ``EBUSY`` if the entry is borrowed through this guard;
                ``EINVAL`` for a bad index or a released guard.

        Rust: ``Guard::remove``
        """
        index = self._index(index)  # user code (__index__) runs before the checks
        self._check()
        # SAFETY: the lock is held; only compared, never dereferenced.
        cur = lib.xa_load(self._ptr, index)
        if cur == ffi.NULL:
            return None
        if self._borrowed(cur):
            raise Error(code.EBUSY, f"entry {index} is borrowed")
        # SAFETY: the lock is held.
        ptr = _xa_erase_locked(self._ptr, index)
        if self._xa._unit:
            Unit.try_from_foreign(ptr)
            return None
        return self._xa._type.try_from_foreign(ptr)  # type: ignore[no-any-return]

    def alloc(self, value: T, gfp: Flags, min: int = 0, max: int = U32_MAX) -> int:
        """Store ``value`` at the lowest free index in ``min..max`` (inclusive); return it.

        ``__xa_alloc()`` with ``XA_LIMIT(min, max)``. An ``Alloc1`` array
        never returns 0.

        Raises:
            StoreError: carrying ``value`` back, with ``EBUSY`` (no free
                index in the range), ``ENOMEM``, or ``EINVAL`` (empty range,
                bounds outside ``0..U32_MAX``, value of another type).

        C: ``__xa_alloc``. Rust: not in ``kernel::xarray`` yet (the C API).
        """
        try:
            min = arg_int(min, "alloc bound min", 0, U32_MAX)
            max = arg_int(max, "alloc bound max", 0, U32_MAX)
            if min > max:
                raise Error(code.EINVAL, f"empty alloc range {min}..{max}")
            self._check_value(value)
            if not isinstance(gfp, Flags):
                raise Error(code.EINVAL, f"gfp must be pyforlinux.alloc.Flags, not {gfp!r}")
        except Error as e:
            raise StoreError(e, value) from None
        self._check()
        ptr = self._into(value)  # may run the value's code: check after it
        ident = ffi.new("u32 *")
        limit = ffi.new("struct xa_limit *", {"min": min, "max": max})
        try:
            self._check()
        except Error as e:
            raise StoreError(e, self._xa._type.from_foreign(ptr)) from None
        # SAFETY: the lock is held; ptr came from T.into_foreign().
        ret = _xa_alloc_locked(self._ptr, ident, ptr, limit[0], gfp.as_raw())
        if ret < 0:
            back = self._xa._type.from_foreign(ptr)
            raise StoreError(Error(-int(ret)), back)
        return int(ident[0])

    def indices(self) -> list[int]:
        """The indices of every entry, ascending (no borrows taken).

        Raises:
            Error: ``EINVAL``/``EPERM`` for a released or foreign guard.
        """
        self._check()
        out = []
        index = ffi.new("unsigned long *", 0)
        # SAFETY: the lock is held; xa_find takes the RCU read lock itself and
        # returns entries that came from T.into_foreign().
        entry = lib.xa_find(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)
        while entry != ffi.NULL:
            out.append(int(index[0]))
            entry = lib.xa_find_after(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)
        return out

    def iter(self) -> Iterator[tuple[int, Any]]:
        """``(index, shared borrow)`` of every entry in index order (``xa_for_each``).

        Uses the real ``xa_find``/``xa_find_after``. The borrows last until
        the guard is released (so those entries cannot be removed or
        replaced through this guard meanwhile; iterate :meth:`indices` to
        remove while iterating).

        Raises:
            Error: ``EINVAL``/``EPERM`` for a released or foreign guard.
        """
        self._check()
        index = ffi.new("unsigned long *", 0)
        # SAFETY: the lock is held; xa_find takes the RCU read lock itself and
        # returns entries that came from T.into_foreign().
        entry = lib.xa_find(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)
        while entry != ffi.NULL:
            self._check()
            i = int(index[0])
            yield i, self._load(i, False)
            self._check()
            entry = lib.xa_find_after(self._ptr, index, ULONG_MAX, lib.XA_PRESENT)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self.iter()

    def __repr__(self) -> str:
        return f"<XArray Guard {'held' if self._held else 'released'}>"
