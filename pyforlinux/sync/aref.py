"""Owned references to always-reference-counted objects.

Mirrors ``rust/kernel/sync/aref.rs`` (formerly in ``types.rs``): a type
that is :class:`AlwaysRefCounted` keeps its own count (a C ``kref``,
``refcount_t``, ``get_task_struct``/``put_task_struct`` ...) and
:class:`ARef` owns exactly one increment of it.

Rust: rust/kernel/sync/aref.rs
"""

from __future__ import annotations

import threading
import weakref
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pyforlinux._bindings import ffi
from pyforlinux._owner import REGISTRY, ForeignBorrow, NoCopy, addr_of, leak_finalizer
from pyforlinux.error import Error, code

__all__ = ["ARef", "AlwaysRefCounted"]


@runtime_checkable
class AlwaysRefCounted(Protocol):
    """A type whose every instance is reference counted by itself.

    Implementers guarantee that an increment keeps the object alive until
    the matching decrement, and that :meth:`dec_ref` frees it when the
    count reaches zero (after which it is never touched again).

    Optionally, ``as_ptr()`` returning the C object's non-NULL address
    lets :meth:`ARef.into_foreign` hand that address to C.

    Rust: ``kernel::sync::aref::AlwaysRefCounted``
    """

    def inc_ref(self) -> None:
        """Increment the reference count (e.g. ``kref_get``, ``refcount_inc``)."""
        ...

    def dec_ref(self) -> None:
        """Decrement the reference count, freeing the object at zero.

        Safety: the caller must own an increment, and must not use the
        object afterwards unless it owns another one.
        """
        ...


T = TypeVar("T", bound=AlwaysRefCounted)

_lock = threading.Lock()


class ARef(NoCopy, Generic[T]):
    """An owned reference: exactly one increment of ``T``'s reference count.

    - :meth:`from_raw` adopts an increment the caller already owns;
      :meth:`new` (Rust's ``From<&T>``) takes a new one;
    - :meth:`clone` takes another increment (a new ``ARef``);
    - :meth:`close` (or leaving a ``with`` block) gives it back
      (``dec_ref``) exactly once; a second ``close()`` raises
      ``Error(EINVAL)`` rather than decrementing twice;
    - :meth:`into_raw` hands the increment back to the caller.

    Every access after the reference was released or moved raises
    ``Error(EINVAL)``. A forgotten ``ARef`` is reported by a
    :class:`~pyforlinux.alloc.LeakWarning` (its increment stays taken).

    Thread context: any; ``inc_ref``/``dec_ref`` are whatever ``T`` does.

    Rust: ``kernel::sync::aref::ARef<T>``
    """

    __slots__ = ("__weakref__", "_fin", "_obj")
    _obj: T | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        """Not constructible: use :meth:`new` or :meth:`from_raw`."""
        raise TypeError("use ARef.new() or ARef.from_raw()")

    @classmethod
    def _adopt(cls, obj: T) -> ARef[T]:
        if obj is None:
            raise Error(code.EINVAL, "ARef of None")
        self: ARef[T] = object.__new__(cls)
        self._obj = obj
        self._fin = leak_finalizer(self, f"ARef<{type(obj).__name__}>")
        return self

    @classmethod
    def from_raw(cls, obj: T) -> ARef[T]:
        """Adopt one increment of ``obj``'s count that the caller owns.

        Safety: the caller must own that increment and give it up.

        Rust: ``ARef::from_raw``
        """
        return cls._adopt(obj)

    @classmethod
    def new(cls, obj: T) -> ARef[T]:
        """Take a new increment of ``obj`` (``inc_ref``) and own it.

        Rust: ``impl From<&T> for ARef<T>``
        """
        obj.inc_ref()
        return cls._adopt(obj)

    def _check(self) -> T:
        obj = self._obj
        if obj is None:
            raise Error(code.EINVAL, "ARef used after it was released or moved")
        return obj

    def _take(self) -> T:
        with _lock:
            obj = self._check()
            self._obj = None
        self._fin.detach()
        return obj

    def deref(self) -> T:
        """The object (Rust: ``Deref``).

        Raises:
            Error: ``EINVAL`` if released or moved.
        """
        return self._check()

    def clone(self) -> ARef[T]:
        """Another ``ARef`` to the same object (``inc_ref``). Rust: ``Clone``."""
        return ARef.new(self._check())

    def into_raw(self) -> T:
        """Give the increment back to the caller; returns the object.

        Rust: ``ARef::into_raw``
        """
        return self._take()

    @property
    def closed(self) -> bool:
        """Whether the reference was released or moved."""
        return self._obj is None

    def close(self) -> None:
        """Give the increment back (``dec_ref``), exactly once (Rust: ``drop``).

        Raises:
            Error: ``EINVAL`` if already released or moved.
        """
        self._take().dec_ref()

    def __enter__(self) -> ARef[T]:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._obj is not None:
            self.close()

    def __repr__(self) -> str:
        obj = self._obj
        return f"<ARef {'released' if obj is None else type(obj).__name__}>"

    # -- ForeignOwnable

    def into_foreign(self) -> Any:
        """Hand the increment to C; returns a non-NULL aligned ``void *``.

        The pointer is ``obj.as_ptr()`` when ``T`` has it (the C object),
        else the address of the Python-side record (never dereferenced by
        pyforlinux; C must treat it as opaque). Several ``into_foreign`` of
        one object are several ownerships.

        Raises:
            Error: ``EINVAL`` if released or moved, or if ``as_ptr()``
                returns NULL; ``EEXIST`` if that address is foreign-owned
                by another kind of owner (the ``ARef`` is then kept).

        Rust: ``ForeignOwnable::into_foreign`` for ``ARef<T>``
        """
        obj = self._take()
        try:
            ptr = _foreign_ptr(obj)
            REGISTRY.register(addr_of(ptr), ARef, obj, shareable=True)
        except BaseException:
            # Not handed out: this ARef keeps its increment.
            self._obj = obj
            self._fin = leak_finalizer(self, f"ARef<{type(obj).__name__}>")
            raise
        return ptr

    @classmethod
    def from_foreign(cls, ptr: Any) -> ARef[Any]:
        """Take back one increment handed to C by :meth:`into_foreign`.

        Raises:
            Error: ``ENOENT`` (not foreign-owned), ``EINVAL`` (NULL, other
                type), ``EBUSY`` (the last ownership is borrowed).
        """
        obj = REGISTRY.take(addr_of(ptr), ARef)
        _forget_ptr(obj, ptr)
        return cls._adopt(obj)

    @classmethod
    def try_from_foreign(cls, ptr: Any) -> ARef[Any] | None:
        """:meth:`from_foreign`, or ``None`` for NULL."""
        if ptr == ffi.NULL:
            return None
        return cls.from_foreign(ptr)

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[Any]:
        """Borrow the object (Rust: ``&T``); the view is the object itself."""
        addr = addr_of(ptr)
        obj = REGISTRY.borrow(addr, ARef, False)
        return ForeignBorrow(REGISTRY, addr, False, lambda _b: obj, view_holds_borrow=False)

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[Any]:
        """Borrow exclusively (as Rust, still only ``&T``: the count is shared)."""
        addr = addr_of(ptr)
        obj = REGISTRY.borrow(addr, ARef, True)
        return ForeignBorrow(REGISTRY, addr, True, lambda _b: obj, view_holds_borrow=False)


# Objects without a C address are handed to C as the address of a small
# Python-owned cell, kept alive here while any foreign ownership exists.
_cells: dict[int, tuple[Any, int]] = {}


def _foreign_ptr(obj: Any) -> Any:
    as_ptr = getattr(obj, "as_ptr", None)
    if as_ptr is not None:
        ptr = ffi.cast("void *", as_ptr())
        if ptr == ffi.NULL:
            raise Error(code.EINVAL, f"{type(obj).__name__}.as_ptr() is NULL")
        return ptr
    with _lock:
        cell, n = _cells.get(id(obj), (None, 0))
        if cell is None:
            cell = ffi.new("long long *")
        _cells[id(obj)] = (cell, n + 1)
    return ffi.cast("void *", cell)


def _forget_ptr(obj: Any, ptr: Any) -> None:
    with _lock:
        entry = _cells.get(id(obj))
        if entry is None:
            return
        cell, n = entry
        if n <= 1:
            del _cells[id(obj)]
        else:
            _cells[id(obj)] = (cell, n - 1)
