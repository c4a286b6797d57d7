"""Ownership machinery shared by the safe abstractions (internal).

- :class:`LeakWarning` and :func:`leak_finalizer`: the leak safety net. An
  owner of kernel memory (``KBox``, ``Arc``, ``ListLinks`` ...) that is
  garbage collected without ``close()`` only *reports* the leak; it never
  frees, because freeing from a finalizer would make correctness depend
  on the garbage collector (and could free memory C still uses).
- :class:`ForeignRegistry`: the book-keeping behind
  :class:`pyforlinux.types.ForeignOwnable`. Every pointer handed to C by
  ``into_foreign()`` is entered here with its owner kind and state, so
  that misuse is an :class:`~pyforlinux.error.Error` instead of undefined
  behaviour:

  ========================================  =======  ===========================
  misuse                                    errno    why
  ========================================  =======  ===========================
  pointer never returned by into_foreign    ENOENT   no such foreign object
  second ``from_foreign`` (last reference)  ENOENT   no longer foreign-owned
  ``borrow``/``borrow_mut`` after from_...  ENOENT   no longer foreign-owned
  ``from_foreign`` as the wrong type        EINVAL   e.g. a KBox pointer as Arc
  ``NULL`` to ``from_foreign``/``borrow``   EINVAL   (``try_from_foreign`` -> None)
  ``borrow_mut`` while borrowed             EBUSY    borrows would overlap
  ``borrow`` while ``borrow_mut`` is live   EBUSY    borrows would overlap
  ``from_foreign`` while borrowed           EBUSY    would free a borrowed object
  use of a borrow after its end             EINVAL   the borrow was released
  ========================================  =======  ===========================

  The registry is consulted before any pointer is dereferenced, so none
  of these ever reads freed memory.

- :class:`NoCopy`: the base of every owning and borrowing type. A copy
  (``copy.copy``, ``copy.deepcopy``) or a pickle of an owner would make two
  owners of one C object (double free, a second ``call_rcu`` of one
  ``rcu_head``, a lock "held" by two guards); it raises :class:`CopyError`,
  which is ``Error(EINVAL)`` and also a ``TypeError`` (Python's convention
  for objects that cannot be pickled). Where Rust has ``Clone`` (``Arc``,
  ``ARef``) the type has an explicit ``clone()`` instead.
- the argument-conversion layer (:func:`arg_int`, :func:`arg_bytes`,
  :func:`arg_float`, :func:`arg_callable`): every value a caller hands the
  safe API is turned into a plain ``int``/``bytes``/``float`` (or checked
  callable) *first*, raising ``Error(EINVAL)`` for anything else. Only then
  is the owner's liveness checked, and between that check and the C access
  no user Python can run (no ``__index__``, ``__float__``, ``__bytes__``,
  ``__len__`` or rich comparison of a caller's object). The results are
  exact built-in types, so later comparisons and ``len()`` run no user code.

Nothing here is public API; the public names are re-exported by
:mod:`pyforlinux.alloc` (``LeakWarning``) and :mod:`pyforlinux.types`.
"""

from __future__ import annotations

import atexit
import operator
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, NoReturn, TypeVar

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code

V = TypeVar("V")

U64_MAX: Final = (1 << 64) - 1
S64_MIN: Final = -(1 << 63)
S64_MAX: Final = (1 << 63) - 1


# ---------------------------------------------------------------- argument conversion


class ArgTypeError(Error, TypeError):
    """An argument of the wrong type: ``Error(EINVAL)``, also a ``TypeError``."""

    def __init__(self, message: str | None = None) -> None:
        """``Error(EINVAL)`` saying which argument and what it was."""
        super().__init__(code.EINVAL, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._message,))


def arg_int(value: object, what: str, lo: int = 0, hi: int = U64_MAX) -> int:
    """``value`` as an exact ``int`` in ``lo..hi`` (inclusive).

    Integers and objects with ``__index__`` are accepted (``operator.index``,
    so user code runs *here*, before any liveness check); ``bool``, ``float``,
    ``str``, ``None`` and the rest are not. The result is a plain ``int``
    (never a subclass), so comparing it later runs no user code.

    Raises:
        Error: ``EINVAL`` if ``value`` is outside ``lo..hi``;
            :class:`ArgTypeError` (``EINVAL``, also a ``TypeError``) if it
            is not an integer.
    """
    if type(value) is not int:
        if isinstance(value, bool):
            raise ArgTypeError(f"{what} must be an integer, not a bool")
        try:
            idx = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise ArgTypeError(f"{what} must be an integer, not {type(value).__name__}") from None
        value = int.__index__(idx)  # an exact int, whatever __index__ returned
    assert type(value) is int
    if not lo <= value <= hi:
        raise Error(code.EINVAL, f"{what} {value} is outside {lo}..{hi}")
    return value


def arg_float(value: object, what: str) -> float:
    """``value`` as an exact ``float`` (ints and ``__float__``/``__index__`` objects).

    Raises:
        Error: ``EINVAL`` for ``bool``, ``str``, ``None`` and the rest.
    """
    if type(value) is float:
        return value
    if isinstance(value, (bool, str, bytes, bytearray)) or value is None:
        raise ArgTypeError(f"{what} must be a number, not {type(value).__name__}")
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as e:
        raise ArgTypeError(f"{what} must be a number: {e}") from None
    return float.__float__(f)


def arg_bytes(value: object, what: str) -> bytes:
    """``value`` copied once into an exact ``bytes`` (any buffer-protocol object).

    The copy is made with the buffer's real length (``memoryview.tobytes``),
    never with a length the object reports through ``__len__``. ``str``,
    integers (``bytes(5)`` is five zero bytes) and non-buffer objects are
    refused.

    Raises:
        Error: ``EINVAL`` if ``value`` is not a bytes-like object.
    """
    if type(value) is bytes:
        return value
    if isinstance(value, (str, int)):
        raise ArgTypeError(f"{what} must be bytes-like, not {type(value).__name__}")
    try:
        with memoryview(value) as mv:  # type: ignore[arg-type]
            return mv.tobytes()
    except TypeError:
        raise ArgTypeError(f"{what} must be bytes-like, not {type(value).__name__}") from None


def arg_callable(value: V, what: str) -> V:
    """``value`` if it is callable (checked at registration, not when called).

    Raises:
        Error: ``EINVAL`` if ``value`` is not callable.
    """
    if not callable(value):
        raise ArgTypeError(f"{what} must be callable, not {type(value).__name__}")
    return value


# ---------------------------------------------------------------- task identity


class TaskIdentity:
    """The runtime task (``struct task_struct``) of one thread, as an identity.

    Guards and ``current`` compare these with ``is``: a thread's identity is
    made once, from ``pfl_current()``, and is never reused -- unlike
    ``threading.get_ident()``, which the OS hands to the next thread once
    one exits. It holds a reference to the ``task_struct``
    (``get_task_struct()``), so that the task stays readable while anything
    remembers it, even after its thread ended; :attr:`alive` turns false
    when the thread ends.

    :attr:`held` lists the thread-bound guards (locks, RCU read sections,
    Revocable accesses) the task holds; a thread that ends holding any is
    reported (``task exits holding N lock(s)``, the kernel's
    ``debug_check_no_locks_held()``) and they are released there, on the
    ending thread, so the locks stay usable by others.
    """

    __slots__ = ("__weakref__", "alive", "deferred", "held", "raw")

    def __init__(self) -> None:
        """The calling thread's identity (use :func:`task_identity`)."""
        raw = lib.pfl_current()
        lib.get_task_struct_fn(raw)
        self.raw: Any = raw
        self.alive = True
        self.held: dict[int, weakref.ref[Any]] = {}
        # Guards of this task garbage collected on another thread (a reference
        # cycle collected there): only this task may release them, which it
        # does on its next pyforlinux call (task_identity()) or when it ends.
        self.deferred: list[Any] = []
        Finalizer(self, lib.put_task_struct, raw)
        _identities.add(self)

    def hold(self, guard: Any) -> None:
        """Record that this task holds ``guard`` (released if the task ends first)."""
        self.held[id(guard)] = weakref.ref(guard)

    def unhold(self, guard: Any) -> None:
        """Forget ``guard`` (released normally)."""
        self.held.pop(id(guard), None)

    def defer_release(self, guard: Any) -> None:
        """``guard`` (held by this task) was collected on another thread: keep it
        (resurrected) until this task releases it."""
        if self.alive:
            self.held.pop(id(guard), None)
            self.deferred.append(guard)

    def release_deferred(self) -> None:
        """Release what :meth:`defer_release` kept (on this task only)."""
        while self.deferred:
            guard = self.deferred.pop()
            try:
                guard._task_exit()
            except Exception as e:  # pragma: no cover - a release never raises
                warnings.warn(f"pyforlinux: releasing a collected guard: {e!r}",
                              RuntimeWarning, stacklevel=2)

    def __repr__(self) -> str:
        return f"<TaskIdentity pid {int(self.raw.pid)} {'alive' if self.alive else 'exited'}>"


class _ThreadEnd:
    """Kept in the thread-local storage: collected on the ending thread itself.

    The only other place it is collected is a fork child dropping the other
    threads' state: told apart by the process id (the forking thread's own
    is renewed in the child), not by a thread id the OS reuses.
    """

    __slots__ = ("ident", "pid")

    def __init__(self, ident: TaskIdentity) -> None:
        self.ident = ident
        self.pid = os.getpid()

    def __del__(self, _getpid: Callable[[], int] = os.getpid) -> None:
        ident = self.ident
        ident.alive = False
        # (_exiting is None once interpreter teardown cleared this module)
        if _exiting is not False or _getpid() != self.pid:
            return  # interpreter exit, or a fork child dropping other threads' state
        # (weakref.ref's call: an entry may be the guard's Finalizer, which is
        # its weakref too, and whose own call would run it)
        guards = [g for r in list(ident.held.values()) if (g := _deref(r)) is not None]
        guards += ident.deferred
        ident.deferred = []
        ident.held.clear()
        if not guards:
            return
        try:
            lib.pfl_lockdep_report_exit_held()
            for g in reversed(guards):
                g._task_exit()
        except Exception as e:  # pragma: no cover - never raise from a destructor
            warnings.warn(f"pyforlinux: releasing the guards of an ending thread: {e}",
                          RuntimeWarning, stacklevel=1)


_tls = threading.local()
#: The thread-local storage of :func:`task_identity`: ``TASK_TLS.ident`` is
#: the calling thread's identity once made (an attribute read: cheaper than
#: the call, for the owner checks of guards on every use).
TASK_TLS: Final = _tls
_identities: weakref.WeakSet[TaskIdentity] = weakref.WeakSet()


def task_identity() -> TaskIdentity:
    """The calling thread's :class:`TaskIdentity` (made on first use)."""
    try:
        ident: TaskIdentity = _tls.ident
        if ident.deferred:
            ident.release_deferred()
        return ident
    except AttributeError:
        ident = TaskIdentity()
        _tls.end = _ThreadEnd(ident)
        _tls.ident = ident
        return ident


# ---------------------------------------------------------------- fork()

_fork_hooks: list[Callable[[], None]] = []
in_fork_child = False
"""True in a process made by ``os.fork()`` from one that had loaded pyforlinux."""


def after_fork_in_child(hook: Callable[[], None]) -> None:
    """Run ``hook()`` in a fork child, after the runtime is repaired (module state)."""
    _fork_hooks.append(hook)


def _before_fork() -> None:
    lib.pfl_fork_prepare()  # pauses liburcu's workers, takes every runtime lock


def _after_fork_parent() -> None:
    lib.pfl_fork_parent()


def _after_fork_child() -> None:
    global in_fork_child, _tls
    lib.pfl_fork_child()
    in_fork_child = True
    me = getattr(_tls, "ident", None)
    end = getattr(_tls, "end", None)
    if end is not None:
        end.pid = os.getpid()  # the forking thread lives on in the child
    # Other threads are gone: their identities are dead (their guards' locks
    # are orphans, refused with EDEADLK by the lock layer).
    for ident in list(_identities):
        if ident is not me:
            ident.alive = False
    # Module-level Python locks another thread may have held at the fork.
    fresh: dict[type, Callable[[], Any]] = {
        type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock,
    }
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "pyforlinux" or name.startswith("pyforlinux.")):
            continue
        for attr, value in list(vars(mod).items()):
            make = fresh.get(type(value))
            if make is not None:
                setattr(mod, attr, make())
    for hook in _fork_hooks:
        hook()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
)


# ---------------------------------------------------------------- teardown


def run_all(steps: Iterable[Callable[[], object]], what: str) -> None:
    """Run every step of a teardown, even when some raise; then raise the first error.

    A release that raises (a devres action, a driver data ``close()``) must
    not leave the rest undone -- the device half-bound, later resources
    live for ever. The kernel's release callbacks return ``void``: here each
    one still runs, the later failures are reported (``RuntimeWarning``),
    and the first is raised once everything is done.
    """
    first: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as e:
            if first is None:
                first = e
            else:
                warnings.warn(f"pyforlinux: {what}: another release failed too: {e!r}",
                              RuntimeWarning, stacklevel=2)
    if first is not None:
        raise first


# ---------------------------------------------------------------- no copies


class CopyError(Error, TypeError):
    """A copy or pickle of an owning/borrowing object: ``Error(EINVAL)``, also a ``TypeError``."""

    def __init__(self, message: str | None = None) -> None:
        """``Error(EINVAL)`` saying what was copied."""
        super().__init__(code.EINVAL, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._message,))


def _refuse_copy(obj: object, how: str) -> NoReturn:
    name = type(obj).__name__
    hint = " (use clone() for another reference)" if callable(getattr(obj, "clone", None)) else ""
    raise CopyError(
        f"a {name} owns or borrows a C object and cannot be {how}: a copy would be "
        f"a second owner{hint}"
    )


class NoCopy:
    """Base of owning and borrowing types: copying and pickling raise :class:`CopyError`.

    Rust: such types are neither ``Copy`` nor (unless stated) ``Clone``.
    """

    __slots__ = ()

    def __copy__(self) -> NoReturn:
        _refuse_copy(self, "copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        _refuse_copy(self, "copied")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        _refuse_copy(self, "pickled or copied")

    def __reduce__(self) -> NoReturn:
        _refuse_copy(self, "pickled or copied")

    def __getstate__(self) -> NoReturn:
        _refuse_copy(self, "pickled or copied")


class LeakWarning(ResourceWarning):
    """A pyforlinux owner of kernel memory was garbage collected unreleased.

    Reported by the leak safety net (a ``weakref.finalize``); the memory is
    *not* freed (the kernel's kmemleak reports, it does not free). Shown by
    default (the module installs a ``"default"`` filter for this category).
    """


warnings.filterwarnings("default", category=LeakWarning)

def _report_leak(what: object, site: tuple[str, int, str] | None = None) -> None:
    made = f" (created at {Site(*site)})" if site is not None else ""
    warnings.warn(
        f"pyforlinux: {what}{made} was garbage collected without being released "
        "(call close() or use 'with'); its kernel memory is leaked",
        LeakWarning,
        stacklevel=2,
    )


@dataclass(frozen=True)
class Site:
    """Where an owner was created: the first Python frame outside
    pyforlinux's own layers (a driver, a test, a script) -- ``file``,
    ``line``, ``function`` -- as kmemleak names a kmalloc caller."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
_DRIVERS = _PKG + "drivers" + os.sep
_track_sites = os.environ.get("PYFORLINUX_OWNER_SITES", "") not in ("", "0")


def track_owner_sites(on: bool) -> bool:
    """Record the creating frame of each owner from now on (or stop);
    returns the previous setting. Off by default (``PYFORLINUX_OWNER_SITES=1``
    turns it on at import); ``pyforlinux run`` turns it on."""
    global _track_sites
    old, _track_sites = _track_sites, on
    return old


_SITE_DEPTH = 12  # frames walked at most: the cost stays bounded


def _site() -> tuple[str, int, str] | None:
    """The creating frame, cheaply: a tuple (made a :class:`Site` when reported)."""
    f: FrameType | None = sys._getframe(2)
    for _ in range(_SITE_DEPTH):
        if f is None:
            break
        code = f.f_code
        name = code.co_filename
        if not name.startswith(_PKG) or name.startswith(_DRIVERS):
            return (name, f.f_lineno, code.co_name)
        f = f.f_back
    return None


def _as_site(raw: Any) -> Site | None:
    return None if raw is None else Site(*raw)


# Armed Finalizers, keyed by themselves (hashed by identity, whatever their
# object). An entry keeps its Finalizer, and so its weakref and callback,
# alive until it runs or is detached.
_armed: dict[Finalizer, Finalizer] = {}
_exiting = False


def _at_exit() -> None:
    global _exiting
    _exiting = True


atexit.register(_at_exit)


def _collected(fin: Finalizer) -> None:
    # The weakref callback: fin is the Finalizer itself. A detached one is no
    # longer in _armed, and nothing runs.
    if _armed.pop(fin, None) is not None and not _exiting:
        fin._func(*fin._args)


if TYPE_CHECKING:
    _FinalizeBase = weakref.finalize[..., Any]
else:
    _FinalizeBase = weakref.finalize

# weakref.ref's own constructor and call, bound once: the Finalizer
# overrides both (weakref.finalize's interface), leak_finalizer() builds one
# without a Python-level __new__.
_new_ref: Final = weakref.ref.__new__
_deref: Final = weakref.ref.__call__


class Finalizer(weakref.ref, _FinalizeBase):  # type: ignore[type-arg]
    """``weakref.finalize(obj, func, *args)`` with ``atexit = False``, made cheap.

    The same interface (``__call__``, :meth:`detach`, :meth:`peek`,
    :attr:`alive`, :attr:`atexit`) and semantics: ``func(*args)`` runs at
    most once, when ``obj`` is garbage collected or the finalizer is
    called, unless detached; never at or after interpreter exit. It is one
    object, a ``weakref.ref`` with a callback, plus a dict entry while
    armed: a fraction of ``weakref.finalize`` (its registry, counter and
    atexit bookkeeping, and a weakref beside it), which matters on
    per-operation paths: every owned object (a ``KBox``, an ``ARef``, a
    borrow) arms one. A detached Finalizer that outlives its object sees
    the callback once more, and does nothing (it is no longer armed).
    Compared and hashed by identity, as ``weakref.finalize``.
    """

    __slots__ = ("_args", "_func")
    _func: Callable[..., Any]
    _args: tuple[Any, ...]

    def __new__(cls, obj: object, func: Callable[..., Any], /, *args: Any) -> Finalizer:
        self: Finalizer = _new_ref(cls, obj, _collected)
        self._func = func
        self._args = args
        _armed[self] = self
        return self

    def __init__(self, obj: object, func: Callable[..., Any], /, *args: Any) -> None:
        """Armed by ``__new__`` (``weakref.ref.__init__`` takes two arguments)."""

    # By identity, as weakref.finalize (weakref.ref compares and hashes the
    # objects, and an unhashable object's weakref has no hash): the key of
    # _armed.
    __hash__ = object.__hash__
    __eq__ = object.__eq__
    __ne__ = object.__ne__

    def __call__(self, _: Any = None) -> Any:
        """Run ``func(*args)`` now if still armed (and disarm); its result, else ``None``."""
        if _armed.pop(self, None) is not None and not _exiting:
            return self._func(*self._args)
        return None

    def detach(self) -> tuple[Any, Any, tuple[Any, ...], dict[str, Any]] | None:
        """Disarm; ``(obj, func, args, {})`` if it was armed and ``obj`` is alive."""
        if _armed.pop(self, None) is None:
            return None
        obj = _deref(self)
        return None if obj is None else (obj, self._func, self._args, {})

    def peek(self) -> tuple[Any, Any, tuple[Any, ...], dict[str, Any]] | None:
        """``(obj, func, args, {})`` if armed and ``obj`` is alive, else ``None``."""
        obj = _deref(self)
        if obj is None or self not in _armed:
            return None
        return (obj, self._func, self._args, {})

    @property
    def alive(self) -> bool:
        """Whether it is still armed."""
        return self in _armed

    @property
    def atexit(self) -> bool:
        """Always ``False``: never run at interpreter exit."""
        return False

    @atexit.setter
    def atexit(self, value: bool) -> None:
        if value:
            raise ValueError("pyforlinux Finalizers never run at exit")

    def __repr__(self) -> str:
        return f"<Finalizer {'armed' if self.alive else 'dead'} {self._func.__name__}>"


class _Gone:
    pass


def _nothing() -> None:
    pass


#: A Finalizer that ran already (its object was gone at once): what an
#: owner may keep instead of its own once detached. Dropping the detached
#: one frees it, so its callback does not run again when the owner dies.
DETACHED: Final = Finalizer(_Gone(), _nothing)


class OwnerName(tuple[str, str, Any]):
    """``"Kind<type> at 0x..."``, formatted only when shown: ``OwnerName((kind,
    type_name, ptr))``. An owner's name is made for every owner (leak report,
    messages) but read only on errors and leaks; the address formatting
    costs more than the rest of making a small owner.
    """

    __slots__ = ()

    def __str__(self) -> str:
        kind, type_name, ptr = self
        return f"{kind}<{type_name}> at {addr_of(ptr):#x}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def leak_finalizer(obj: object, what: str | OwnerName) -> Finalizer:
    """Arm the leak report for ``obj``; ``detach()`` it when ``obj`` is released.

    ``what`` describes the object (it must not reference ``obj``). Not run
    at interpreter exit. (A :class:`Finalizer`: cheap enough for every owner.)
    """
    # Finalizer(obj, _report_leak, what[, site]), without its Python __new__
    # (one owner per operation on the hot paths arms one of these).
    fin: Finalizer = _new_ref(Finalizer, obj, _collected)
    fin._func = _report_leak
    fin._args = (what, _site()) if _track_sites else (what,)
    _armed[fin] = fin
    return fin


def live_owners() -> dict[int, tuple[str, Site | None]]:
    """The owners armed now (created, not yet released, still alive), by a
    key that stays the same for the owner's life: ``(what, site)``."""
    out: dict[int, tuple[str, Site | None]] = {}
    for fin in list(_armed):
        if fin._func is _report_leak and _deref(fin) is not None:
            args = fin._args
            out[id(fin)] = (str(args[0]), _as_site(args[1]) if len(args) > 1 else None)
    return out


def drop_in_place(data: object) -> None:
    """Drop owned ``data`` (Rust ``drop_in_place``): call its ``close()`` if
    it has one; anything else is left to the garbage collector. Whatever
    ``close()`` raises propagates."""
    close = getattr(data, "close", None)
    if callable(close):
        close()


_UINTPTR: Final = ffi.typeof("uintptr_t")
#: ``pfl_addr_of(p)``: a pointer's address in one C call (a quarter of the
#: cost of the cast and ``int()``; called several times per owner
#: operation). For a ``T *`` or ``T[]`` cdata only: use :func:`addr_of` for
#: anything else.
addr_of_ptr: Final[Callable[[Any], int]] = lib.pfl_addr_of


def addr_of(ptr: Any) -> int:
    """The address of a cffi pointer (or of whatever ``ffi.cast`` takes to ``uintptr_t``:
    an ``int`` is itself), as an ``int``."""
    try:
        return addr_of_ptr(ptr)
    except TypeError:  # not a pointer or array cdata (an int address ...)
        return int(ffi.cast(_UINTPTR, ptr))


class ForeignEntry:
    """One address handed to C by ``into_foreign()``."""

    __slots__ = ("count", "exclusive", "kind", "payload", "shared")

    def __init__(self, kind: type, payload: Any) -> None:
        self.kind = kind
        self.payload = payload
        self.count = 1  # outstanding foreign ownerships (Arc/ARef/unit may have several)
        self.shared = 0  # live ``borrow()``s
        self.exclusive = False  # a live ``borrow_mut()``


class ForeignRegistry(NoCopy):
    """Addresses currently owned by C, with their kind and borrow state.

    Thread context: any thread. No Python lock: the GIL serialises every
    method, because each one's look-up, check and update run with no call
    into Python code in between (only dict operations on ``int`` keys and
    slot attributes), and the GIL changes hands only at calls and backward
    jumps.
    """

    def __init__(self) -> None:
        """An empty registry (the process uses :data:`REGISTRY`)."""
        self._entries: dict[int, ForeignEntry] = {}
        #: Live borrows of every entry together (:meth:`borrow` counts one
        #: up, :meth:`unborrow` down): while it is 0 no address is
        #: borrowed, which a caller checking one for a borrow (an XArray
        #: store) can know without finding the address first.
        self.live_borrows = 0

    def register(self, addr: int, kind: type, payload: Any, *, shareable: bool) -> None:
        """Record one foreign ownership of ``addr``.

        Raises:
            Error: ``EEXIST`` if ``addr`` is already foreign-owned and the
                ownership cannot be shared (a second owner of one box).
        """
        new = ForeignEntry(kind, payload)
        entry = self._entries.setdefault(addr, new)  # one step: no thread in between
        if entry is new:
            return
        if not shareable or entry.kind is not kind:
            raise Error(
                code.EEXIST, f"{addr:#x} is already foreign-owned by a {entry.kind.__name__}"
            )
        entry.count += 1

    def _lookup(self, addr: int, kind: type, what: str) -> ForeignEntry:
        entry = self._entries.get(addr)
        if entry is not None and entry.kind is kind and addr:
            return entry
        self._refuse(addr, kind, what)

    def _refuse(self, addr: int, kind: type, what: str) -> NoReturn:
        """The error of a failed look-up of ``addr`` as ``kind``."""
        if addr == 0:
            raise Error(code.EINVAL, f"{what}: NULL pointer (try_from_foreign takes NULL)")
        entry = self._entries.get(addr)
        if entry is None:
            raise Error(
                code.ENOENT,
                f"{what}: {addr:#x} is not foreign-owned (never returned by into_foreign(), "
                "or already reclaimed by from_foreign())",
            )
        raise Error(
            code.EINVAL,
            f"{what}: {addr:#x} was handed out by {entry.kind.__name__}.into_foreign(), "
            f"not {kind.__name__}",
        )

    def peek(self, addr: int, kind: type) -> Any:
        """The payload of foreign-owned ``addr``, without changing anything.

        Raises:
            Error: ``EINVAL`` (NULL, wrong kind), ``ENOENT`` (not foreign).
        """
        return self._lookup(addr, kind, f"{kind.__name__} lookup").payload

    def take(self, addr: int, kind: type) -> Any:
        """``from_foreign``: give back one ownership of ``addr``; returns the payload.

        Raises:
            Error: ``EINVAL`` (NULL, wrong kind), ``ENOENT`` (unknown or
                already reclaimed), ``EBUSY`` (the last ownership is borrowed).
        """
        entry = self._entries.get(addr)  # (look-up inline: nothing runs until the update)
        if entry is None or entry.kind is not kind or not addr:
            self._refuse(addr, kind, f"{kind.__name__}.from_foreign")
        if entry.count == 1 and (entry.shared or entry.exclusive):
            raise Error(
                code.EBUSY,
                f"{kind.__name__}.from_foreign: {addr:#x} is still borrowed "
                "(release the borrow first)",
            )
        entry.count -= 1
        if entry.count == 0:
            del self._entries[addr]
        return entry.payload

    def borrow(self, addr: int, kind: type, mutable: bool) -> Any:
        """Start a borrow of ``addr``; returns the payload.

        Raises:
            Error: ``EINVAL`` (NULL, wrong kind), ``ENOENT`` (not foreign),
                ``EBUSY`` (would overlap a ``borrow_mut``, or a mutable
                borrow would overlap any borrow).
        """
        entry = self._entries.get(addr)  # (look-up inline: nothing runs until the update)
        if entry is None or entry.kind is not kind or not addr:
            self._refuse(addr, kind, f"{kind.__name__}.borrow{'_mut' if mutable else ''}")
        if entry.exclusive or (mutable and entry.shared):
            raise Error(
                code.EBUSY,
                f"{kind.__name__}.borrow{'_mut' if mutable else ''}: {addr:#x} is already "
                f"borrowed{' mutably' if entry.exclusive else ''}; a borrow_mut must not overlap",
            )
        if mutable:
            entry.exclusive = True
        else:
            entry.shared += 1
        self.live_borrows += 1
        return entry.payload

    def unborrow(self, addr: int, mutable: bool) -> None:
        """End a borrow started by :meth:`borrow`."""
        self.live_borrows -= 1
        entry = self._entries.get(addr)
        if entry is None:  # pragma: no cover - take() refuses while borrowed
            return
        if mutable:
            entry.exclusive = False
        else:
            entry.shared -= 1

    def is_borrowed(self, addr: int) -> bool:
        """Whether ``addr`` is foreign-owned and has a live borrow."""
        entry = self._entries.get(addr)
        return entry is not None and (entry.shared > 0 or entry.exclusive)

    def contains(self, addr: int) -> bool:
        """Whether ``addr`` is currently foreign-owned."""
        return addr in self._entries

    def count(self, addr: int) -> int:
        """How many foreign ownerships of ``addr`` are outstanding."""
        entry = self._entries.get(addr)
        return entry.count if entry else 0


REGISTRY = ForeignRegistry()
"""The process-wide registry of foreign-owned pointers."""


class ForeignBorrow(NoCopy, Generic[V]):
    """A live borrow of a foreign-owned object (``ForeignOwnable::borrow``).

    A context manager: ``with KBox.borrow(ptr) as view: ...``; or call
    :meth:`get` and :meth:`release` yourself. While it is live,
    ``from_foreign`` of the last ownership raises ``EBUSY`` and a
    ``borrow_mut`` overlapping it raises ``EBUSY``. Views obtained from it
    check that it is still live and raise ``EINVAL`` afterwards. A borrow
    dropped without :meth:`release` ends when it and its views are garbage
    collected (it holds no memory, only book-keeping).

    Rust: the lifetime ``'a`` of ``ForeignOwnable::Borrowed<'a>``.
    """

    __slots__ = (
        "__weakref__", "_addr", "_live", "_make_view", "_mutable", "_registry",
        "view_holds_borrow",
    )

    def __init__(
        self,
        registry: ForeignRegistry,
        addr: int,
        mutable: bool,
        make_view: Callable[[ForeignBorrow[V]], V],
        *,
        view_holds_borrow: bool = True,
    ) -> None:
        self._addr = addr
        self._mutable = mutable
        # False when the view is the shared object itself (ARef, RcuBox,
        # Unit): it cannot keep the borrow alive, so a holder of borrows
        # (an XArray guard) must keep this borrow until it ends them.
        self.view_holds_borrow = view_holds_borrow
        self._registry = registry
        self._live = True  # ended by release() or, dropped, by __del__
        # The view refers to this borrow (keeping it live), never the
        # reverse, so a dropped borrow ends as soon as its last view goes.
        self._make_view = make_view

    @property
    def mutable(self) -> bool:
        """Whether this is a ``borrow_mut``."""
        return self._mutable

    @property
    def address(self) -> int:
        """The borrowed foreign pointer, as an ``int``."""
        return self._addr

    def is_live(self) -> bool:
        """Whether the borrow has not ended."""
        return self._live

    def check(self) -> None:
        """Raise ``Error(EINVAL)`` if the borrow has ended."""
        if not self._live:
            raise Error(code.EINVAL, f"borrow of {self._addr:#x} used after it ended")

    def get(self) -> V:
        """The borrowed view.

        Raises:
            Error: ``EINVAL`` if the borrow has ended.
        """
        if not self._live:  # (check()'s test inline: its message stays there)
            self.check()
        return self._make_view(self)

    def release(self) -> None:
        """End the borrow (idempotent)."""
        if self._live:
            self._live = False
            self._registry.unborrow(self._addr, self._mutable)

    def __del__(self) -> None:
        # A dropped borrow ends (it holds book-keeping only, no memory):
        # release(), inline. (No _live: never constructed.)
        if getattr(self, "_live", False):
            self._live = False
            self._registry.unborrow(self._addr, self._mutable)

    def __enter__(self) -> V:
        return self.get()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "live" if self._live else "ended"
        return f"<ForeignBorrow{'Mut' if self._mutable else ''} {self._addr:#x} {state}>"
