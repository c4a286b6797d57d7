"""Memory allocation: GFP flags, owned C allocations, fault injection.

Mirrors ``rust/kernel/alloc.rs`` and its submodules:

- :class:`Flags` and the ``GFP_*`` constants (``kernel::alloc::flags``),
  with ``|``, ``&`` and ``in`` but **no bitwise NOT**: Rust for Linux
  removed ``!`` on ``Flags`` (issue 1253) because ``!GFP_KERNEL`` and
  friends build invalid GFP combinations. ``~flags`` is a ``TypeError``
  here, at runtime and for mypy.
- the allocators :class:`Kmalloc`, :class:`Vmalloc`, :class:`KVmalloc`
  (``kernel::alloc::allocator``) over the runtime's ``pfl_kmalloc()`` /
  ``pfl_vmalloc()`` (csrc/runtime/slab.c);
- :class:`Box` and its allocator-specific classes :class:`KBox`,
  :class:`VBox`, :class:`KVBox` (``kernel::alloc::kbox``): one owned C
  object of a C type, e.g. ``KBox.new("struct list_head", GFP_KERNEL)``;
- :class:`Vec` and :class:`KVec`, :class:`VVec`, :class:`KVVec`
  (``kernel::alloc::kvec``): growable C arrays whose every allocating call
  takes :class:`Flags`;
- the runtime's fault injection (:func:`fail_nth`,
  :func:`fail_probability`) and live-object counters
  (:func:`live_objects`), which the kernel keeps in debugfs.

Ownership: a box or vector owns its C memory until :meth:`Box.close`
(or the end of a ``with`` block), :meth:`Box.into_raw` or
:meth:`Box.into_foreign`. Release is deterministic; a finalizer only
*reports* a forgotten owner with a :class:`LeakWarning` (it never frees).
Allocation failure raises :class:`AllocError`, which is ``Error(ENOMEM)``.

Thread context: allocation with ``GFP_KERNEL`` may sleep (process
context); ``GFP_ATOMIC``/``GFP_NOWAIT`` never sleep. One owner object must
not be used from two threads at once without a lock.

C header: include/linux/gfp_types.h, include/linux/slab.h,
include/linux/vmalloc.h. Rust: rust/kernel/alloc.rs,
rust/kernel/alloc/allocator.rs, rust/kernel/alloc/kbox.rs,
rust/kernel/alloc/kvec.rs
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Protocol, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import (
    DETACHED,
    REGISTRY,
    S64_MAX,
    S64_MIN,
    U64_MAX,
    ArgTypeError,
    Finalizer,
    ForeignBorrow,
    LeakWarning,
    NoCopy,
    OwnerName,
    addr_of,
    addr_of_ptr,
    arg_int,
    leak_finalizer,
)
from pyforlinux.error import Error, code

__all__ = [
    "GFP_ATOMIC",
    "GFP_KERNEL",
    "GFP_KERNEL_ACCOUNT",
    "GFP_NOWAIT",
    "__GFP_NOWARN",
    "__GFP_ZERO",
    "AllocError",
    "Allocator",
    "Box",
    "BoxRef",
    "CacheInfo",
    "FailNth",
    "Flags",
    "Init",
    "KBox",
    "KVBox",
    "KVVec",
    "KVec",
    "KVmalloc",
    "Kmalloc",
    "LeakWarning",
    "LiveObjects",
    "Uninit",
    "VBox",
    "VVec",
    "Vec",
    "Vmalloc",
    "fail_nth",
    "fail_probability",
    "injected_failures",
    "live_objects",
]


class AllocError(Error):
    """An allocation failed: ``Error(ENOMEM)``.

    Rust: ``kernel::alloc::AllocError`` (converted to ``ENOMEM`` by ``?``).
    """

    def __init__(self, message: str | None = None) -> None:
        """``Error(ENOMEM)`` with an optional message (what failed, how big)."""
        super().__init__(code.ENOMEM, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._message,))


# ---------------------------------------------------------------- flags


class Flags:
    """GFP flags for an allocation (an immutable ``gfp_t`` value).

    Combine with ``|``, intersect with ``&``, test with ``flag in flags``
    (every bit of ``flag`` set in ``flags``). There is deliberately no
    ``~``: see the module documentation.

    Rust: ``kernel::alloc::Flags``. C header: include/linux/gfp_types.h
    """

    __slots__ = ("_raw",)
    _raw: int

    def __init__(self, raw: int) -> None:
        """Wrap a raw ``gfp_t`` value (``unsigned int``).

        Raises:
            Error: ``EINVAL`` if ``raw`` does not fit a ``gfp_t``.
        """
        raw = arg_int(raw, "gfp_t value", 0, (1 << 32) - 1)
        object.__setattr__(self, "_raw", raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Flags are immutable")

    def as_raw(self) -> int:
        """The raw ``gfp_t`` value (``unsigned int``)."""
        return self._raw

    def contains(self, other: Flags) -> bool:
        """Whether every bit of ``other`` is set in ``self``. Rust: ``Flags::contains``."""
        return self._raw & other._raw == other._raw

    def __contains__(self, other: object) -> bool:
        """``other in self``: :meth:`contains`. Raises ``TypeError`` for non-Flags."""
        if not isinstance(other, Flags):
            raise ArgTypeError(f"'in <Flags>' needs Flags, not {type(other).__name__}")
        return self.contains(other)

    def __or__(self, other: Flags) -> Flags:
        if not isinstance(other, Flags):
            return NotImplemented
        return Flags(self._raw | other._raw)

    def __and__(self, other: Flags) -> Flags:
        if not isinstance(other, Flags):
            return NotImplemented
        return Flags(self._raw & other._raw)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Flags) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(("Flags", self._raw))

    def __repr__(self) -> str:
        named = {n: globals()[n] for n in _FLAG_NAMES}
        modifiers = [n for n in _FLAG_NAMES if n.startswith("__")]
        for base in [None, *(n for n in _FLAG_NAMES if not n.startswith("__"))]:
            rest = self._raw & ~(named[base]._raw if base else 0)
            if base and named[base] not in self:
                continue
            parts = [m for m in modifiers if named[m]._raw & rest == named[m]._raw]
            covered = 0
            for m in parts:
                covered |= named[m]._raw
            if covered == rest and (base or parts):
                return " | ".join(([base] if base else []) + parts)
        return f"Flags({self._raw:#x})"


_FLAG_NAMES: Final = (
    "GFP_KERNEL",
    "GFP_ATOMIC",
    "GFP_NOWAIT",
    "GFP_KERNEL_ACCOUNT",
    "__GFP_ZERO",
    "__GFP_NOWARN",
)

# The flag constants (Rust: ``kernel::alloc::flags``), from the C headers.
# Module level, not in a class body: Python would mangle ``__GFP_*`` there.
GFP_KERNEL: Final = Flags(lib.GFP_KERNEL)
"""Typical kernel allocation: may sleep and reclaim (process context)."""
GFP_ATOMIC: Final = Flags(lib.GFP_ATOMIC)
"""Cannot sleep, may use atomic reserves (interrupt or spinlock context)."""
GFP_NOWAIT: Final = Flags(lib.GFP_NOWAIT)
"""Cannot sleep and does not use reserves; likely to fail under pressure."""
GFP_KERNEL_ACCOUNT: Final = Flags(lib.GFP_KERNEL_ACCOUNT)
"""``GFP_KERNEL``, accounted to the memory cgroup."""
__GFP_ZERO: Final = Flags(lib.__GFP_ZERO)
"""Zero the allocated memory (or'd with one of the above)."""
_ZERO: Final = __GFP_ZERO  # for class bodies, where __GFP_ZERO would be name-mangled
__GFP_NOWARN: Final = Flags(lib.__GFP_NOWARN)
"""Do not report allocation failure (or'd with one of the above)."""


def _check_flags(value: object) -> Flags:
    if not isinstance(value, Flags):
        raise ArgTypeError(f"allocation flags must be alloc.Flags, not {type(value).__name__}")
    return value


# ---------------------------------------------------------------- allocators

_ALIGN: Final = 16  # what the runtime's kmalloc/vmalloc guarantee


class Allocator(Protocol):
    """An allocator of raw C memory (``kernel::alloc::Allocator``).

    Every function works on ``void *`` cffi pointers and raises
    :class:`AllocError` on failure. Memory is aligned to 16 bytes.
    """

    NAME: ClassVar[str]

    @staticmethod
    def alloc(size: int, flags: Flags) -> Any:
        """Allocate ``size`` bytes (``size >= 1``); returns ``void *``."""
        ...

    @staticmethod
    def realloc(ptr: Any, size: int, old_size: int, flags: Flags) -> Any:
        """Grow or shrink ``ptr`` to ``size`` bytes, keeping the contents.

        On failure the old allocation is untouched and still owned by the
        caller.
        """
        ...

    @staticmethod
    def free(ptr: Any) -> None:
        """Free ``ptr`` (``NULL`` is a no-op)."""
        ...


def _fail(what: str, size: int, fl: Flags) -> AllocError:
    return AllocError(f"{what}({size}, {fl!r}) failed")


class Kmalloc:
    """``kmalloc``/``krealloc``/``kfree``: physically contiguous memory.

    Rust: ``kernel::alloc::allocator::Kmalloc``. C header: include/linux/slab.h
    """

    NAME: ClassVar[str] = "kmalloc"

    @staticmethod
    def alloc(size: int, flags: Flags) -> Any:
        """``kmalloc(size, flags)``. Raises :class:`AllocError` on failure."""
        size = arg_int(size, "size")
        p = lib.pfl_kmalloc(size, _check_flags(flags).as_raw(), 0)
        if p == ffi.NULL:
            raise _fail("kmalloc", size, flags)
        return p

    @staticmethod
    def realloc(ptr: Any, size: int, old_size: int, flags: Flags) -> Any:
        """``krealloc(ptr, size, flags)``. Raises :class:`AllocError` on failure."""
        size = arg_int(size, "size")
        p = lib.pfl_krealloc(ptr, size, _check_flags(flags).as_raw(), 0)
        if p == ffi.NULL:
            raise _fail("krealloc", size, flags)
        return p

    @staticmethod
    def free(ptr: Any) -> None:
        """``kfree(ptr)``."""
        lib.pfl_kfree(ptr, 0)


class Vmalloc:
    """``vmalloc``/``vrealloc``/``vfree``: virtually contiguous memory.

    Rust: ``kernel::alloc::allocator::Vmalloc``. C header: include/linux/vmalloc.h
    """

    NAME: ClassVar[str] = "vmalloc"

    @staticmethod
    def alloc(size: int, flags: Flags) -> Any:
        """``vmalloc(size)`` with ``flags``. Raises :class:`AllocError` on failure."""
        size = arg_int(size, "size")
        p = lib.pfl_vmalloc(size, _check_flags(flags).as_raw(), 0)
        if p == ffi.NULL:
            raise _fail("vmalloc", size, flags)
        return p

    @staticmethod
    def realloc(ptr: Any, size: int, old_size: int, flags: Flags) -> Any:
        """``vrealloc()``: a new area, the contents copied, the old one freed."""
        p = Vmalloc.alloc(size, flags)
        if ptr != ffi.NULL and old_size:
            ffi.memmove(p, ptr, min(size, old_size))
        Vmalloc.free(ptr)
        return p

    @staticmethod
    def free(ptr: Any) -> None:
        """``vfree(ptr)``."""
        if ptr != ffi.NULL:
            lib.pfl_kfree(ptr, 0)


class KVmalloc(Kmalloc):
    """``kvmalloc``: kmalloc, falling back to vmalloc (here: kmalloc).

    Rust: ``kernel::alloc::allocator::KVmalloc``. C header: include/linux/slab.h
    """

    NAME: ClassVar[str] = "kvmalloc"


# ---------------------------------------------------------------- C types


class _CType:
    """A resolved C type: size, pointer type and how values are copied."""

    __slots__ = ("align", "integer", "name", "ptr", "scalar", "size", "type")

    def __init__(self, ctype: Any) -> None:
        try:
            self.type = ffi.typeof(ctype) if isinstance(ctype, str) else ctype
            self.size = ffi.sizeof(self.type)
            self.align = ffi.alignof(self.type)
            self.ptr = ffi.getctype(self.type, "*")
        except (ffi.error, TypeError, KeyError) as e:
            raise Error(code.EINVAL, f"{ctype!r} is not a complete C object type: {e}") from None
        if self.type.kind in ("function", "void"):
            raise Error(code.EINVAL, f"{ctype!r} is not a C object type")
        if self.align > _ALIGN:
            raise Error(code.EINVAL, f"{ctype!r} needs {self.align}-byte alignment (max {_ALIGN})")
        self.name = self.type.cname
        self.scalar = self.type.kind in ("primitive", "pointer", "enum")
        # Integer C types take any __index__ object, as Python's own APIs do.
        self.integer = self.type.kind in ("primitive", "enum") and isinstance(
            ffi.new(self.ptr)[0], int
        )

    def read(self, p: Any) -> Any:
        """The value at ``p`` (a ``T *``): a Python value, or a copy (``T *``)."""
        if self.scalar:
            return p[0]
        try:
            buf = ffi.new(self.ptr)
        except MemoryError:
            raise AllocError(f"no memory for a copy of a {self.name}") from None
        ffi.memmove(buf, p, self.size)
        return buf

    def convert(self, value: Any) -> Any:
        """``value`` converted into a new, separate ``T`` (a ``T *`` temporary).

        Every conversion that can run user Python (``__index__``,
        ``__float__``, a dict's values ...) happens here, before the caller
        checks its owner and copies the temporary into C memory with
        :meth:`store` (no Python in between).

        Raises:
            Error: ``EINVAL`` if ``value`` does not convert to ``T``.
        """
        if isinstance(value, ffi.CData) and not self.scalar:
            t = ffi.typeof(value)
            if t is self.type:
                src = ffi.addressof(value)
            elif t is ffi.typeof(self.ptr):
                src = value
            else:
                raise Error(code.EINVAL, f"cannot store a {t.cname} into a {self.name}")
            try:
                tmp = ffi.new(self.ptr)
            except MemoryError:
                raise AllocError(f"no memory for a temporary {self.name}") from None
            ffi.memmove(tmp, src, self.size)
            return tmp
        if self.integer and type(value) not in (int, bool) and not isinstance(value, ffi.CData):
            value = arg_int(value, f"a {self.name} value", -(1 << 64), 1 << 64)
        try:
            return ffi.new(self.ptr, value)
        except MemoryError:
            raise AllocError(f"no memory for a temporary {self.name}") from None
        except (TypeError, ValueError, OverflowError, IndexError, KeyError) as e:
            raise Error(code.EINVAL, f"cannot store {value!r} into a {self.name}: {e}") from None

    def store(self, p: Any, tmp: Any) -> None:
        """Copy a :meth:`convert`-ed temporary to ``p`` (runs no Python code)."""
        # SAFETY (caller): p points at sizeof(T) writable bytes it checked
        # are live just before; tmp is a separate, fully initialised T.
        ffi.memmove(p, tmp, self.size)

    def write(self, p: Any, value: Any) -> None:
        """Store ``value`` at ``p``: :meth:`convert` then :meth:`store`."""
        self.store(p, self.convert(value))


_ctype_cache: dict[Any, _CType] = {}


def _ctype(ctype: Any) -> _CType:
    if not isinstance(ctype, (str, ffi.CType)):
        raise ArgTypeError(f"a C type is a name or a cffi CType, not {type(ctype).__name__}")
    ct = _ctype_cache.get(ctype)
    if ct is None:
        ct = _ctype_cache[ctype] = _CType(ctype)
    return ct


# ---------------------------------------------------------------- Box


class Init:
    """Type state of a :class:`Box`: its contents are initialised."""


class Uninit:
    """Type state of a :class:`Box`: contents not initialised (``MaybeUninit<T>``)."""


S = TypeVar("S", Init, Uninit)
_B = TypeVar("_B", bound="Box[Any]")

_state_lock = threading.Lock()
_VOID_P: Final = ffi.typeof("void *")  # what into_foreign() hands out


class Box(NoCopy, Generic[S]):
    """One owned C object of type ``T``, allocated by :attr:`ALLOCATOR`.

    Use the allocator-specific classes :class:`KBox`, :class:`VBox`,
    :class:`KVBox`. The type parameter is the type state: ``KBox[Init]``
    (from :meth:`new`) can be read; ``KBox[Uninit]`` (from
    :meth:`new_uninit`) must be :meth:`write`-n first, which gives a
    ``KBox[Init]``.

    The memory is freed by :meth:`close` (or leaving a ``with`` block),
    exactly once; :meth:`into_raw`, :meth:`leak` and :meth:`into_foreign`
    hand it over instead. Any use afterwards raises ``Error(EINVAL)``.

    Rust: ``kernel::alloc::kbox::Box<T, A>``
    """

    ALLOCATOR: ClassVar[type[Allocator]] = Kmalloc

    __slots__ = ("__weakref__", "_ct", "_fin", "_init", "_name", "_ptr")
    _ct: _CType
    _ptr: Any  # ``T *``, or None once released or moved
    _init: bool
    _name: OwnerName  # formatted when shown (_what)
    _fin: Finalizer

    def __init__(self) -> None:
        """Not constructible: use :meth:`new` or :meth:`new_uninit`."""
        raise TypeError(f"use {type(self).__name__}.new() or .new_uninit()")

    @classmethod
    def _adopt(cls, ptr: Any, ct: _CType, init: bool) -> Any:
        self = object.__new__(cls)
        self._ct = ct
        self._ptr = ffi.cast(ct.ptr, ptr)
        self._init = init
        self._name = OwnerName((cls.__name__, ct.name, ptr))
        self._fin = leak_finalizer(self, self._name)
        return self

    @property
    def _what(self) -> str:
        """``"KBox<u64> at 0x..."``: the box in messages."""
        return str(self._name)

    # -- construction

    @classmethod
    def new(cls, ctype: Any, flags: Flags, init: Any = None) -> Box[Init]:
        """Allocate a ``T`` and initialise it.

        Args:
            ctype: the C type ``T`` (``"struct list_head"``, ``"u64"``, a
                cffi ``CType``).
            flags: allocation flags.
            init: the value: a Python value cffi can convert to ``T`` (an
                ``int``, a ``dict`` of fields, a ``list``), a ``T`` or
                ``T *`` cdata to copy, or ``None`` for all-zero.

        Raises:
            AllocError: ``ENOMEM`` if the allocation fails.
            Error: ``EINVAL`` if ``ctype`` is not a complete object type or
                ``init`` does not convert to it (nothing is leaked).

        Rust: ``Box::new(x, flags)``
        """
        ct = _ctype(ctype)
        _check_flags(flags)
        if init is None:  # zeroed by the allocator: no temporary of sizeof(T)
            p = cls.ALLOCATOR.alloc(max(ct.size, 1), flags | _ZERO)
            return cls._adopt(p, ct, True)  # type: ignore[no-any-return]
        tmp = ct.convert(init)  # user code runs here, before anything is allocated
        p = cls.ALLOCATOR.alloc(max(ct.size, 1), flags)
        # SAFETY: p is a fresh allocation of at least sizeof(T) bytes, 16-byte
        # aligned (>= alignof(T), checked by _CType), owned by nobody else.
        box = cls._adopt(p, ct, True)
        ct.store(box._ptr, tmp)
        return box  # type: ignore[no-any-return]

    @classmethod
    def new_uninit(cls, ctype: Any, flags: Flags) -> Box[Uninit]:
        """Allocate a ``T`` without initialising it (unless ``__GFP_ZERO``).

        Raises:
            AllocError: ``ENOMEM`` if the allocation fails.
            Error: ``EINVAL`` if ``ctype`` is not a complete object type.

        Rust: ``Box::new_uninit(flags)`` (``Box<MaybeUninit<T>>``)
        """
        ct = _ctype(ctype)
        p = cls.ALLOCATOR.alloc(max(ct.size, 1), flags)
        return cls._adopt(p, ct, False)  # type: ignore[no-any-return]

    @classmethod
    def from_raw(cls, ptr: Any, ctype: Any) -> Box[Init]:
        """Take ownership of ``ptr`` (a ``T *`` from :meth:`into_raw`).

        Safety: ``ptr`` must come from this allocator, hold an initialised
        ``T`` and not be owned by anything else; it is checked to be a live
        runtime allocation, nothing more.

        Raises:
            Error: ``EINVAL`` if ``ptr`` is NULL or not a live allocation.

        Rust: ``Box::from_raw``
        """
        if ptr == ffi.NULL or not lib.pfl_kobj_is_live(ptr):
            raise Error(code.EINVAL, f"{cls.__name__}.from_raw: {ptr!r} is not a live allocation")
        if REGISTRY.contains(addr_of(ptr)):
            raise Error(code.EINVAL, f"{cls.__name__}.from_raw: {ptr!r} is foreign-owned")
        ct = _ctype(ctype)
        if lib.pfl_ksize(ptr) < ct.size:
            raise Error(
                code.EINVAL, f"{cls.__name__}.from_raw: {ptr!r} is smaller than a {ct.name}"
            )
        return cls._adopt(ptr, ct, True)  # type: ignore[no-any-return]

    # -- state

    def _check(self) -> Any:
        p = self._ptr
        if p is None:
            raise Error(code.EINVAL, f"{self._what} was already released or moved")
        return p

    def _take(self) -> Any:
        """Move the allocation out of this owner (which becomes unusable)."""
        with _state_lock:
            p = self._ptr
            if p is None:  # (_check()'s test inline: its message stays there)
                self._check()
            self._ptr = None
        self._fin.detach()
        self._fin = DETACHED  # (the detached one is freed now, not called back at our end)
        return p

    @property
    def closed(self) -> bool:
        """Whether the box no longer owns its memory (closed or moved)."""
        return self._ptr is None

    @property
    def ctype(self) -> Any:
        """The C type ``T`` (a cffi ``CType``)."""
        return self._ct.type

    @property
    def size(self) -> int:
        """``sizeof(T)`` in bytes."""
        return int(self._ct.size)

    def is_init(self) -> bool:
        """Whether the contents are initialised (the runtime type state)."""
        return bool(self._init)

    # -- access

    def as_ptr(self) -> Any:
        """The ``T *`` (borrowed: valid until the box is released or moved).

        Raises:
            Error: ``EINVAL`` if the box was released or moved.
        """
        return self._check()

    def read(self: Box[Init]) -> Any:
        """A copy of the value: a Python value for scalars, an owned ``T *``
        copy (``ffi.new``) for structs, unions and arrays.

        Raises:
            Error: ``EINVAL`` if released/moved or not initialised.

        Rust: ``*box`` (``Deref``)
        """
        p = self._check()
        if not self._init:
            raise Error(code.EINVAL, f"{self._what} is not initialised (write() it first)")
        return self._ct.read(p)

    def set(self: Box[Init], value: Any) -> None:
        """Overwrite the value (see :meth:`new` for what ``value`` may be).

        Raises:
            Error: ``EINVAL`` if released/moved, or ``value`` does not convert.

        Rust: ``*box = value`` (``DerefMut``)
        """
        tmp = self._ct.convert(value)  # user code may run (and even close us) here
        with _state_lock:  # close() takes it: checked and written atomically
            self._ct.store(self._check(), tmp)

    def write(self: Box[Uninit], value: Any) -> Box[Init]:
        """Initialise an uninitialised box; returns it as ``Box[Init]``.

        The returned object owns the memory; this one is moved.

        Raises:
            Error: ``EINVAL`` if released/moved, already initialised, or
                ``value`` does not convert (the box is then unchanged).

        Rust: ``Box<MaybeUninit<T>>::write``
        """
        tmp = self._ct.convert(value)  # user code runs before the checks
        with _state_lock:
            p = self._check()
            if self._init:
                raise Error(code.EINVAL, f"{self._what} is already initialised")
            self._ct.store(p, tmp)
        return self._reinit()

    def assume_init(self: Box[Uninit]) -> Box[Init]:
        """Declare the contents initialised (after C filled them in).

        Safety: every byte of the ``T`` must have been written.

        Rust: ``Box<MaybeUninit<T>>::assume_init``
        """
        return self._reinit()

    def _reinit(self) -> Box[Init]:
        ct = self._ct
        p = self._take()
        box: Box[Init] = type(self)._adopt(p, ct, True)
        return box

    # -- release and hand-over

    def close(self) -> None:
        """Free the memory (Rust: ``drop``). Idempotent.

        Thread context: any; never sleeps.
        """
        with _state_lock:
            p = self._ptr
            self._ptr = None
        if p is not None:
            self._fin.detach()
            self.ALLOCATOR.free(p)

    def into_inner(self: Box[Init]) -> Any:
        """The value (as :meth:`read`), freeing the box. Rust: ``Box::into_inner``."""
        value = self.read()
        self.close()
        return value

    def into_raw(self) -> Any:
        """Give up ownership: returns the ``T *``; free it with :meth:`from_raw`.

        Rust: ``Box::into_raw``
        """
        return self._take()

    def leak(self) -> Any:
        """Give up ownership for good (the memory is never freed); returns ``T *``.

        Rust: ``Box::leak``
        """
        return self._take()

    # -- ForeignOwnable

    def into_foreign(self) -> Any:
        """Hand the box to C: returns its ``void *`` (non-NULL, 16-byte aligned).

        The pointer is the C allocation itself. Get the box back exactly
        once with :meth:`from_foreign`; meanwhile :meth:`borrow` /
        :meth:`borrow_mut` give access.

        Raises:
            Error: ``EINVAL`` if the box was released or moved.

        Rust: ``ForeignOwnable::into_foreign`` for ``Box<T, A>``
        """
        ct = self._ct
        init = self._init
        p = self._take()
        REGISTRY.register(addr_of_ptr(p), type(self), (ct, init), shareable=False)
        return ffi.cast(_VOID_P, p)

    @classmethod
    def from_foreign(cls, ptr: Any) -> Box[Init]:
        """Take back a box handed to C by :meth:`into_foreign` (exactly once).

        Raises:
            Error: ``ENOENT`` if ``ptr`` is not (or no longer) foreign-owned,
                ``EINVAL`` for NULL or a pointer from another type's
                ``into_foreign``, ``EBUSY`` while it is borrowed.

        Rust: ``ForeignOwnable::from_foreign``
        """
        ct, init = REGISTRY.take(addr_of(ptr), cls)
        return cls._adopt(ptr, ct, init)  # type: ignore[no-any-return]

    @classmethod
    def try_from_foreign(cls, ptr: Any) -> Box[Init] | None:
        """:meth:`from_foreign`, or ``None`` for a NULL ``ptr``.

        Rust: ``ForeignOwnable::try_from_foreign``
        """
        if ptr == ffi.NULL:
            return None
        return cls.from_foreign(ptr)

    @classmethod
    def borrow(cls, ptr: Any) -> ForeignBorrow[BoxRef]:
        """Borrow a foreign-owned box: a read-only :class:`BoxRef`.

        Use as ``with KBox.borrow(ptr) as ref: ref.read()``.

        Raises:
            Error: as :meth:`from_foreign`; ``EBUSY`` during a ``borrow_mut``.

        Rust: ``ForeignOwnable::borrow`` (``&T``)
        """
        return cls._borrow(ptr, False)

    @classmethod
    def borrow_mut(cls, ptr: Any) -> ForeignBorrow[BoxRef]:
        """Borrow a foreign-owned box exclusively: a writable :class:`BoxRef`.

        Raises:
            Error: as :meth:`from_foreign`; ``EBUSY`` if any other borrow
                of ``ptr`` is live.

        Rust: ``ForeignOwnable::borrow_mut`` (``Pin<&mut T>``)
        """
        return cls._borrow(ptr, True)

    @classmethod
    def _borrow(cls, ptr: Any, mutable: bool) -> ForeignBorrow[BoxRef]:
        addr = addr_of(ptr)
        ct, init = REGISTRY.borrow(addr, cls, mutable)
        # The view is made by BoxRef itself (a partial: no Python frame between).
        make_view = partial(BoxRef, ffi.cast(ct.ptr, ptr), ct, init)
        return ForeignBorrow(REGISTRY, addr, mutable, make_view)

    # -- context manager

    def __enter__(self: _B) -> _B:
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
        state = "released" if self._ptr is None else ("init" if self._init else "uninit")
        return f"<{self._what} {state}>"


class BoxRef(NoCopy):
    """A borrowed view of a foreign-owned box (``&T`` / ``&mut T``).

    Valid while its :class:`ForeignBorrow` is live; afterwards every
    method raises ``Error(EINVAL)``. Only a ``borrow_mut`` view can
    :meth:`set`.
    """

    __slots__ = ("_borrow", "_ct", "_init", "_ptr")

    def __init__(self, ptr: Any, ct: _CType, init: bool, borrow: ForeignBorrow[BoxRef]) -> None:
        """Internal: made by :meth:`Box.borrow` / :meth:`Box.borrow_mut`."""
        self._borrow = borrow
        self._ptr = ptr
        self._ct = ct
        self._init = init

    def as_ptr(self) -> Any:
        """The ``T *`` (valid while the borrow is live)."""
        self._borrow.check()
        return self._ptr

    def read(self) -> Any:
        """A copy of the value (see :meth:`Box.read`).

        Raises:
            Error: ``EINVAL`` after the borrow ended or if uninitialised.
        """
        self._borrow.check()
        if not self._init:
            raise Error(code.EINVAL, "the borrowed box is not initialised")
        return self._ct.read(self._ptr)

    def set(self, value: Any) -> None:
        """Overwrite the value (``borrow_mut`` views only).

        Raises:
            Error: ``EINVAL`` after the borrow ended, ``EPERM`` on a shared
                borrow.
        """
        tmp = self._ct.convert(value)  # user code runs before the checks
        self._borrow.check()
        if not self._borrow.mutable:
            raise Error(code.EPERM, "cannot write through a shared borrow (use borrow_mut)")
        self._ct.store(self._ptr, tmp)


class KBox(Box[S]):
    """A :class:`Box` allocated with ``kmalloc``. Rust: ``kernel::alloc::KBox``."""

    ALLOCATOR: ClassVar[type[Allocator]] = Kmalloc
    __slots__ = ()

    if TYPE_CHECKING:

        @classmethod
        def new(cls, ctype: Any, flags: Flags, init: Any = None) -> KBox[Init]: ...
        @classmethod
        def new_uninit(cls, ctype: Any, flags: Flags) -> KBox[Uninit]: ...
        @classmethod
        def from_raw(cls, ptr: Any, ctype: Any) -> KBox[Init]: ...
        @classmethod
        def from_foreign(cls, ptr: Any) -> KBox[Init]: ...
        @classmethod
        def try_from_foreign(cls, ptr: Any) -> KBox[Init] | None: ...
        def write(self: KBox[Uninit], value: Any) -> KBox[Init]: ...
        def assume_init(self: KBox[Uninit]) -> KBox[Init]: ...


class VBox(Box[S]):
    """A :class:`Box` allocated with ``vmalloc``. Rust: ``kernel::alloc::VBox``."""

    ALLOCATOR: ClassVar[type[Allocator]] = Vmalloc
    __slots__ = ()

    if TYPE_CHECKING:

        @classmethod
        def new(cls, ctype: Any, flags: Flags, init: Any = None) -> VBox[Init]: ...
        @classmethod
        def new_uninit(cls, ctype: Any, flags: Flags) -> VBox[Uninit]: ...
        @classmethod
        def from_raw(cls, ptr: Any, ctype: Any) -> VBox[Init]: ...
        @classmethod
        def from_foreign(cls, ptr: Any) -> VBox[Init]: ...
        @classmethod
        def try_from_foreign(cls, ptr: Any) -> VBox[Init] | None: ...
        def write(self: VBox[Uninit], value: Any) -> VBox[Init]: ...
        def assume_init(self: VBox[Uninit]) -> VBox[Init]: ...


class KVBox(Box[S]):
    """A :class:`Box` allocated with ``kvmalloc``. Rust: ``kernel::alloc::KVBox``."""

    ALLOCATOR: ClassVar[type[Allocator]] = KVmalloc
    __slots__ = ()

    if TYPE_CHECKING:

        @classmethod
        def new(cls, ctype: Any, flags: Flags, init: Any = None) -> KVBox[Init]: ...
        @classmethod
        def new_uninit(cls, ctype: Any, flags: Flags) -> KVBox[Uninit]: ...
        @classmethod
        def from_raw(cls, ptr: Any, ctype: Any) -> KVBox[Init]: ...
        @classmethod
        def from_foreign(cls, ptr: Any) -> KVBox[Init]: ...
        @classmethod
        def try_from_foreign(cls, ptr: Any) -> KVBox[Init] | None: ...
        def write(self: KVBox[Uninit], value: Any) -> KVBox[Init]: ...
        def assume_init(self: KVBox[Uninit]) -> KVBox[Init]: ...


# ---------------------------------------------------------------- Vec

_MAX_BYTES: Final = 1 << 40  # the runtime refuses larger allocations
_V = TypeVar("_V", bound="Vec")


class Vec(NoCopy):
    """A growable C array of ``T`` (``T *`` buffer, length, capacity).

    Use :class:`KVec`, :class:`VVec` or :class:`KVVec`. Every call that may
    allocate takes :class:`Flags` and raises :class:`AllocError` (and
    leaves the vector unchanged) on failure. Elements are read as Python
    values (scalars) or owned copies (structs, see :meth:`Box.read`).
    Indexing accepts negative indices as Python lists do.

    Rust: ``kernel::alloc::kvec::Vec<T, A>``
    """

    ALLOCATOR: ClassVar[type[Allocator]] = Kmalloc

    __slots__ = ("__weakref__", "_cap", "_ct", "_fin", "_gen", "_len", "_live", "_ptr", "_what")

    def __init__(self, ctype: Any) -> None:
        """An empty vector of ``ctype`` (no allocation). Rust: ``Vec::new``.

        Raises:
            Error: ``EINVAL`` if ``ctype`` is not a complete object type.
        """
        self._ct = _ctype(ctype)
        self._ptr: Any = ffi.NULL
        self._len = 0
        self._cap = 0
        self._live = True
        self._gen = 0  # bumped by every change of buffer or length (retain() checks it)
        self._what = f"{type(self).__name__}<{self._ct.name}>"
        self._fin: weakref.finalize[..., Any] | None = None  # armed while there is a buffer

    @classmethod
    def new(cls: type[_V], ctype: Any) -> _V:
        """An empty vector (no allocation). Rust: ``Vec::new``."""
        return cls(ctype)

    @classmethod
    def with_capacity(cls: type[_V], ctype: Any, capacity: int, flags: Flags) -> _V:
        """An empty vector with room for ``capacity`` elements.

        Raises:
            AllocError: ``ENOMEM``.

        Rust: ``Vec::with_capacity``
        """
        capacity = arg_int(capacity, "capacity")
        v = cls(ctype)
        v.reserve(capacity, flags)
        return v

    @classmethod
    def from_elem(cls: type[_V], ctype: Any, value: Any, n: int, flags: Flags) -> _V:
        """A vector of ``n`` copies of ``value``.

        Raises:
            AllocError: ``ENOMEM``. Error: ``EINVAL`` if ``value`` does not convert.

        Rust: ``Vec::from_elem``
        """
        n = arg_int(n, "length")
        v = cls.with_capacity(ctype, n, flags)
        try:
            v.resize(n, value, flags)
        except BaseException:
            v.close()
            raise
        return v

    @classmethod
    def from_raw_parts(cls: type[_V], ptr: Any, length: int, capacity: int, ctype: Any) -> _V:
        """Take ownership of a buffer from :meth:`into_raw_parts`.

        Safety: ``ptr`` must come from this allocator with room for
        ``capacity`` elements, the first ``length`` initialised. It is
        checked to be a live allocation (or NULL with capacity 0).

        Raises:
            Error: ``EINVAL`` if the parts are inconsistent.

        Rust: ``Vec::from_raw_parts``
        """
        length = arg_int(length, "length")
        capacity = arg_int(capacity, "capacity")
        v = cls(ctype)
        if not 0 <= length <= capacity:
            raise Error(code.EINVAL, f"length {length} > capacity {capacity}")
        if capacity == 0:
            if ptr != ffi.NULL:
                raise Error(code.EINVAL, "a capacity-0 vector has a NULL buffer")
            return v
        if ptr == ffi.NULL or not lib.pfl_kobj_is_live(ptr):
            raise Error(code.EINVAL, f"{ptr!r} is not a live allocation")
        if lib.pfl_ksize(ptr) < capacity * v._ct.size:
            raise Error(code.EINVAL, f"{ptr!r} is smaller than {capacity} elements")
        v._ptr = ffi.cast(v._ct.ptr, ptr)
        v._len = length
        v._cap = capacity
        v._arm()
        return v

    def _arm(self) -> None:
        self._fin = leak_finalizer(self, f"{self._what} at {addr_of(self._ptr):#x}")

    def _check(self) -> None:
        if not self._live:
            raise Error(code.EINVAL, f"{self._what} was already released or moved")

    def _mut(self) -> None:
        """:meth:`_check` for a change: also records that the vector changed."""
        self._check()
        self._gen += 1

    # -- size

    def __len__(self) -> int:
        return self._len

    def len(self) -> int:
        """Number of elements. Rust: ``Vec::len``."""
        return self._len

    def capacity(self) -> int:
        """Number of elements the buffer holds without reallocating."""
        return self._cap

    def is_empty(self) -> bool:
        """Whether :meth:`len` is 0."""
        return self._len == 0

    @property
    def ctype(self) -> Any:
        """The element C type ``T`` (a cffi ``CType``)."""
        return self._ct.type

    # -- growth

    def reserve(self, additional: int, flags: Flags) -> None:
        """Make room for at least ``additional`` more elements.

        Grows to ``max(2 * capacity, len + additional)``.

        Raises:
            AllocError: ``ENOMEM`` (the vector is unchanged).
            Error: ``EINVAL`` for a negative ``additional`` or a released vector.

        Rust: ``Vec::reserve``
        """
        additional = arg_int(additional, "additional", 0, U64_MAX)
        _check_flags(flags)
        self._check()
        need = self._len + additional
        if need <= self._cap:
            return
        new_cap = max(self._cap * 2, need)
        size = max(new_cap * self._ct.size, 1)
        if size > _MAX_BYTES:
            raise AllocError(f"{self._what}: {new_cap} elements do not fit an allocation")
        # SAFETY: on failure the allocator raises and leaves the old buffer
        # as it was; on success the first len elements were copied over.
        self._mut()
        if self._ptr == ffi.NULL:
            p = self.ALLOCATOR.alloc(size, flags)
            self._ptr = ffi.cast(self._ct.ptr, p)
            self._arm()
        else:
            p = self.ALLOCATOR.realloc(self._ptr, size, self._cap * self._ct.size, flags)
            self._ptr = ffi.cast(self._ct.ptr, p)
        self._cap = new_cap

    def push(self, value: Any, flags: Flags) -> None:
        """Append ``value``, growing if needed.

        Raises:
            AllocError: ``ENOMEM``. Error: ``EINVAL`` if ``value`` does not convert.

        Rust: ``Vec::push``
        """
        tmp = self._ct.convert(value)
        self.reserve(1, flags)
        self._push_converted(tmp)

    def push_within_capacity(self, value: Any) -> None:
        """Append ``value`` without allocating.

        Raises:
            Error: ``EINVAL`` if the vector is full (Rust's ``PushError``
                converts to ``EINVAL``: it is not out of memory) or
                ``value`` does not convert.

        Rust: ``Vec::push_within_capacity``
        """
        self._push_converted(self._ct.convert(value))

    def _push_converted(self, tmp: Any) -> None:
        self._mut()
        if self._len == self._cap:
            raise Error(code.EINVAL, f"{self._what} is full ({self._cap} elements)")
        self._ct.store(self._ptr + self._len, tmp)
        self._len += 1

    def insert_within_capacity(self, index: int, value: Any) -> None:
        """Insert ``value`` at ``index`` (``0..len``) without allocating.

        Raises:
            Error: ``EINVAL`` if the vector is full or ``index > len``.

        Rust: ``Vec::insert_within_capacity``
        """
        index = arg_int(index, "index", S64_MIN, S64_MAX)
        tmp = self._ct.convert(value)
        self._mut()
        if not 0 <= index <= self._len:
            raise Error(code.EINVAL, f"insertion index {index} out of range 0..{self._len}")
        if self._len == self._cap:
            raise Error(code.EINVAL, f"{self._what} is full ({self._cap} elements)")
        es = self._ct.size
        # SAFETY: index <= len < cap, so both ranges lie inside the buffer;
        # memmove handles the overlap.
        ffi.memmove(self._ptr + index + 1, self._ptr + index, (self._len - index) * es)
        ffi.memmove(self._ptr + index, tmp, es)
        self._len += 1

    def extend_from_slice(self, values: Iterable[Any], flags: Flags) -> None:
        """Append every value of ``values``.

        Raises:
            AllocError: ``ENOMEM`` (nothing appended).
            Error: ``EINVAL`` if a value does not convert (the ones before
                it stay appended).

        Rust: ``Vec::extend_from_slice``
        """
        temps = []
        for v in list(values):
            try:
                temps.append(self._ct.convert(v))
            except Error:
                # as before: the values before the bad one are appended
                self.reserve(len(temps), flags)
                for t in temps:
                    self._push_converted(t)
                raise
        self.reserve(len(temps), flags)
        for t in temps:
            self._push_converted(t)

    def resize(self, new_len: int, value: Any, flags: Flags) -> None:
        """Truncate, or extend with copies of ``value``, to ``new_len``.

        Raises:
            AllocError: ``ENOMEM``. Error: ``EINVAL`` for a negative length.

        Rust: ``Vec::resize``
        """
        new_len = arg_int(new_len, "length")
        tmp = self._ct.convert(value)
        self._check()
        if new_len <= self._len:
            self.truncate(new_len)
            return
        self.reserve(new_len - self._len, flags)
        while self._len < new_len:
            self._push_converted(tmp)

    # -- shrinking

    def pop(self) -> Any:
        """Remove and return the last element, or ``None`` if empty. Rust: ``Vec::pop``."""
        self._mut()
        if self._len == 0:
            return None
        self._len -= 1
        return self._ct.read(self._ptr + self._len)

    def remove(self, index: int) -> Any:
        """Remove and return the element at ``index``, shifting the rest down.

        Raises:
            Error: ``EINVAL`` if ``index`` is out of range (Rust's
                ``RemoveError``).

        Rust: ``Vec::remove``
        """
        i = self._index(index)
        self._gen += 1
        value = self._ct.read(self._ptr + i)
        es = self._ct.size
        ffi.memmove(self._ptr + i, self._ptr + i + 1, (self._len - i - 1) * es)
        self._len -= 1
        return value

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` elements (no-op if shorter). Rust: ``Vec::truncate``."""
        length = arg_int(length, "length")
        self._mut()
        self._len = min(self._len, length)

    def clear(self) -> None:
        """Remove every element (the capacity stays). Rust: ``Vec::clear``."""
        self.truncate(0)

    def retain(self, keep: Any) -> None:
        """Keep only the elements for which ``keep(value)`` is true. Rust: ``Vec::retain``."""
        self._check()
        # Rust's closure cannot touch the vector (&mut self is borrowed). Here
        # the callbacks see copies and decide first; a callback that changed
        # the vector makes retain() refuse (EBUSY) without compacting, so no
        # cleared, truncated or reallocated element comes back.
        gen = self._gen
        decisions = []
        for i in range(self._len):
            if self._gen != gen or not self._live:
                raise Error(code.EBUSY, f"{self._what} was changed by the retain() callback")
            decisions.append(bool(keep(self._ct.read(self._ptr + i))))
        if self._gen != gen or not self._live:
            raise Error(code.EBUSY, f"{self._what} was changed by the retain() callback")
        out = 0
        es = self._ct.size
        for i, kept in enumerate(decisions):
            if kept:
                if out != i:
                    ffi.memmove(self._ptr + out, self._ptr + i, es)
                out += 1
        self._len = out
        self._gen += 1

    # -- access

    def _index(self, index: int) -> int:
        index = arg_int(index, "index", S64_MIN, S64_MAX)
        self._check()
        i = index + self._len if index < 0 else index
        if not 0 <= i < self._len:
            raise Error(code.EINVAL, f"index {index} out of range for length {self._len}")
        return i

    def __getitem__(self, index: int) -> Any:
        """The element at ``index``. Raises ``Error(EINVAL)`` if out of range."""
        return self._ct.read(self._ptr + self._index(index))

    def __setitem__(self, index: int, value: Any) -> None:
        """Overwrite the element at ``index``. Raises ``Error(EINVAL)`` if out of range."""
        index = arg_int(index, "index", S64_MIN, S64_MAX)
        tmp = self._ct.convert(value)  # user code runs before the checks
        self._ct.store(self._ptr + self._index(index), tmp)

    def get(self, index: int) -> Any:
        """The element at ``index``, or ``None`` if out of range. Rust: ``slice::get``."""
        index = arg_int(index, "index", S64_MIN, S64_MAX)
        self._check()
        if not 0 <= index < self._len:
            return None
        return self._ct.read(self._ptr + index)

    def __iter__(self) -> Iterator[Any]:
        i = 0
        while True:
            self._check()
            if i >= self._len:
                return
            yield self._ct.read(self._ptr + i)
            i += 1

    def to_list(self) -> list[Any]:
        """Copies of every element."""
        return list(self)

    def as_ptr(self) -> Any:
        """The ``T *`` buffer (``NULL`` when capacity is 0).

        Borrowed: invalid after any call that may reallocate, and after
        release.
        """
        self._check()
        return self._ptr

    # -- release

    def into_raw_parts(self) -> tuple[Any, int, int]:
        """Give up ownership: ``(T * buffer, length, capacity)``. Rust: ``Vec::into_raw_parts``."""
        self._mut()
        parts = (self._ptr, self._len, self._cap)
        self._live = False
        if self._fin is not None:
            self._fin.detach()
        self._ptr, self._len, self._cap = ffi.NULL, 0, 0
        return parts

    def close(self) -> None:
        """Free the buffer (Rust: ``drop``). Idempotent."""
        if not self._live:
            return
        self._live = False
        self._gen += 1
        p, self._ptr = self._ptr, ffi.NULL
        self._len = self._cap = 0
        if self._fin is not None:
            self._fin.detach()
        if p != ffi.NULL:
            self.ALLOCATOR.free(p)

    @property
    def closed(self) -> bool:
        """Whether the vector was released or moved."""
        return not self._live

    def __enter__(self: _V) -> _V:
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
        if not self._live:
            return f"<{self._what} released>"
        return f"<{self._what} len={self._len} cap={self._cap}>"


class KVec(Vec):
    """A :class:`Vec` in ``kmalloc`` memory. Rust: ``kernel::alloc::KVec``."""

    ALLOCATOR: ClassVar[type[Allocator]] = Kmalloc
    __slots__ = ()


class VVec(Vec):
    """A :class:`Vec` in ``vmalloc`` memory. Rust: ``kernel::alloc::VVec``."""

    ALLOCATOR: ClassVar[type[Allocator]] = Vmalloc
    __slots__ = ()


class KVVec(Vec):
    """A :class:`Vec` in ``kvmalloc`` memory. Rust: ``kernel::alloc::KVVec``."""

    ALLOCATOR: ClassVar[type[Allocator]] = KVmalloc
    __slots__ = ()


# ---------------------------------------------------------------- fault injection


class FailNth:
    """Context manager: the ``n``-th allocation from now by this thread fails.

    Returned by :func:`fail_nth`. :attr:`triggered` tells, after the block,
    whether the failure was injected (the ``n``-th allocation happened).
    """

    def __init__(self, n: int) -> None:
        """See :func:`fail_nth`. Raises ``Error(EINVAL)`` for ``n < 1``."""
        # The task's counter is an unsigned long: larger n is EINVAL, not OverflowError.
        self.n = arg_int(n, "fail_nth n", 1, U64_MAX)
        self.triggered = False
        self._armed = False

    def __enter__(self) -> FailNth:
        if self._armed:
            raise Error(code.EBUSY, "this fail_nth() is already active")
        if lib.pfl_fail_nth_get() != 0:
            raise Error(code.EBUSY, "fail_nth is already armed on this thread (no nesting)")
        lib.pfl_fail_nth_set(self.n)
        self._armed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.triggered = lib.pfl_fail_nth_get() == 0
        lib.pfl_fail_nth_set(0)
        self._armed = False


def fail_nth(n: int) -> FailNth:
    """Fail the ``n``-th allocation (1 = the next one) made by the calling thread.

    ``with alloc.fail_nth(3) as f: ...`` arms it; leaving the block disarms
    it, and ``f.triggered`` says whether it fired. Allocations with
    ``__GFP_NOFAIL`` never fail (and are not counted down). Like the
    kernel's ``/proc/<pid>/fail-nth``.

    Raises:
        Error: ``EINVAL`` for ``n < 1``; ``EBUSY`` (on entry) if fail_nth is
            already armed on this thread.

    Thread context: affects only the calling thread (its ``task_struct``).
    """
    return FailNth(n)


class _FailProbability:
    def __init__(self, ppm: int) -> None:
        self.ppm = arg_int(ppm, "fail_probability ppm", 0, 1_000_000)

    def __enter__(self) -> _FailProbability:
        lib.pfl_fail_probability_set(self.ppm)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lib.pfl_fail_probability_set(0)


def fail_probability(ppm: int) -> _FailProbability:
    """Fail each allocation of the calling thread with probability ``ppm``/10⁶.

    A context manager; leaving the block turns it off. Like the kernel's
    ``failslab`` ``probability`` (pseudo-random, per thread).

    Raises:
        Error: ``EINVAL`` unless ``0 <= ppm <= 1_000_000``.
    """
    return _FailProbability(ppm)


def injected_failures() -> int:
    """Allocation failures injected so far, over all threads."""
    return int(lib.pfl_injected_failures())


# ---------------------------------------------------------------- kmemleak view


@dataclass(frozen=True)
class CacheInfo:
    """One slab cache (or pseudo-cache ``kmalloc``/``vmalloc``/``pages``)."""

    name: str
    live: int
    """Objects allocated and not yet freed."""
    total: int
    """Objects ever allocated."""
    object_size: int
    """Bytes per object (0 for the pseudo-caches)."""


@dataclass(frozen=True)
class LiveObjects:
    """A snapshot of the runtime's live-object counters (the kmemleak view)."""

    total: int
    """Live objects over all caches."""
    bytes: int
    """Bytes in live objects."""
    allocations: int
    """Allocations ever made."""
    caches: tuple[CacheInfo, ...]

    def live(self, cache: str) -> int:
        """Live objects of every cache named ``cache`` (0 if none)."""
        return sum(c.live for c in self.caches if c.name == cache)


def live_objects() -> LiveObjects:
    """Count live kernel objects, in total and per cache.

    Waits for RCU-deferred frees first (``pfl_slab_quiesce()``), so the
    numbers are final for everything freed before the call.

    Thread context: process context (may sleep for an RCU grace period).
    """
    lib.pfl_slab_quiesce()
    name = ffi.new("char[64]")
    live = ffi.new("long *")
    total = ffi.new("unsigned long *")
    osize = ffi.new("unsigned int *")
    caches = []
    i = 0
    while lib.pfl_slab_cache_info(i, name, 64, live, total, osize) == 0:
        info = CacheInfo(ffi.string(name).decode(), int(live[0]), int(total[0]), int(osize[0]))
        caches.append(info)
        i += 1
    return LiveObjects(
        total=int(lib.pfl_slab_live_objects()),
        bytes=int(lib.pfl_slab_live_bytes()),
        allocations=int(lib.pfl_slab_total_allocs()),
        caches=tuple(caches),
    )
