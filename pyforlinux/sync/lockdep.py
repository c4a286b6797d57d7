"""Lock classes and the lock-order validator (lockdep), seen from Python.

Every lock the safe layer takes (:class:`~pyforlinux.sync.lock.mutex.Mutex`,
:class:`~pyforlinux.sync.lock.spinlock.SpinLock`, the wait queue of a
:class:`~pyforlinux.sync.condvar.CondVar`) is a real C lock of the runtime,
so it goes through the runtime's validator (``csrc/runtime/lockdep.c``)
exactly like the kernel C's own locks: one class graph for both.

Lock classes
    A class is a :class:`LockClassKey` (a C ``struct lock_class_key``).
    :func:`static_lock_class` gives the key of a source line, created once
    and never freed (the kernel's ``static struct lock_class_key``, Rust's
    ``static_lock_class!()``): every lock created at one line shares a class,
    as every ``mutex_init()`` at one line does in C. :meth:`LockClassKey.new_dynamic`
    makes a key that is unregistered (its classes and their ordering
    edges forgotten) by :meth:`LockClassKey.close`.

What the validator catches
    - **inversion**: A then B in one task, B then A in another, even at
      different times and without any deadlock happening; the report names
      the Python acquisition site (file:line in function, with up to two
      callers) of both locks of every edge of the cycle. A safe-layer
      acquisition names its site by reference (frame, code object,
      instruction offset); the C validator formats it through
      :func:`pfl_lockdep_py_site` only when a report or a new edge needs it,
      which costs nothing on the common path (a guard whose function has
      returned by then is named ``(a frame that has returned)``);
    - **recursion**: taking a lock the task already holds (checked here, in
      Python, *before* calling C, whose answer is BUG: a certain deadlock):
      always :class:`~pyforlinux.error.Error` ``EDEADLK``; and nesting two
      locks of one class (a report: use distinct keys);
    - **might_sleep**: sleeping (Mutex, CondVar wait, synchronize_rcu,
      schedule_timeout, msleep) while holding a SpinLock or inside an RCU
      read section;
    - **bad unlock**: unlocking a lock the task does not hold (the safe
      layer cannot do this; kernel C can).

What it does not catch
    Orders through locks that bypass the runtime (``threading.Lock``,
    other libraries' pthread locks, the GIL), read/write subtleties
    (rwlocks are plain locks here), interrupt safety (there are no
    interrupts), deadlocks that involve no lock (two threads waiting on each
    other's CondVar), and spinning Python code that blocks without entering
    C (``time.sleep`` under a SpinLock). Classes are per key and subclass,
    not per lock: two locks of one class taken in both orders are a
    recursion report, not an inversion.

Strict mode
    When strict (:func:`set_strict`; on by default under pytest, or with
    ``PYFORLINUX_LOCKDEP_STRICT=1``), a safe-layer operation whose own
    validation produced an inversion, recursion or might_sleep report
    raises :class:`~pyforlinux.error.Error` ``EDEADLK`` carrying the report
    text, before blocking (so without the deadlock having to happen). The
    report is counted either way. Only reports made by the calling thread
    count (``pfl_lockdep_thread_count()``), so concurrent threads never
    raise for each other.

C: csrc/runtime/lockdep.c, include/linux/lockdep.h.
Rust: rust/kernel/sync.rs (``LockClassKey``, ``static_lock_class!``)
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any, Final, Self

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code

try:
    from pyforlinux._owner import LeakWarning as _LeakWarning
except ImportError:  # pragma: no cover - the ownership module is optional here
    _LeakWarning = ResourceWarning  # type: ignore[misc,assignment]

#: GFP_KERNEL | __GFP_ZERO (module level: a class body would mangle ``__GFP_ZERO``).
_GFP_ZEROED: Final = lib.GFP_KERNEL | lib.__GFP_ZERO

__all__ = [
    "LockClassKey",
    "ReportKind",
    "count",
    "counts",
    "held_depth",
    "is_enabled",
    "is_strict",
    "last_report",
    "might_sleep",
    "nr_classes",
    "set_enabled",
    "set_quiet",
    "set_strict",
    "static_lock_class",
    "strict_mode",
    "thread_count",
    "thread_last_report",
]

_SYNC_DIR: Final = os.path.dirname(os.path.abspath(__file__))
#: The source files of this package (``co_filename`` of its code): frames
#: in them are the safe layer's, not the user's. A set test costs less
#: than a prefix test on every ``lock()``.
SYNC_FILES: Final = frozenset(
    os.path.join(d, f) for d, _, fs in os.walk(_SYNC_DIR) for f in fs if f.endswith(".py")
)
_CTX_LEN: Final = 159  # csrc/runtime/lockdep.c CTX_LEN, minus the NUL
_REPORT_LEN: Final = 4096


class ReportKind(enum.IntEnum):
    """What the validator reports (``enum pfl_lockdep_kind``)."""

    INVERSION = lib.PFL_LOCKDEP_INVERSION
    RECURSION = lib.PFL_LOCKDEP_RECURSION
    MIGHT_SLEEP = lib.PFL_LOCKDEP_MIGHT_SLEEP
    BAD_UNLOCK = lib.PFL_LOCKDEP_BAD_UNLOCK


#: The kinds a strict-mode operation raises for.
_STRICT_KINDS: Final = (ReportKind.INVERSION, ReportKind.RECURSION, ReportKind.MIGHT_SLEEP)


def _leak(what: str) -> None:
    warnings.warn(
        f"pyforlinux: {what} was garbage collected without close(); its kernel memory is leaked",
        _LeakWarning,
        stacklevel=2,
    )


def _warn_leak(message: str) -> None:
    """A leak warning (``LeakWarning``, a ``ResourceWarning``) from a finalizer."""
    warnings.warn(f"pyforlinux: {message}", _LeakWarning, stacklevel=3)


# ---------------------------------------------------------------------------
# switches and counters


def set_enabled(on: bool) -> None:
    """Turn order validation on or off, for every task (``pfl_lockdep_set_enabled``).

    Off, no ordering edges are recorded and no inversion is found;
    ownership (``lockdep_assert_held``), recursion on one lock and
    might_sleep are still checked. On by default.
    """
    lib.pfl_lockdep_set_enabled(1 if on else 0)


def is_enabled() -> bool:
    """Whether order validation is on."""
    return bool(lib.pfl_lockdep_enabled())


def set_quiet(on: bool) -> None:
    """Stop (or resume) printing reports to the kernel log; they are still counted."""
    lib.pfl_lockdep_set_quiet(1 if on else 0)


_strict: bool | None = None


def _strict_default() -> bool:
    env = os.environ.get("PYFORLINUX_LOCKDEP_STRICT")
    if env is not None:
        return env.strip().lower() not in ("", "0", "no", "off", "false")
    return "_pytest" in sys.modules or "pytest" in sys.modules


def set_strict(on: bool) -> None:
    """Make safe-layer operations raise for the reports they produce (see module doc).

    Process-wide. The default is on under pytest (or
    ``PYFORLINUX_LOCKDEP_STRICT=1``), off otherwise.
    """
    global _strict
    _strict = bool(on)
    lib.pfl_sync_strict = _strict  # what lock() reads, in C


def is_strict() -> bool:
    """Whether strict mode is on."""
    if _strict is None:
        set_strict(_strict_default())
    return bool(_strict)


@contextmanager
def strict_mode(on: bool) -> Iterator[None]:
    """``with strict_mode(False):`` — strict mode set for the block, then restored."""
    old = is_strict()
    set_strict(on)
    try:
        yield
    finally:
        set_strict(old)


def count(kind: ReportKind) -> int:
    """How many reports of ``kind`` all tasks made so far (``pfl_lockdep_count``)."""
    return int(lib.pfl_lockdep_count(int(kind)))


def counts() -> dict[str, int]:
    """Every kind's count, by lower-case name (``{"inversion": 0, ...}``)."""
    return {k.name.lower(): count(k) for k in ReportKind}


def thread_count(kind: ReportKind) -> int:
    """Reports of ``kind`` made by the calling thread (``pfl_lockdep_thread_count``)."""
    return int(lib.pfl_lockdep_thread_count(int(kind)))


def _read(fn: Callable[[Any, int], int]) -> str:
    buf = ffi.new("char[]", _REPORT_LEN)
    fn(buf, _REPORT_LEN)
    return str(ffi.string(buf).decode(errors="replace"))


def last_report() -> str:
    """The text of the last report any task made ("" if none)."""
    return _read(lib.pfl_lockdep_last_report)


def thread_last_report() -> str:
    """The text of the last report the calling thread made ("" if none)."""
    return _read(lib.pfl_lockdep_thread_last_report)


def nr_classes() -> int:
    """Lock classes the validator has created (ids are never reused)."""
    return int(lib.pfl_lockdep_nr_classes())


def held_depth() -> int:
    """How many locks the calling task holds (``lockdep_depth``)."""
    return int(lib.pfl_lockdep_depth())


# ---------------------------------------------------------------------------
# Python acquisition sites


def caller_frame() -> FrameType | None:
    """The innermost frame outside pyforlinux/sync (the user's call site)."""
    f: FrameType | None = sys._getframe(1)
    while f is not None and f.f_code.co_filename in SYNC_FILES:
        f = f.f_back
    return f


_basenames: dict[str, str] = {}


def _basename(path: str) -> str:
    name = _basenames.get(path)
    if name is None:
        name = _basenames[path] = os.path.basename(path)
    return name


def acquire_site() -> str:
    """``"file.py:LINE in func < file.py:LINE in caller ..."``, at most 159 bytes.

    The innermost frame outside pyforlinux/sync first, then up to two
    callers, as many as fit in the validator's context buffer.
    """
    return _format_site(caller_frame())


# acquire_site_bytes(): the chain's f_lasti x 3 -> (site, the chain's code
# objects). A hit must also have the same code objects (compared with
# ``is``; the entry keeps them alive, so none can be recycled), else the
# entry is replaced: two chains with equal offsets share a slot.
_site_cache: dict[tuple[int, ...], tuple[bytes, Any, Any, Any]] = {}
_SITE_CACHE_MAX: Final = 4096


def acquire_site_bytes() -> bytes:
    """:func:`acquire_site`, UTF-8 encoded, formatted once per call chain.

    Formatting a site (line numbers, strings) costs more than taking a
    lock. The three frames' code objects and instruction offsets determine
    the site, so it is cached under them.
    """
    try:
        f: FrameType | None = sys._getframe(1)
    except ValueError:
        return b""
    while f is not None and f.f_code.co_filename in SYNC_FILES:
        f = f.f_back
    if f is None:
        return b""
    g = f.f_back
    h = g.f_back if g is not None else None
    fc, gc, hc = f.f_code, g.f_code if g else None, h.f_code if h else None
    key = (f.f_lasti, g.f_lasti if g else -1, h.f_lasti if h else -1)
    hit = _site_cache.get(key)
    if hit is not None and hit[1] is fc and hit[2] is gc and hit[3] is hc:
        return hit[0]
    site = _format_site(f).encode()
    if hit is not None or len(_site_cache) < _SITE_CACHE_MAX:
        _site_cache[key] = (site, fc, gc, hc)
    return site


def _line_at(code: Any, lasti: int) -> int:
    """The source line of the instruction at byte offset ``lasti`` of ``code``."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return int(line)
    return int(code.co_firstlineno)


def _format_site(f: FrameType | None, lasti: int = -1) -> str:
    """The site text of frame ``f`` (at instruction ``lasti`` if given, else
    where it is now) and up to two callers."""
    parts: list[str] = []
    size = 0
    while f is not None and len(parts) < 3:
        code = f.f_code
        line = _line_at(code, lasti) if lasti >= 0 and not parts else f.f_lineno
        part = f"{_basename(code.co_filename)}:{line} in {code.co_name}"
        size += len(part) + (3 if parts else 0)
        if size > _CTX_LEN and parts:
            break
        parts.append(part)
        f = f.f_back
    site = " < ".join(parts)
    if len(site.encode()) > _CTX_LEN:  # non-ASCII names
        site = site.encode()[:_CTX_LEN].decode(errors="ignore")
    return site


def user_frame(depth: int) -> FrameType | None:
    """The first frame outside pyforlinux/sync, from ``sys._getframe(depth + 1)`` out."""
    try:
        f: FrameType | None = sys._getframe(depth + 1)
    except ValueError:
        return None
    while f is not None and f.f_code.co_filename in SYNC_FILES:
        f = f.f_back
    return f


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_lockdep_py_site(frame: int, code_id: int, lasti: int, buf: Any, size: int) -> None:
    """The validator's hook (C -> Python): the text of a site named by reference.

    Called by ``csrc/runtime/lockdep.c`` on the thread that acquired (or
    holds) the lock, only when a report or a new dependency edge needs the
    text. The frame is found on this thread's stack by its identity and its
    code object's: while the lock is held the acquiring frame is still
    running (or it handed the guard out, and then only its line is known).
    """
    try:
        f: FrameType | None = sys._getframe(1)
        while f is not None and not (id(f) == frame and id(f.f_code) == code_id):
            f = f.f_back
        if f is not None:
            site = _format_site(f, lasti)
        else:  # the frame returned, holding the lock: not on the stack any more
            site = "(a frame that has returned)"
        raw = site.encode()[: size - 1]
        ffi.memmove(buf, raw + b"\0", len(raw) + 1)
    except BaseException:  # pragma: no cover - never raise into C
        pass


lib.pfl_lockdep_set_site_hook(lib.pfl_lockdep_py_site)


def caller_name() -> str:
    """``"file.py:LINE"`` of the user's call site (a lock's default name)."""
    f = caller_frame()
    if f is None:
        return "?"
    return f"{_basename(f.f_code.co_filename)}:{f.f_lineno}"


def set_acquire_context(site: str | bytes | None) -> None:
    """Name the Python site of the calling thread's next C lock acquisition.

    ``None`` clears it (after a failed trylock, so that it does not stick
    to an unrelated later acquisition).
    """
    if isinstance(site, str):
        site = site.encode()
    lib.pfl_lockdep_set_acquire_context(site or ffi.NULL)


def _thread_counts() -> tuple[int, ...]:
    return tuple(int(lib.pfl_lockdep_thread_count(int(k))) for k in _STRICT_KINDS)


class StrictCheck:
    """Snapshot of the calling thread's report counts; :meth:`check` raises on news.

    Internal to the sync layer: ``chk = StrictCheck(); <C call>; chk.check(what)``.
    Inert (never raises) when strict mode is off.
    """

    __slots__ = ("before",)

    def __init__(self) -> None:
        self.before = _thread_counts() if is_strict() else None

    def changed(self) -> bool:
        """Whether this thread reported anything since the snapshot (strict only)."""
        return self.before is not None and _thread_counts() != self.before

    def check(self, what: str) -> None:
        """Raise ``EDEADLK`` with the report if this thread reported since the snapshot.

        Raises:
            Error: ``EDEADLK``, the message naming ``what`` and carrying the
                validator's report text.
        """
        if self.changed():
            raise Error(
                code.EDEADLK,
                f"lock validator (strict mode) while {what}:\n{thread_last_report()}",
            )


def might_sleep(what: str = "sleeping") -> None:
    """``might_sleep()`` at the caller's Python site: report sleeping in atomic context.

    Reported (counted as ``MIGHT_SLEEP``) when the calling task holds a
    SpinLock or is inside an RCU read section.

    Raises:
        Error: ``EDEADLK`` in strict mode when it reported.

    C header: include/linux/kernel.h (``might_sleep``)
    """
    chk = StrictCheck()
    f = caller_frame()
    fname = os.path.basename(f.f_code.co_filename) if f else "?"
    lib.pfl_might_sleep(fname.encode(), f.f_lineno if f else 0)
    chk.check(what)


# ---------------------------------------------------------------------------
# lock classes


class LockClassKey(NoCopy):
    """A lock class: a C ``struct lock_class_key``.

    Do not construct directly: use :func:`static_lock_class` (one key per
    source line, never freed, memory owned by Python like a C ``static``)
    or :meth:`new_dynamic` (kmalloc'd, registered until :meth:`close`,
    which unregisters it with ``pfl_lockdep_unregister_key`` and frees it).

    The key's name (``name``) names its classes in reports.

    Thread context: any. Rust: ``kernel::sync::LockClassKey`` (rust/kernel/sync.rs)
    """

    __slots__ = ("__weakref__", "_fin", "_mu", "_name_buf", "_ptr", "_users", "dynamic", "name")

    def __init__(self, name: str, *, _dynamic: bool) -> None:
        self.name = name
        self.dynamic = _dynamic
        # SAFETY: the name buffer lives as long as this object; the key
        # points at it only while the key is registered (dynamic) or forever
        # (static keys live in a module-level table).
        self._name_buf = ffi.new("char[]", name.encode()[:255])
        self._users = 0
        self._mu = threading.Lock()
        if _dynamic:
            ptr = lib.pfl_kmalloc(
                ffi.sizeof("struct lock_class_key"), _GFP_ZEROED, 0
            )
            if ptr == ffi.NULL:
                raise Error(code.ENOMEM, f"lock class key {name!r}")
            self._ptr: Any = ffi.cast("struct lock_class_key *", ptr)
            self._fin: Any = weakref.finalize(self, _leak, f"LockClassKey {name!r}")
            self._fin.atexit = False
        else:
            self._ptr = ffi.new("struct lock_class_key *")
            self._fin = None
        # SAFETY: set before any lock uses the key, so the validator never
        # takes the name of a (shorter-lived) lock instead.
        lib.pfl_sync_key_set_name(self._ptr, self._name_buf)

    @classmethod
    def new_dynamic(cls, name: str | None = None) -> LockClassKey:
        """A registered key for locks created at run time; :meth:`close` it.

        ``name`` defaults to ``"file.py:LINE"`` of the caller.

        Raises:
            Error: ``ENOMEM`` if the key cannot be allocated.

        Rust: ``LockClassKey::new_dynamic`` (``lockdep_register_key``)
        """
        return cls(name if name is not None else caller_name(), _dynamic=True)

    def as_ptr(self) -> Any:
        """The ``struct lock_class_key *``.

        Raises:
            Error: ``EINVAL`` after :meth:`close`.
        """
        if self._ptr is None:
            raise Error(code.EINVAL, f"lock class key {self.name!r} is closed")
        return self._ptr

    def _get(self) -> None:
        with self._mu:
            if self._ptr is None:
                raise Error(code.EINVAL, f"lock class key {self.name!r} is closed")
            self._users += 1

    def _put(self) -> None:
        with self._mu:
            self._users -= 1

    def close(self) -> None:
        """Unregister a dynamic key (forget its classes and edges) and free it.

        Idempotent.

        Raises:
            Error: ``EINVAL`` for a static key (they live forever);
                ``EBUSY`` while a lock created with the key is still open.

        Rust: ``Drop for LockClassKey`` (``lockdep_unregister_key``)
        """
        if not self.dynamic:
            raise Error(code.EINVAL, f"lock class key {self.name!r} is static and is never freed")
        with self._mu:
            if self._ptr is None:
                return
            if self._users:
                raise Error(
                    code.EBUSY,
                    f"lock class key {self.name!r} still has {self._users} open lock(s)",
                )
            ptr, self._ptr = self._ptr, None
        self._fin.detach()
        lib.pfl_lockdep_unregister_key(ptr)
        lib.pfl_kfree(ptr, 0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "dynamic" if self.dynamic else "static"
        state = "" if self._ptr is not None else ", closed"
        return f"<LockClassKey {self.name!r} ({kind}{state})>"


_static_keys: dict[tuple[str, int, str, str], LockClassKey] = {}
_static_mu = threading.Lock()


def static_lock_class(name: str | None = None, kind: str = "") -> LockClassKey:
    """The static key of the caller's source line (created on first use).

    Every call from one line (with one ``name`` and ``kind``) returns the
    same key, so all locks of one kind created there share one class, like
    C's ``mutex_init()`` with its hidden ``static struct lock_class_key``.
    ``name`` defaults to ``"file.py:LINE"``; ``kind`` (``"Mutex"``,
    ``"CondVar"`` ...) keeps a Mutex and a CondVar created on one line in
    distinct classes, as two C initialisers on one line would be.

    Rust: ``static_lock_class!()``
    """
    f = caller_frame()
    fname = f.f_code.co_filename if f else "?"
    line = f.f_lineno if f else 0
    label = name if name is not None else f"{os.path.basename(fname)}:{line}"
    k = (fname, line, label, kind)
    with _static_mu:
        key = _static_keys.get(k)
        if key is None:
            key = _static_keys[k] = LockClassKey(label, _dynamic=False)
    return key
