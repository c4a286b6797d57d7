"""A reference-counted pointer over a real C ``refcount_t``.

Mirrors ``rust/kernel/sync/arc.rs``: :class:`Arc` shares a value between
owners and drops it when the last one goes; the count is a C
``refcount_t`` allocated with ``kmalloc`` and driven by the kernel's own
``refcount_set``/``refcount_inc``/``refcount_dec_and_test``
(include/linux/refcount.h, lib/refcount.c), so its semantics are the
kernel's, saturation included: a count pushed past ``REFCOUNT_MAX``
saturates at ``REFCOUNT_SATURATED`` (the kernel WARNs once, "refcount_t:
saturated; leaking memory"), stays there, and the object is never freed.

The value ``T`` is a Python object. When the count reaches zero it is
*dropped*: its ``close()`` is called if it has one (Rust's ``Drop``), then
the ``refcount_t`` is freed.

- :class:`Arc` owns one increment: :meth:`Arc.clone` takes another,
  :meth:`Arc.close` gives it back exactly once (a second ``close()``
  raises ``Error(EINVAL)``).
- :class:`ArcBorrow` is a borrowed reference (Rust ``ArcBorrow<'a, T>``):
  valid while what it was borrowed from lives, checked on every use.
- :class:`UniqueArc` is an ``Arc`` known to have a count of 1, so it may
  be mutated and turned into an ``Arc`` (or a ``ListArc``).

Thread context: any thread; the count is atomic in C. One handle must not
be closed from two threads at once (the second gets ``EINVAL``).

C header: include/linux/refcount.h. Rust: rust/kernel/sync/arc.rs
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

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
from pyforlinux.alloc import Flags, Kmalloc
from pyforlinux.error import Error, code

__all__ = ["REFCOUNT_MAX", "REFCOUNT_SATURATED", "Arc", "ArcBorrow", "UniqueArc"]

T = TypeVar("T")

REFCOUNT_MAX: int = int(lib.REFCOUNT_MAX)
"""Largest count ``refcount_inc`` reaches before saturating (``INT_MAX``)."""
REFCOUNT_SATURATED: int = int(ffi.cast("unsigned int", lib.REFCOUNT_SATURATED))
"""The saturated count, as ``refcount_read`` returns it (``0xc0000000``)."""

_lock = threading.Lock()
_UNSET: Any = object()


class _ArcInner(NoCopy, Generic[T]):
    """The shared part: the C ``refcount_t *`` and the value."""

    __slots__ = ("addr", "data", "ptr")

    def __init__(self, ptr: Any, data: T) -> None:
        """Own ``ptr`` (a ``refcount_t *`` set to 1) and ``data``."""
        self.ptr: Any = ptr  # ``refcount_t *``; None once freed
        self.addr = addr_of(ptr)
        self.data: Any = data  # T; None once dropped

    def alive(self) -> bool:
        """Whether the object was not freed yet."""
        return self.ptr is not None

    def release(self) -> bool:
        """One ``refcount_dec_and_test``; at zero, drop the value and free.

        Returns whether the object was freed.
        """
        # SAFETY: the caller owned an increment, so the count is >= 1 and
        # ptr is live; after a non-zero result it is never touched again.
        if not lib.refcount_dec_and_test(self.ptr):
            return False
        ptr, self.ptr = self.ptr, None
        data, self.data = self.data, None
        try:
            if data is not _UNSET:
                drop_in_place(data)
        finally:
            Kmalloc.free(ptr)
        return True


def _new_inner(data: Any, flags: Flags) -> _ArcInner[Any]:
    ptr = ffi.cast("refcount_t *", Kmalloc.alloc(ffi.sizeof("refcount_t"), flags))
    # SAFETY: a fresh, exclusively owned refcount_t; the count starts at 1,
    # owned by the first handle.
    lib.refcount_set(ptr, 1)
    return _ArcInner(ptr, data)


class Arc(NoCopy, Generic[T]):
    """A reference-counted pointer to a ``T`` (one owned increment).

    Raises ``Error(EINVAL)`` on any use after :meth:`close` or a move
    (:meth:`into_raw`, :meth:`into_foreign`, :meth:`into_unique_or_drop`).
    A handle garbage collected without ``close()`` is reported by a
    :class:`~pyforlinux.alloc.LeakWarning`; its increment stays taken.

    Rust: ``kernel::sync::Arc<T>``
    """

    __slots__ = ("__weakref__", "_fin", "_inner")
    _inner: _ArcInner[T] | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        """Not constructible: use :meth:`new`."""
        raise TypeError("use Arc.new(value, flags)")

    @classmethod
    def _adopt(cls, inner: _ArcInner[T]) -> Arc[T]:
        self: Arc[T] = object.__new__(cls)
        self._inner = inner
        self._fin = leak_finalizer(self, OwnerName(("Arc", type(inner.data).__name__, inner.addr)))
        return self

    @classmethod
    def new(cls, value: T, flags: Flags) -> Arc[T]:
        """A new ``Arc`` holding ``value``, count 1.

        Raises:
            AllocError: ``ENOMEM`` if the ``refcount_t`` cannot be allocated
                (``value`` is then not dropped: it stays the caller's).

        Rust: ``Arc::new(contents, flags)``
        """
        return cls._adopt(_new_inner(value, flags))

    @classmethod
    def from_unique(cls, unique: UniqueArc[T]) -> Arc[T]:
        """Turn a :class:`UniqueArc` into an ``Arc`` (the unique one is moved).

        Rust: ``impl From<UniqueArc<T>> for Arc<T>``
        """
        return unique.into_arc()

    def _check(self) -> _ArcInner[T]:
        inner = self._inner
        if inner is None:
            raise Error(code.EINVAL, "Arc used after it was released or moved")
        return inner

    def _take(self) -> _ArcInner[T]:
        with _lock:
            inner = self._check()
            self._inner = None
        self._fin.detach()
        return inner

    # -- access

    def deref(self) -> T:
        """The shared value (Rust: ``Deref``).

        Raises:
            Error: ``EINVAL`` if released or moved.
        """
        data = self._check().data
        if data is _UNSET:
            raise Error(code.EINVAL, "Arc value was never written")
        return data  # type: ignore[no-any-return]

    def as_arc_borrow(self) -> ArcBorrow[T]:
        """An :class:`ArcBorrow`, valid while this handle is open.

        Rust: ``Arc::as_arc_borrow``
        """
        inner = self._check()
        return ArcBorrow(inner, lambda: self._inner is inner)

    def clone(self) -> Arc[T]:
        """Another handle: ``refcount_inc`` (saturates, never overflows).

        Rust: ``impl Clone for Arc<T>``
        """
        inner = self._check()
        # SAFETY: this handle owns an increment, so the count is >= 1 and
        # the refcount_t is live; refcount_inc saturates instead of wrapping.
        lib.refcount_inc(inner.ptr)
        return Arc._adopt(inner)

    def ptr_eq(self, other: Arc[Any]) -> bool:
        """Whether both handles point at the same object. Rust: ``Arc::ptr_eq``.

        Usable as ``Arc.ptr_eq(a, b)``.
        """
        return self._check() is other._check()

    def refcount(self) -> int:
        """The current count (``refcount_read``); racy, for tests and debugging."""
        return int(lib.refcount_read(self._check().ptr))

    @property
    def closed(self) -> bool:
        """Whether this handle was released or moved."""
        return self._inner is None

    # -- release

    def close(self) -> None:
        """Give the increment back; at zero, drop the value and free the count.

        Raises:
            Error: ``EINVAL`` if this handle was already released or moved.

        Rust: ``impl Drop for Arc<T>``
        """
        self._take().release()

    def into_unique_or_drop(self) -> UniqueArc[T] | None:
        """Release this handle; if it was the last, return the object as a
        :class:`UniqueArc` instead of dropping it (else ``None``).

        Usable as ``Arc.into_unique_or_drop(arc)``.

        Rust: ``Arc::into_unique_or_drop``
        """
        inner = self._take()
        # SAFETY: we own an increment; a non-zero result means another
        # owner may free the object at any time, so it is not touched again.
        if lib.refcount_dec_and_test(inner.ptr):
            lib.refcount_set(inner.ptr, 1)
            return UniqueArc._adopt(inner)
        return None

    def into_raw(self) -> Any:
        """Give up the handle without decrementing; returns ``void *``.

        The same as :meth:`into_foreign`: take the increment back with
        :meth:`from_raw` (or :meth:`from_foreign`), exactly once per call.

        Rust: ``Arc::into_raw``
        """
        return self.into_foreign()

    @classmethod
    def from_raw(cls, ptr: Any) -> Arc[Any]:
        """Adopt an increment handed out by :meth:`into_raw`.

        Raises:
            Error: ``ENOENT`` if no increment was handed out at ``ptr``.

        Rust: ``Arc::from_raw``
        """
        return cls.from_foreign(ptr)

    def __enter__(self) -> Arc[T]:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._inner is not None:
            self.close()

    def __repr__(self) -> str:
        inner = self._inner
        if inner is None:
            return "<Arc released>"
        return f"<Arc<{type(inner.data).__name__}> at {inner.addr:#x}>"

    # -- ForeignOwnable

    def into_foreign(self) -> Any:
        """Hand this increment to C: returns the ``refcount_t *`` as ``void *``.

        Each call is one ownership; get each back with :meth:`from_foreign`.

        Raises:
            Error: ``EINVAL`` if released or moved.

        Rust: ``ForeignOwnable::into_foreign`` for ``Arc<T>``
        """
        inner = self._take()
        REGISTRY.register(inner.addr, Arc, inner, shareable=True)
        return ffi.cast("void *", inner.ptr)

    @classmethod
    def from_foreign(cls, ptr: Any) -> Arc[Any]:
        """Take back one increment handed to C by :meth:`into_foreign`.

        Raises:
            Error: ``ENOENT`` (not foreign-owned, or every ownership already
                taken back), ``EINVAL`` (NULL, another type's pointer),
                ``EBUSY`` (the last ownership is borrowed).

        Rust: ``ForeignOwnable::from_foreign``
        """
        inner: _ArcInner[Any] = REGISTRY.take(addr_of(ptr), Arc)
        return cls._adopt(inner)

    @classmethod
    def try_from_foreign(cls, ptr: Any) -> Arc[Any] | None:
        """:meth:`from_foreign`, or ``None`` for NULL."""
        if ptr == ffi.NULL:
            return None
        return cls.from_foreign(ptr)

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[ArcBorrow[Any]]:
        """Borrow a foreign-owned ``Arc``: the view is an :class:`ArcBorrow`.

        Raises:
            Error: as :meth:`from_foreign`; ``EBUSY`` during a ``borrow_mut``.

        Rust: ``ForeignOwnable::borrow`` (``ArcBorrow<'a, T>``)
        """
        return cls._borrow(ptr, False)

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[ArcBorrow[Any]]:
        """Borrow exclusively; as in Rust the view is still an ``ArcBorrow``."""
        return cls._borrow(ptr, True)

    @classmethod
    def _borrow(cls, ptr: Any, mutable: bool) -> ForeignBorrow[ArcBorrow[Any]]:
        addr = addr_of(ptr)
        inner: _ArcInner[Any] = REGISTRY.borrow(addr, Arc, mutable)
        return ForeignBorrow(REGISTRY, addr, mutable, lambda b: ArcBorrow(inner, b.is_live))


class ArcBorrow(NoCopy, Generic[T]):
    """A borrowed reference to an :class:`Arc`'s object; no increment owned.

    Valid while what it was borrowed from lives (the ``Arc`` handle, the
    foreign borrow, the list position...): every use checks it and raises
    ``Error(EINVAL)`` afterwards, never touching freed memory.

    Rust: ``kernel::sync::ArcBorrow<'a, T>``
    """

    __slots__ = ("_alive", "_inner")

    def __init__(self, inner: _ArcInner[T], alive: Callable[[], bool]) -> None:
        """Internal: use :meth:`Arc.as_arc_borrow` or a borrow."""
        self._inner = inner
        self._alive = alive

    @classmethod
    def from_raw(cls, ptr: Any) -> ArcBorrow[Any]:
        """Borrow an ``Arc`` handed out by :meth:`Arc.into_raw`, without taking it.

        Valid while that raw increment is outstanding (until ``from_raw``
        takes it back).

        Raises:
            Error: ``ENOENT`` if no ``Arc`` increment is outstanding at ``ptr``.

        Rust: ``ArcBorrow::from_raw``
        """
        addr = addr_of(ptr)
        inner: _ArcInner[Any] = REGISTRY.peek(addr, Arc)
        return ArcBorrow(inner, lambda: REGISTRY.contains(addr))

    def _check(self) -> _ArcInner[T]:
        if not self._alive() or not self._inner.alive():
            raise Error(code.EINVAL, "ArcBorrow used after the borrow ended")
        return self._inner

    def is_valid(self) -> bool:
        """Whether the borrow is still usable."""
        return self._alive() and self._inner.alive()

    def deref(self) -> T:
        """The object (Rust: ``Deref``). Raises ``Error(EINVAL)`` once invalid."""
        return self._check().data  # type: ignore[no-any-return]

    def clone_arc(self) -> Arc[T]:
        """A new :class:`Arc` to the object (``refcount_inc``).

        Rust: ``impl From<ArcBorrow<'_, T>> for Arc<T>``
        """
        inner = self._check()
        lib.refcount_inc(inner.ptr)
        return Arc._adopt(inner)

    def ptr_eq(self, other: Arc[Any] | ArcBorrow[Any]) -> bool:
        """Whether both refer to the same object."""
        theirs = other._check()
        return self._check() is theirs

    def __repr__(self) -> str:
        return f"<ArcBorrow {'valid' if self.is_valid() else 'ended'}>"


class UniqueArc(NoCopy, Generic[T]):
    """An :class:`Arc` known to be the only reference (count 1).

    Its value may be replaced (:meth:`set`), and it converts into an
    ``Arc`` (:meth:`into_arc`) or a ``ListArc``. :meth:`new_uninit`
    allocates before the value exists (:meth:`write` it later, e.g. after
    leaving an atomic context).

    Rust: ``kernel::sync::UniqueArc<T>``
    """

    __slots__ = ("__weakref__", "_fin", "_inner")
    _inner: _ArcInner[T] | None
    _fin: weakref.finalize[..., Any]

    def __init__(self) -> None:
        """Not constructible: use :meth:`new` or :meth:`new_uninit`."""
        raise TypeError("use UniqueArc.new(value, flags)")

    @classmethod
    def _adopt(cls, inner: _ArcInner[T]) -> UniqueArc[T]:
        self: UniqueArc[T] = object.__new__(cls)
        self._inner = inner
        self._fin = leak_finalizer(self, f"UniqueArc at {inner.addr:#x}")
        return self

    @classmethod
    def new(cls, value: T, flags: Flags) -> UniqueArc[T]:
        """A new unique reference to ``value``.

        Raises:
            AllocError: ``ENOMEM``.

        Rust: ``UniqueArc::new``
        """
        return cls._adopt(_new_inner(value, flags))

    @classmethod
    def new_uninit(cls, flags: Flags) -> UniqueArc[Any]:
        """Allocate now, :meth:`write` the value later.

        Raises:
            AllocError: ``ENOMEM``.

        Rust: ``UniqueArc::new_uninit``
        """
        return cls._adopt(_new_inner(_UNSET, flags))

    def _check(self) -> _ArcInner[T]:
        inner = self._inner
        if inner is None:
            raise Error(code.EINVAL, "UniqueArc used after it was released or moved")
        return inner

    def _take(self) -> _ArcInner[T]:
        with _lock:
            inner = self._check()
            self._inner = None
        self._fin.detach()
        return inner

    def is_init(self) -> bool:
        """Whether the value was written."""
        return self._check().data is not _UNSET

    def deref(self) -> T:
        """The value. Raises ``Error(EINVAL)`` if released, moved or unwritten."""
        data = self._check().data
        if data is _UNSET:
            raise Error(code.EINVAL, "UniqueArc value was never written")
        return data  # type: ignore[no-any-return]

    def set(self, value: T) -> None:
        """Replace the value (Rust: ``DerefMut``); the old one is not dropped."""
        self._check().data = value

    def write(self, value: T) -> UniqueArc[T]:
        """Initialise a :meth:`new_uninit` reference; returns it.

        Raises:
            Error: ``EINVAL`` if already written.

        Rust: ``UniqueArc<MaybeUninit<T>>::write``
        """
        inner = self._check()
        if inner.data is not _UNSET:
            raise Error(code.EINVAL, "UniqueArc value already written")
        inner.data = value
        return self

    def refcount(self) -> int:
        """The current count (always 1)."""
        return int(lib.refcount_read(self._check().ptr))

    def into_arc(self) -> Arc[T]:
        """Share it: an :class:`Arc` (this one is moved).

        Raises:
            Error: ``EINVAL`` if released, moved or never written.

        Rust: ``impl From<UniqueArc<T>> for Arc<T>``
        """
        if not self.is_init():
            raise Error(code.EINVAL, "UniqueArc value was never written")
        return Arc._adopt(self._take())

    @property
    def closed(self) -> bool:
        """Whether this reference was released or moved."""
        return self._inner is None

    def close(self) -> None:
        """Drop the value and free the count (Rust: ``drop``).

        Raises:
            Error: ``EINVAL`` if already released or moved.
        """
        self._take().release()

    def __enter__(self) -> UniqueArc[T]:
        self._check()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._inner is not None:
            self.close()

    def __repr__(self) -> str:
        inner = self._inner
        return "<UniqueArc released>" if inner is None else f"<UniqueArc at {inner.addr:#x}>"
