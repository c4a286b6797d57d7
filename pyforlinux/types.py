"""Kernel types: ``Opaque``, ``ScopeGuard`` and the ``ForeignOwnable`` protocol.

Mirrors ``rust/kernel/types.rs``:

- :class:`Opaque` holds C memory that Python never reads implicitly:
  :meth:`Opaque.get` gives the ``T *`` and C (or an explicit
  initialiser, :meth:`Opaque.ffi_init`) decides what is in it;
- :class:`ScopeGuard` runs a cleanup exactly once when a scope ends,
  normally or by an exception, unless :meth:`ScopeGuard.dismiss`-ed;
- :class:`ForeignOwnable` is how an owned Python object is handed to C
  as a ``void *`` (``into_foreign``) and taken back exactly once
  (``from_foreign``), with ``borrow``/``borrow_mut`` in between. It is
  implemented by :class:`pyforlinux.alloc.KBox` (and ``VBox``/``KVBox``),
  :class:`pyforlinux.sync.Arc`, :class:`pyforlinux.sync.ARef` and, for
  ``None`` (Rust's unit type ``()``), by :class:`Unit`.

ForeignOwnable misuse is detected, never undefined behaviour: every
pointer handed out is recorded (with its kind and borrow state) before C
sees it, and every call checks the record before touching memory.

==========================================  ======  ===========================
misuse                                      errno   meaning
==========================================  ======  ===========================
pointer never returned by ``into_foreign``  ENOENT  no such foreign object
second ``from_foreign`` of one ownership    ENOENT  it is no longer foreign
``borrow``/``borrow_mut`` after from_...    ENOENT  it is no longer foreign
``from_foreign``/borrow as the wrong type   EINVAL  e.g. a KBox pointer as Arc
``NULL`` to ``from_foreign``/``borrow``     EINVAL  use ``try_from_foreign``
overlapping ``borrow_mut``                  EBUSY   borrows must not overlap it
``from_foreign`` during a borrow            EBUSY   release the borrow first
a view used after its borrow ended          EINVAL  the borrow is over
==========================================  ======  ===========================

ENOENT is "this pointer is not foreign-owned (any more)"; EBUSY is "it is,
but currently borrowed". ``Arc``/``ARef``/``None`` may be handed out
several times (each ``into_foreign`` is one ownership, counted); a
``KBox`` pointer is foreign-owned at most once.

Rust: rust/kernel/types.rs
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pyforlinux._bindings import ffi
from pyforlinux._owner import (
    REGISTRY,
    ForeignBorrow,
    LeakWarning,
    NoCopy,
    addr_of,
    arg_callable,
    leak_finalizer,
)
from pyforlinux.error import Error, code

__all__ = [
    "ForeignBorrow",
    "ForeignOwnable",
    "LeakWarning",
    "Opaque",
    "ScopeGuard",
    "Unit",
    "from_foreign",
    "into_foreign",
]

T = TypeVar("T")
D = TypeVar("D")
B = TypeVar("B")
BM = TypeVar("BM")
_Self = TypeVar("_Self")


# ---------------------------------------------------------------- Opaque


class Opaque(NoCopy, Generic[T]):
    """C memory for a ``T`` that Python never interprets on its own.

    Used for C objects that C code reads and writes (a ``struct mutex``, a
    ``struct list_head`` that C links): Python only passes the pointer
    around (:meth:`get`), so no Python invariant is ever assumed about the
    contents. It may be uninitialised. ``repr()`` shows the address,
    never the contents.

    The memory belongs to this object (Python heap, ``ffi.new``, zeroed);
    like a pinned Rust ``Opaque<T>`` it never moves, and it must be kept
    alive as long as C may use the pointer.

    The type parameter ``T`` is a phantom for static typing (the C type is
    a run-time string, e.g. ``Opaque[ListHead]`` for
    ``"struct list_head"``).

    Thread context: any; not synchronised (``!Sync`` in Rust).

    Rust: ``kernel::types::Opaque<T>``
    """

    __slots__ = ("__weakref__", "_cname", "_mem", "_ptr")

    def __init__(self, ctype: str) -> None:
        """Zeroed memory for one ``ctype`` (Rust: ``Opaque::uninit``/``zeroed``).

        Raises:
            Error: ``EINVAL`` if ``ctype`` is not a complete object type.
        """
        try:
            ptype = ffi.getctype(ffi.typeof(ctype), "*")
            self._mem = ffi.new(ptype)
        except (ffi.error, TypeError, KeyError) as e:
            raise Error(code.EINVAL, f"{ctype!r} is not a complete C object type: {e}") from None
        self._ptr = self._mem
        self._cname = ffi.typeof(ctype).cname

    @classmethod
    def uninit(cls, ctype: str) -> Opaque[Any]:
        """An opaque ``T`` with unspecified contents (all zero here).

        Rust: ``Opaque::uninit``
        """
        return cls(ctype)

    @classmethod
    def new(cls, ctype: str, value: Any) -> Opaque[Any]:
        """An opaque ``T`` holding ``value`` (anything cffi converts to ``T``).

        Raises:
            Error: ``EINVAL`` if ``value`` does not convert.

        Rust: ``Opaque::new``
        """
        op = cls(ctype)
        try:
            tmp = ffi.new(ffi.typeof(op._ptr), value)
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as e:
            raise Error(code.EINVAL, f"cannot convert {value!r} to {op._cname}: {e}") from None
        ffi.memmove(op._ptr, tmp, ffi.sizeof(op._cname))
        return op

    @classmethod
    def ffi_init(cls, ctype: str, init_func: Callable[[Any], object]) -> Opaque[Any]:
        """An opaque ``T`` initialised in place by ``init_func(ptr)`` (a ``T *``).

        ``init_func`` is typically a C initialiser from ``lib``, e.g.
        ``Opaque.ffi_init("struct list_head", lib.INIT_LIST_HEAD)``; its
        return value is ignored and it must not read the memory.

        Rust: ``Opaque::ffi_init``
        """
        op = cls(ctype)
        init_func(op._ptr)
        return op

    @classmethod
    def try_ffi_init(cls, ctype: str, init_func: Callable[[Any], int]) -> Opaque[Any]:
        """Like :meth:`ffi_init` for a C initialiser returning ``0`` or ``-errno``.

        Raises:
            Error: the errno ``init_func`` returned (the memory is dropped);
                anything ``init_func`` raises.

        Rust: ``Opaque::try_ffi_init``
        """
        from pyforlinux.error import to_result

        op = cls(ctype)
        ret = init_func(op._ptr)
        to_result(ret if isinstance(ret, int) else 0)
        return op

    def get(self) -> Any:
        """The ``T *`` (valid while this object is alive). Rust: ``Opaque::get``."""
        return self._ptr

    @property
    def ctype(self) -> str:
        """The C type name (``"struct list_head"``)."""
        return str(self._cname)

    def __repr__(self) -> str:
        return f"<Opaque {self._cname} at {addr_of(self._ptr):#x}>"


# ---------------------------------------------------------------- ScopeGuard


class ScopeGuard(NoCopy, Generic[D]):
    """Runs a cleanup function when a scope ends, unless dismissed.

    ``with ScopeGuard.new(lambda: undo()):`` runs ``undo()`` when the block
    ends, normally or by an exception; :meth:`dismiss` inside the block
    cancels it. :meth:`new_with_data` guards a value instead: the cleanup
    receives it, and :meth:`dismiss` returns it. The cleanup runs exactly
    once (leaving the block, or :meth:`close`); afterwards the guard is
    spent and :meth:`dismiss`/:attr:`data` raise ``Error(EINVAL)``.

    A guard garbage collected while still armed only reports it
    (:class:`LeakWarning`): its cleanup does not run from the finalizer.

    Thread context: the cleanup runs in the thread that ends the scope.

    Rust: ``kernel::types::ScopeGuard<T, F>``
    """

    __slots__ = ("__weakref__", "_cleanup", "_data", "_fin", "_lock", "_state")

    _ARMED: ClassVar[str] = "armed"

    def __init__(self, data: D, cleanup: Callable[[D], object]) -> None:
        """Guard ``data`` with ``cleanup`` (prefer :meth:`new_with_data`).

        Raises:
            Error: ``EINVAL`` if ``cleanup`` is not callable (refused here,
                not when it would run).
        """
        arg_callable(cleanup, "ScopeGuard cleanup")
        self._data = data
        self._cleanup = cleanup
        self._state = self._ARMED
        self._lock = threading.Lock()
        self._fin = leak_finalizer(self, f"ScopeGuard({getattr(cleanup, '__name__', cleanup)!r})")

    @classmethod
    def new(cls, cleanup: Callable[[], object]) -> ScopeGuard[None]:
        """A guard running ``cleanup()``. Rust: ``ScopeGuard::new``."""
        arg_callable(cleanup, "ScopeGuard cleanup")
        return ScopeGuard(None, lambda _none: cleanup())

    @classmethod
    def new_with_data(cls, data: D, cleanup: Callable[[D], object]) -> ScopeGuard[D]:
        """A guard owning ``data``, running ``cleanup(data)``.

        Rust: ``ScopeGuard::new_with_data``
        """
        return ScopeGuard(data, cleanup)

    def _end(self, new_state: str) -> tuple[D, Callable[[D], object]]:
        with self._lock:
            if self._state != self._ARMED:
                raise Error(code.EINVAL, f"ScopeGuard was already {self._state}")
            self._state = new_state
        self._fin.detach()
        data, cleanup = self._data, self._cleanup
        return data, cleanup

    @property
    def data(self) -> D:
        """The guarded value (Rust: ``Deref``).

        Raises:
            Error: ``EINVAL`` once the guard is spent.
        """
        if self._state != self._ARMED:
            raise Error(code.EINVAL, f"ScopeGuard was already {self._state}")
        return self._data

    def is_armed(self) -> bool:
        """Whether the cleanup is still to run."""
        return self._state == self._ARMED

    def dismiss(self) -> D:
        """Cancel the cleanup and return the data.

        Raises:
            Error: ``EINVAL`` if the guard was already dismissed or ran.

        Rust: ``ScopeGuard::dismiss``
        """
        data, _ = self._end("dismissed")
        return data

    def close(self) -> None:
        """Run the cleanup now, if still armed (Rust: ``drop``). Idempotent."""
        try:
            data, cleanup = self._end("run")
        except Error:
            return
        cleanup(data)

    def __enter__(self) -> ScopeGuard[D]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ScopeGuard {self._state}>"


# ---------------------------------------------------------------- ForeignOwnable


class ForeignOwnable(Protocol[B, BM]):
    """An owner that can be handed to C as a ``void *`` and taken back.

    - ``into_foreign()`` consumes the owner and returns a non-NULL ``void *``
      aligned for the pointee (16 bytes for runtime allocations);
    - ``from_foreign(ptr)`` rebuilds the owner, exactly once per
      ``into_foreign``; ``try_from_foreign(ptr)`` also takes NULL (-> ``None``);
    - ``borrow(ptr)``/``borrow_mut(ptr)`` give a :class:`ForeignBorrow`
      (a context manager) whose view is ``B``/``BM``; a
      ``borrow_mut`` excludes every other borrow.

    Errors (see the module table): ``ENOENT``, ``EINVAL``, ``EBUSY``.

    Rust: ``kernel::types::ForeignOwnable`` (``Borrowed<'a>`` = ``B``,
    ``BorrowedMut<'a>`` = ``BM``, the lifetime = the borrow object)
    """

    def into_foreign(self) -> Any:
        """Hand ownership to C; returns ``void *``."""
        ...

    @classmethod
    def from_foreign(cls: type[_Self], ptr: Any) -> _Self:
        """Take ownership back from C (once per ``into_foreign``)."""
        ...

    @classmethod
    def try_from_foreign(cls: type[_Self], ptr: Any) -> _Self | None:
        """``from_foreign``, or ``None`` for NULL."""
        ...

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[B]:
        """Borrow the foreign-owned object."""
        ...

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[BM]:
        """Borrow the foreign-owned object exclusively."""
        ...


# 16 zero bytes whose (malloc-aligned) address is the unit's foreign pointer.
_UNIT_CELL = ffi.new("long long[2]")
_UNIT_PTR = ffi.cast("void *", _UNIT_CELL)


class Unit:
    """``ForeignOwnable`` for ``None``, Python's unit value (Rust's ``()``).

    ``Unit.into_foreign(None)`` returns one fixed, non-NULL, 16-byte
    aligned ``void *`` (as Rust returns ``NonNull::dangling()``); every
    call is one ownership, counted, so a ``from_foreign`` without a
    matching ``into_foreign`` is ``ENOENT``. Borrows give ``None``.
    Nothing is allocated, so none of this can fail with ``ENOMEM``.

    Rust: ``impl ForeignOwnable for ()``
    """

    @staticmethod
    def into_foreign(value: None = None) -> Any:
        """Hand ``None`` to C; returns the unit ``void *``.

        Raises:
            Error: ``EINVAL`` if ``value`` is not ``None``.
        """
        if value is not None:
            raise Error(code.EINVAL, f"Unit.into_foreign takes None, not {type(value).__name__}")
        REGISTRY.register(addr_of(_UNIT_PTR), Unit, None, shareable=True)
        return _UNIT_PTR

    @staticmethod
    def from_foreign(ptr: Any) -> None:
        """Take one ``None`` back. Raises ``ENOENT``/``EINVAL``/``EBUSY`` on misuse."""
        REGISTRY.take(addr_of(ptr), Unit)

    @staticmethod
    def try_from_foreign(ptr: Any) -> None:
        """:meth:`from_foreign`, accepting NULL (both give ``None``)."""
        if ptr != ffi.NULL:
            Unit.from_foreign(ptr)

    @staticmethod
    def borrow(ptr: Any) -> ForeignBorrow[None]:
        """Borrow the unit: the view is ``None``."""
        addr = addr_of(ptr)
        REGISTRY.borrow(addr, Unit, False)
        return ForeignBorrow(REGISTRY, addr, False, lambda _b: None, view_holds_borrow=False)

    @staticmethod
    def borrow_mut(ptr: Any) -> ForeignBorrow[None]:
        """Borrow the unit exclusively: the view is ``None``."""
        addr = addr_of(ptr)
        REGISTRY.borrow(addr, Unit, True)
        return ForeignBorrow(REGISTRY, addr, True, lambda _b: None, view_holds_borrow=False)


def into_foreign(value: Any) -> Any:
    """``value.into_foreign()``, or :meth:`Unit.into_foreign` for ``None``.

    Raises:
        Error: ``EINVAL`` if ``value`` is not ``ForeignOwnable``.
    """
    if value is None:
        return Unit.into_foreign(None)
    method = getattr(value, "into_foreign", None)
    if method is None:
        raise Error(code.EINVAL, f"{type(value).__name__} is not ForeignOwnable")
    return method()


def from_foreign(kind: Any, ptr: Any) -> Any:
    """``kind.from_foreign(ptr)``; ``kind`` may be ``None`` or ``type(None)`` for the unit.

    Raises:
        Error: as ``from_foreign`` (``ENOENT``, ``EINVAL``, ``EBUSY``).
    """
    if kind is None or kind is type(None):
        return Unit.from_foreign(ptr)
    return kind.from_foreign(ptr)
