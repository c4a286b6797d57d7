"""Work queues: run work items later, on the runtime's worker kthreads.

Mirrors ``rust/kernel/workqueue.rs`` over the runtime's C workqueue
(csrc/runtime/workqueue.c, for the kernel's own include/linux/workqueue.h):

- :class:`Queue` wraps a ``struct workqueue_struct``: the system queues
  (:func:`system`, :func:`system_highpri`, :func:`system_long`,
  :func:`system_unbound`, :func:`system_freezable`,
  :func:`system_power_efficient`, :func:`system_freezable_power_efficient`,
  :func:`system_bh`, :func:`system_bh_highpri`) or one of the driver's own
  (:meth:`Queue.alloc`, :meth:`Queue.alloc_ordered`: one work at a time, in
  queueing order), destroyed with :meth:`Queue.destroy` (drains first).
- :class:`WorkItem` is what can be queued: a subclass implements
  :meth:`WorkItem.run` and holds a :class:`Work` (the ``work_struct``,
  Rust's ``HasWork``) in its ``work`` attribute, made by :func:`new_work`.
- :meth:`Queue.enqueue` returns whether the item was queued: an item
  already pending is not queued twice (False), as ``queue_work()``.
  :meth:`Queue.enqueue_delayed` queues after a delay (``queue_delayed_work``);
  :meth:`Queue.try_spawn` runs a closure.

The queue holds a reference to a pending item (Rust: the ``Arc`` passed to
``enqueue``); the reference moves to the run. :meth:`Work.flush`,
:meth:`Work.cancel`, :meth:`Work.cancel_sync` are the C ``flush_work``,
``cancel_work``/``cancel_delayed_work`` and ``cancel_work_sync`` /
``cancel_delayed_work_sync``. The lock validator sees each :class:`Work`'s
class (the name given to :func:`new_work`) as lockdep sees a work's
lockdep_map: flushing or cancelling a work under a lock its ``run`` takes
is reported as a possible deadlock.

Misuse raises an :class:`~pyforlinux.error.Error` instead of hanging:
flushing or cancelling-and-waiting a work from inside its own ``run``, or
flushing/destroying a queue from one of its own works: ``EDEADLK``;
queueing to a destroyed queue: ``ENODEV``; a negative or out-of-range
delay: ``EINVAL``/``ERANGE``; a work of one item queued for another:
``EINVAL``.

An exception raised by ``run`` cannot unwind into a worker: it is printed
and counted as a kernel WARN, and the first one is raised again by the next
:meth:`Work.flush`/:meth:`Work.cancel_sync` of that work.

C header: include/linux/workqueue.h
Rust: rust/kernel/workqueue.rs
"""

from __future__ import annotations

import itertools
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any, Final

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, leak_finalizer
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.sync.lockdep import LockClassKey
from pyforlinux.time import Delta, delta_to_jiffies

WQ_UNBOUND: Final = int(lib.WQ_UNBOUND)
"""Not bound to a CPU (no CPUs here: all queues behave alike)."""
WQ_HIGHPRI: Final = int(lib.WQ_HIGHPRI)
"""High priority (accepted; no priorities here)."""
WQ_MEM_RECLAIM: Final = int(lib.WQ_MEM_RECLAIM)
"""May be used for memory reclaim (accepted; no reclaim here)."""
WQ_FREEZABLE: Final = int(lib.WQ_FREEZABLE)
"""Frozen during suspend (accepted; no suspend here)."""
WQ_CPU_INTENSIVE: Final = int(lib.WQ_CPU_INTENSIVE)
"""CPU-intensive works (accepted)."""
WQ_POWER_EFFICIENT: Final = int(lib.WQ_POWER_EFFICIENT)
"""Power-efficient (accepted)."""
WQ_MAX_ACTIVE: Final = int(lib.WQ_MAX_ACTIVE)
_WQ_ORDERED: Final = int(getattr(lib, "__WQ_ORDERED"))
"""Largest ``max_active`` (512)."""

_lock = threading.Lock()
_pending: dict[int, WorkItem] = {}  # cookie -> item while PENDING
_works: weakref.WeakValueDictionary[int, Work] = weakref.WeakValueDictionary()  # while alive
_cookies = itertools.count(1)
_keys: dict[str, LockClassKey] = {}  # lock class name -> static key (forever)


def _key(name: str) -> Any:
    """The static lock class of works named ``name`` (as INIT_WORK's per-site key)."""
    with _lock:
        k = _keys.get(name)
        if k is None:
            k = _keys[name] = LockClassKey(name, _dynamic=False)
        return k.as_ptr()


class Work(NoCopy):
    """A ``work_struct`` (in a ``delayed_work``, so it can also be delayed).

    Made by :func:`new_work`; belongs to one :class:`WorkItem` (its
    ``work`` attribute). ``name`` is the lock class the validator sees.

    Rust: ``kernel::workqueue::Work<T>`` (and ``DelayedWork<T>``)
    """

    def __init__(self, name: str = "Work") -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a Work's name is a non-empty str")
        self._name = name
        self._cookie = next(_cookies)
        self._mem: Any = ffi.new("struct pfl_work *")
        self._owner: WorkItem | None = None
        self._error: BaseException | None = None
        self._cname = ffi.new("char[]", f"(work_completion){name}".encode())
        lib.pfl_work_init(self._mem, self._cookie, self._cname, _key(name))
        with _lock:
            _works[self._cookie] = self

    def _raw(self) -> Any:
        return ffi.addressof(self._mem, "dwork")

    def _work(self) -> Any:
        return ffi.addressof(self._mem.dwork, "work")

    def name(self) -> str:
        """The name (lock class) given to :func:`new_work`."""
        return self._name

    def is_pending(self) -> bool:
        """Queued or waiting on its delay, not yet started (``work_pending()``)."""
        return bool(lib.pfl_work_pending(self._work()))

    def is_running(self) -> bool:
        """Running on a worker now (``work_busy() & WORK_BUSY_RUNNING``)."""
        return bool(lib.work_busy(self._work()) & lib.WORK_BUSY_RUNNING)

    def _in_own_run(self) -> bool:
        return bool(lib.current_work() == self._work())

    def _raise_error(self) -> None:
        err, self._error = self._error, None
        if err is not None:
            raise err

    def _validate(self, what: str) -> None:
        """might_sleep() and the lock-order validation of waiting for this
        work, before the wait: strict mode raises ``EDEADLK`` here."""
        _validated(what, lambda: lib.pfl_work_flush_validate(self._work()))

    def flush(self) -> bool:
        """Wait until the instance queued now and the one running now have
        run (``flush_delayed_work()``: a delayed one is queued at once).

        Returns:
            True if it waited for something, False if the work was idle.

        Raises:
            Error: ``EDEADLK`` from the work's own ``run``.
            BaseException: the first exception its ``run`` raised since.

        Context: may sleep.
        """
        if self._in_own_run():
            raise Error(
                code.EDEADLK, f"flushing work {self._name!r} from its own run() waits forever"
            )
        self._validate(f"flushing work {self._name!r}")
        r = bool(lib.flush_delayed_work(self._raw()))
        self._raise_error()
        return r

    def cancel(self) -> bool:
        """Take the work off its queue or timer, not waiting for a running
        instance (``cancel_delayed_work()``).

        Returns:
            True if it was pending (that instance will not run).
        """
        r = bool(lib.cancel_delayed_work(self._raw()))
        _settle(self)
        return r

    def cancel_sync(self) -> bool:
        """:meth:`cancel`, then wait for a running instance; a work that
        re-queues itself cannot escape (``cancel_delayed_work_sync()``).

        Returns:
            True if it was pending.

        Raises:
            Error: ``EDEADLK`` from the work's own ``run``.
            BaseException: the first exception its ``run`` raised since.

        Context: may sleep.
        """
        if self._in_own_run():
            raise Error(
                code.EDEADLK,
                f"cancel_sync of work {self._name!r} from its own run() waits forever",
            )
        self._validate(f"cancelling work {self._name!r} synchronously")
        r = bool(lib.cancel_delayed_work_sync(self._raw()))
        _settle(self)
        self._raise_error()
        return r

    def __repr__(self) -> str:
        return f"<Work {self._name!r} pending={self.is_pending()}>"


def _validated(what: str, validate: Callable[[], object]) -> None:
    lockdep.might_sleep(what)
    chk = lockdep.StrictCheck()
    validate()
    try:
        chk.check(what)
    except Error:
        lib.pfl_flush_validate_clear()
        raise


def new_work(name: str = "Work") -> Work:
    """A :class:`Work` whose lock class is ``name``.

    Rust: ``kernel::workqueue::new_work!``
    """
    return Work(name)


class WorkItem:
    """Something a :class:`Queue` can run: implement :meth:`run`; keep a
    :class:`Work` in ``self.work`` (Rust's ``HasWork``; made on first use
    with the class's qualified name if the subclass did not set one).

    Rust: ``kernel::workqueue::WorkItem``
    """

    work: Work

    def run(self) -> None:
        """The work; runs on a worker kthread (process context, may sleep).

        Rust: ``WorkItem::run``
        """
        raise NotImplementedError

    def _the_work(self) -> Work:
        w = self.__dict__.get("work")
        if w is None:
            w = self.work = new_work(type(self).__qualname__ + "::work")
        if not isinstance(w, Work):
            raise TypeError(f"{type(self).__name__}.work is not a Work")
        if w._owner is None:
            w._owner = self
        elif w._owner is not self:
            raise Error(code.EINVAL, f"work {w._name!r} belongs to another item")
        return w


def _settle(w: Work) -> None:
    """Drop the queue's reference if the work is no longer pending."""
    with _lock:
        if not lib.pfl_work_pending(w._work()):
            _pending.pop(w._cookie, None)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_work_py_run(cookie: int) -> None:
    """C -> Python: a worker runs a work. Never raises into C."""
    with _lock:
        work = _works.get(int(cookie))
        item = _pending.get(int(cookie))
        if work is not None and not lib.pfl_work_pending(work._work()):
            _pending.pop(int(cookie), None)
    if item is None or work is None:  # pragma: no cover - C runs only queued works
        return
    try:
        item.run()
    except BaseException as e:  # must not unwind through C
        if work._error is None:
            work._error = e
        traceback.print_exception(e, file=sys.stderr)
        lib.pfl_warn(b"workqueue", 0, b"exception in a WorkItem.run()")


class _Closure(WorkItem):
    def __init__(self, func: Callable[[], object]) -> None:
        self.func: Callable[[], object] | None = func
        self.work = new_work("Queue::try_spawn")

    def run(self) -> None:
        func, self.func = self.func, None
        if func is not None:
            func()


class Queue(NoCopy):
    """A ``struct workqueue_struct``.

    Rust: ``kernel::workqueue::Queue`` (and ``OwnedQueue`` for allocated ones)
    """

    def __init__(self, raw: Any, name: str, owned: bool) -> None:
        self._raw: Any = raw
        self._name = name
        self._owned = owned
        self._destroying = False
        # A queue dropped without destroy() keeps its workers: reported.
        self._leak = leak_finalizer(self, f"workqueue {name!r}") if owned else None

    @classmethod
    def alloc(cls, name: str, flags: int = 0, max_active: int = 0) -> Queue:
        """A new queue (``alloc_workqueue()``).

        Args:
            name: its name (and the validator's lock class).
            flags: ``WQ_*`` flags.
            max_active: works run at once (``0``: the default, 256; at most
                4 run at once here, one worker kthread each).

        Raises:
            Error: ``EINVAL`` for a bad argument, ``ENOMEM``.
        """
        if not isinstance(name, str) or not name:
            raise Error(code.EINVAL, "a queue's name is a non-empty str")
        if (
            isinstance(max_active, bool)
            or not isinstance(max_active, int)
            or not 0 <= max_active <= WQ_MAX_ACTIVE
        ):
            raise Error(code.EINVAL, f"max_active {max_active!r} not in 0..{WQ_MAX_ACTIVE}")
        if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0 or flags >= 1 << 18:
            raise Error(code.EINVAL, f"bad workqueue flags {flags!r}")
        raw = lib.alloc_workqueue(b"%s", flags, max_active, ffi.new("char[]", name.encode()))
        if raw == ffi.NULL:
            raise Error(code.ENOMEM, f"alloc_workqueue({name!r})")
        return cls(raw, name, True)

    @classmethod
    def alloc_ordered(cls, name: str, flags: int = 0) -> Queue:
        """A queue that runs one work at a time, in queueing order
        (``alloc_ordered_workqueue()``)."""
        return cls.alloc(name, flags | WQ_UNBOUND | _WQ_ORDERED, 1)

    def _ptr(self) -> Any:
        if self._raw is None:
            raise Error(code.ENODEV, f"workqueue {self._name!r} was destroyed")
        return self._raw

    def as_raw(self) -> Any:
        """The ``struct workqueue_struct *``."""
        return self._ptr()

    def name(self) -> str:
        """The queue's name."""
        return self._name

    def enqueue(self, item: WorkItem) -> bool:
        """Queue ``item`` (``queue_work()``).

        Returns:
            True if queued; False if it was already pending (queued once).

        Raises:
            TypeError: ``item`` is not a :class:`WorkItem`.
            Error: ``ENODEV`` for a destroyed queue.

        Rust: ``Queue::enqueue``
        """
        return self._enqueue(item, 0)

    def enqueue_delayed(self, item: WorkItem, delay: Delta) -> bool:
        """Queue ``item`` after ``delay`` (``queue_delayed_work()``).

        Returns:
            True if queued; False if it was already pending.

        Raises:
            Error: ``EINVAL`` for a negative delay, ``ERANGE`` for one beyond
                ``MAX_JIFFY_OFFSET``; ``ENODEV`` for a destroyed queue.

        Rust: ``Queue::enqueue_delayed``
        """
        return self._enqueue(item, delta_to_jiffies(delay))

    def _enqueue(self, item: WorkItem, delay: int) -> bool:
        if not isinstance(item, WorkItem):
            raise TypeError(f"only a WorkItem can be queued, not {type(item).__name__}")
        work = item._the_work()
        with _lock:
            raw = self._ptr()
            if self._destroying and lib.pfl_current_work_queue() != raw:
                raise Error(code.ENODEV, f"workqueue {self._name!r} is being destroyed")
            ok = bool(lib.queue_delayed_work_on(lib.WORK_CPU_UNBOUND, raw, work._raw(), delay))
            if ok:
                _pending[work._cookie] = item
        return ok

    def try_spawn(self, func: Callable[[], object]) -> None:
        """Run ``func()`` on this queue. Rust: ``Queue::try_spawn``"""
        if not callable(func):
            raise TypeError("try_spawn needs a callable")
        self.enqueue(_Closure(func))

    def _not_from_own_work(self, what: str) -> None:
        if lib.pfl_current_work_queue() == self._raw:
            raise Error(
                code.EDEADLK, f"{what} of {self._name!r} from one of its own works waits forever"
            )

    def flush(self) -> None:
        """Wait for every work queued before the call (``flush_workqueue()``).

        Raises:
            Error: ``EDEADLK`` from one of this queue's works; ``ENODEV``.

        Context: may sleep.
        """
        raw = self._ptr()
        self._not_from_own_work("flush")
        _validated(f"flushing workqueue {self._name!r}", lambda: lib.pfl_wq_flush_validate(raw))
        getattr(lib, "__flush_workqueue")(raw)

    def drain(self) -> None:
        """Flush until empty, works queued by its works included
        (``drain_workqueue()``). Raises like :meth:`flush`."""
        raw = self._ptr()
        self._not_from_own_work("drain")
        _validated(f"draining workqueue {self._name!r}", lambda: lib.pfl_wq_flush_validate(raw))
        lib.drain_workqueue(raw)

    def destroy(self) -> None:
        """Drain and free the queue (``destroy_workqueue()``); idempotent.

        Delayed works still waiting for their delay are cancelled first
        (the kernel requires the driver to have done so).

        Raises:
            Error: ``EDEADLK`` from one of its own works; ``EPERM`` for a
                system queue.
        """
        if self._raw is None or self._destroying:
            return
        if not self._owned:
            raise Error(code.EPERM, f"system workqueue {self._name!r} cannot be destroyed")
        self._not_from_own_work("destroy")
        with _lock:
            delayed = [
                w for w in _works.values()
                if w._cookie in _pending and w._mem.dwork.wq == self._raw
            ]
        for w in delayed:
            if lib.cancel_delayed_work(w._raw()):
                _settle(w)
        # Draining: only the queue's own works may still queue (chained work).
        raw = self._raw
        _validated(f"destroying workqueue {self._name!r}", lambda: lib.pfl_wq_flush_validate(raw))
        self._destroying = True
        lib.destroy_workqueue(raw)
        self._raw = None
        if self._leak is not None:
            self._leak.detach()

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"<Queue {self._name!r}{' destroyed' if self._raw is None else ''}>"


_SYSTEM_NAMES = (
    "events",
    "events_highpri",
    "events_long",
    "events_unbound",
    "events_freezable",
    "events_power_efficient",
    "events_freezable_pwr_efficient",
    "events_bh",
    "events_bh_highpri",
    "events",  # system_percpu_wq is system_wq (the kernel is renaming it)
    "events_unbound",  # system_dfl_wq is system_unbound_wq
)
_system: list[Queue] = [Queue(lib.pfl_system_wq(i), n, False) for i, n in enumerate(_SYSTEM_NAMES)]


def system() -> Queue:
    """``system_wq``: short works. Rust: ``workqueue::system()``"""
    return _system[0]


def system_highpri() -> Queue:
    """``system_highpri_wq``. Rust: ``workqueue::system_highpri()``"""
    return _system[1]


def system_long() -> Queue:
    """``system_long_wq``: works that may take long. Rust: ``workqueue::system_long()``"""
    return _system[2]


def system_unbound() -> Queue:
    """``system_unbound_wq``. Rust: ``workqueue::system_unbound()``"""
    return _system[3]


def system_freezable() -> Queue:
    """``system_freezable_wq``. Rust: ``workqueue::system_freezable()``"""
    return _system[4]


def system_power_efficient() -> Queue:
    """``system_power_efficient_wq``. Rust: ``workqueue::system_power_efficient()``"""
    return _system[5]


def system_freezable_power_efficient() -> Queue:
    """``system_freezable_power_efficient_wq``.
    Rust: ``workqueue::system_freezable_power_efficient()``"""
    return _system[6]


def system_bh() -> Queue:
    """``system_bh_wq`` (a worker thread here: no softirqs). Rust: ``workqueue::system_bh()``"""
    return _system[7]


def system_bh_highpri() -> Queue:
    """``system_bh_highpri_wq``. Rust: ``workqueue::system_bh_highpri()``"""
    return _system[8]


def system_percpu() -> Queue:
    """``system_percpu_wq``, the new name of ``system_wq`` (the same queue).
    Rust: ``workqueue::system_percpu()``"""
    return _system[9]


def system_dfl() -> Queue:
    """``system_dfl_wq``, the new name of ``system_unbound_wq`` (the same queue).
    Rust: ``workqueue::system_dfl()``"""
    return _system[10]


__all__ = [
    "WQ_CPU_INTENSIVE",
    "WQ_FREEZABLE",
    "WQ_HIGHPRI",
    "WQ_MAX_ACTIVE",
    "WQ_MEM_RECLAIM",
    "WQ_POWER_EFFICIENT",
    "WQ_UNBOUND",
    "Queue",
    "Work",
    "WorkItem",
    "new_work",
    "system",
    "system_bh",
    "system_bh_highpri",
    "system_dfl",
    "system_freezable",
    "system_freezable_power_efficient",
    "system_highpri",
    "system_long",
    "system_percpu",
    "system_power_efficient",
    "system_unbound",
]
