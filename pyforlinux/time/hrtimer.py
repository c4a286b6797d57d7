"""High-resolution timers with Python callbacks.

Mirrors ``rust/kernel/time/hrtimer.rs``: an :class:`HrTimer` on a clock
(:class:`~pyforlinux.time.Monotonic` by default) runs its callback when it
expires; the callback gets an :class:`HrTimerCallbackContext` (to
:meth:`~HrTimerCallbackContext.forward` the expiry) and returns
:class:`HrTimerRestart` (``Restart`` re-arms the timer at its forwarded
expiry). :meth:`HrTimer.start` returns an :class:`HrTimerHandle` whose
:meth:`~HrTimerHandle.cancel` stops the timer and waits for a running
callback (``hrtimer_cancel()``).

The C is the runtime's hrtimer (include/linux/hrtimer.h shim; callbacks run
on the runtime's timer thread, one at a time, in expiry order).

Misuse raises instead of deadlocking:

- :meth:`HrTimer.start` from the timer's own callback: ``EBUSY`` (re-arm by
  forwarding and returning ``HrTimerRestart.Restart``, as in Rust, where the
  callback cannot reach a handle);
- :meth:`HrTimer.cancel` from the timer's own callback: ``EDEADLK`` (the C
  would wait for itself);
- a negative relative expiry: ``EINVAL``; use after :meth:`HrTimer.close`:
  ``ENODEV``.

An exception raised by a callback cannot unwind into C: it is printed,
counted as a kernel WARN, the timer is not restarted, and the first such
exception is raised again by :meth:`HrTimer.close`.

C header: include/linux/hrtimer.h
Rust: rust/kernel/time/hrtimer.rs
"""

from __future__ import annotations

import enum
import itertools
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any, Generic

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep
from pyforlinux.time import C, Delta, Instant, Monotonic


class HrTimerRestart(enum.IntEnum):
    """What a callback asks for. Rust: ``kernel::time::hrtimer::HrTimerRestart``"""

    NoRestart = int(lib.HRTIMER_NORESTART)
    """The timer stops (``HRTIMER_NORESTART``)."""
    Restart = int(lib.HRTIMER_RESTART)
    """The timer runs again at its expiry, forwarded by the callback."""


class HrTimerMode(enum.IntEnum):
    """How :meth:`HrTimer.start` reads its expiry (``enum hrtimer_mode``).

    Rust: ``kernel::time::hrtimer::HrTimerMode`` (upstream now one type per
    mode: ``AbsoluteMode``, ``RelativeMode``, ...).
    """

    Absolute = int(lib.HRTIMER_MODE_ABS)
    """Expiry is an :class:`~pyforlinux.time.Instant` of the timer's clock."""
    Relative = int(lib.HRTIMER_MODE_REL)
    """Expiry is a :class:`~pyforlinux.time.Delta` from now."""
    AbsoluteSoft = int(lib.HRTIMER_MODE_ABS) | int(lib.HRTIMER_MODE_SOFT)
    """Absolute; softirq context in the kernel (same thread here)."""
    RelativeSoft = int(lib.HRTIMER_MODE_REL) | int(lib.HRTIMER_MODE_SOFT)
    """Relative; softirq context in the kernel (same thread here)."""
    AbsoluteHard = int(lib.HRTIMER_MODE_ABS) | int(lib.HRTIMER_MODE_HARD)
    """Absolute; hard-irq context in the kernel (same thread here)."""
    RelativeHard = int(lib.HRTIMER_MODE_REL) | int(lib.HRTIMER_MODE_HARD)
    """Relative; hard-irq context in the kernel (same thread here)."""

    def is_relative(self) -> bool:
        """Whether the expiry is relative to now."""
        return bool(self & int(lib.HRTIMER_MODE_REL))


_lock = threading.Lock()
_timers: dict[int, weakref.ref[HrTimer[Any]]] = {}
_cookies = itertools.count(1)
_tls = threading.local()


class HrTimerCallbackContext(NoCopy, Generic[C]):
    """What a running callback may do to its timer (valid during the call).

    Rust: ``kernel::time::hrtimer::HrTimerCallbackContext``
    """

    def __init__(self, timer: HrTimer[C]) -> None:
        self._timer: HrTimer[C] | None = timer

    def _t(self) -> HrTimer[C]:
        if self._timer is None:
            raise Error(code.EINVAL, "HrTimerCallbackContext used after its callback returned")
        return self._timer

    def forward(self, now: Instant[C], interval: Delta) -> int:
        """Move the expiry past ``now`` by whole ``interval`` s (``hrtimer_forward()``).

        Returns:
            The number of intervals the expiry moved (overruns).

        Raises:
            Error: ``EINVAL`` for an interval that is not positive.
        """
        t = self._t()
        if not isinstance(interval, Delta) or interval.as_nanos() <= 0:
            raise Error(code.EINVAL, f"forward interval {interval!r} must be a positive Delta")
        return int(lib.hrtimer_forward(t._raw_timer(), now.as_nanos(), interval.as_nanos()))

    def forward_now(self, interval: Delta) -> int:
        """:meth:`forward` from the clock's current time (``hrtimer_forward_now()``)."""
        t = self._t()
        return self.forward(Instant.now(t.clock()), interval)


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_hrtimer_py_run(cookie: int) -> int:
    """C -> Python: a timer expired (runtime timer thread). Never raises into C."""
    with _lock:
        ref = _timers.get(int(cookie))
    timer = ref() if ref is not None else None
    if timer is None:
        return int(HrTimerRestart.NoRestart)
    return timer._run()


class HrTimer(NoCopy, Generic[C]):
    """A high-resolution timer whose callback is a Python function.

    Args:
        callback: ``callback(ctx) -> HrTimerRestart`` (``None`` means
            ``NoRestart``); runs on the runtime's timer thread.
        clock: the :class:`~pyforlinux.time.ClockSource` class.
        mode: how :meth:`start` reads its expiry.

    Release with :meth:`close` (or ``with``): cancels and waits.

    Rust: ``kernel::time::hrtimer::HrTimer<T>`` with ``HrTimerCallback``
    """

    def __init__(
        self,
        callback: Callable[[HrTimerCallbackContext[C]], HrTimerRestart | None],
        clock: type[C] = Monotonic,  # type: ignore[assignment]
        mode: HrTimerMode = HrTimerMode.Relative,
    ) -> None:
        if not callable(callback):
            raise TypeError("callback must be callable")
        mode = HrTimerMode(mode)
        self._callback = callback
        self._clock = clock
        self._mode = mode
        self._error: BaseException | None = None
        self._cookie = next(_cookies)
        self._mem: Any = ffi.new("struct pfl_hrtimer *")
        lib.pfl_hrtimer_init(self._mem, self._cookie, clock.ID, int(mode))
        with _lock:
            _timers[self._cookie] = weakref.ref(self)
        self._finalizer = weakref.finalize(self, _release, self._mem, self._cookie)

    def _raw_timer(self) -> Any:
        if self._mem is None:
            raise Error(code.ENODEV, "HrTimer used after close()")
        return ffi.addressof(self._mem, "timer")

    def clock(self) -> type[C]:
        """The timer's clock source."""
        return self._clock

    def _in_own_callback(self) -> bool:
        return getattr(_tls, "running", None) is self

    def _run(self) -> int:
        prev = getattr(_tls, "running", None)
        _tls.running = self
        ctx = HrTimerCallbackContext(self)
        try:
            r = self._callback(ctx)
            return int(HrTimerRestart.NoRestart if r is None else HrTimerRestart(r))
        except BaseException as e:  # must not unwind through C
            if self._error is None:
                self._error = e
            traceback.print_exception(e, file=sys.stderr)
            lib.pfl_warn(b"hrtimer callback", 0, b"exception in an HrTimer callback")
            return int(HrTimerRestart.NoRestart)
        finally:
            ctx._timer = None
            _tls.running = prev

    def start(self, expires: Delta | Instant[C]) -> HrTimerHandle[C]:
        """Arm the timer (``hrtimer_start()``); re-arms if already armed.

        Args:
            expires: a :class:`~pyforlinux.time.Delta` (``>= 0``) for a
                relative mode, an :class:`~pyforlinux.time.Instant` of the
                timer's clock for an absolute one.

        Raises:
            TypeError: wrong kind of expiry for the mode.
            Error: ``EINVAL`` for a negative Delta; ``EBUSY`` from the
                timer's own callback; ``ENODEV`` after :meth:`close`.

        Rust: ``HrTimerPointer::start``
        """
        raw = self._raw_timer()
        if self._in_own_callback():
            raise Error(
                code.EBUSY,
                "HrTimer.start() from its own callback: forward the expiry and "
                "return HrTimerRestart.Restart",
            )
        if self._mode.is_relative():
            if not isinstance(expires, Delta):
                raise TypeError(
                    f"a relative HrTimer starts with a Delta, not {type(expires).__name__}"
                )
            if expires.is_negative():
                raise Error(code.EINVAL, f"negative expiry {expires!r}")
            ns = expires.as_nanos()
        else:
            if not isinstance(expires, Instant) or expires.clock() is not self._clock:
                raise TypeError(
                    f"an absolute HrTimer starts with an Instant[{self._clock.__name__}]"
                )
            ns = expires.as_nanos()
        lib.hrtimer_start_range_ns(raw, ns, 0, int(self._mode))
        return HrTimerHandle(self)

    def cancel(self) -> bool:
        """Stop the timer and wait for a running callback (``hrtimer_cancel()``).

        Returns:
            Whether the timer was armed.

        Raises:
            Error: ``EDEADLK`` from the timer's own callback (it would wait
                for itself); ``ENODEV`` after :meth:`close`.

        Rust: ``HrTimerHandle::cancel``
        """
        raw = self._raw_timer()
        if self._in_own_callback():
            raise Error(
                code.EDEADLK, "HrTimer.cancel() from its own callback would wait for itself"
            )
        lockdep.might_sleep("HrTimer.cancel")
        return bool(lib.hrtimer_cancel(raw))

    def is_queued(self) -> bool:
        """Whether the timer is armed (``hrtimer_is_queued()``)."""
        return bool(lib.hrtimer_is_queued(self._raw_timer()))

    def active(self) -> bool:
        """Armed or running its callback (``hrtimer_active()``)."""
        return bool(lib.hrtimer_active(self._raw_timer()))

    def expires(self) -> Instant[C]:
        """The expiry, on the timer's clock (``hrtimer_get_expires()``)."""
        return Instant(self._clock, int(lib.hrtimer_get_expires(self._raw_timer())))

    def close(self) -> None:
        """Cancel (waiting for a running callback) and release; idempotent.

        Raises:
            Error: ``EDEADLK`` from the timer's own callback.
            BaseException: the first exception a callback raised.
        """
        if self._mem is None:
            return
        if self._in_own_callback():
            raise Error(code.EDEADLK, "HrTimer.close() from its own callback would wait for itself")
        self._finalizer()
        self._mem = None
        err, self._error = self._error, None
        if err is not None:
            raise err

    def __enter__(self) -> HrTimer[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _release(mem: Any, cookie: int) -> None:
    lib.hrtimer_cancel(ffi.addressof(mem, "timer"))
    with _lock:
        _timers.pop(cookie, None)


class HrTimerHandle(NoCopy, Generic[C]):
    """The handle :meth:`HrTimer.start` returns. Rust: ``HrTimerHandle``"""

    def __init__(self, timer: HrTimer[C]) -> None:
        self._timer = timer

    def cancel(self) -> bool:
        """:meth:`HrTimer.cancel`."""
        return self._timer.cancel()


__all__ = [
    "HrTimer",
    "HrTimerCallbackContext",
    "HrTimerHandle",
    "HrTimerMode",
    "HrTimerRestart",
]
