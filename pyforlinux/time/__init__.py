"""Time: instants, spans of time, jiffies, clocks.

Mirrors ``rust/kernel/time.rs``: :class:`Instant` is a point in time of a
:class:`ClockSource` (:class:`Monotonic`, :class:`RealTime`,
:class:`BootTime`, :class:`Tai`), :class:`Delta` a span of time in
nanoseconds (an ``i64``, saturating like the Rust constructors), and the
C ``ktime_t`` of 6.12's copy of the module is :class:`Ktime`. Jiffies are
the runtime's: ``HZ`` is 1000, one jiffy is a millisecond of
``CLOCK_MONOTONIC``. Submodules: :mod:`pyforlinux.time.delay`
(``fsleep``/``msleep``) and :mod:`pyforlinux.time.hrtimer`.

Where the kernel takes a timeout in jiffies, this package takes a
:class:`Delta` and converts it with :func:`delta_to_jiffies`, which refuses
a negative Delta (``EINVAL``) or a saturated one (``KTIME_MAX``: an
overflow, ``ERANGE``) instead of sleeping forever or not at all. Plain
``Delta(ns)``/``Delta.from_nanos`` refuse values outside ``i64`` (``ERANGE``);
the unit constructors saturate, as Rust's.

C header: include/linux/jiffies.h, include/linux/ktime.h,
include/linux/timekeeping.h.
Rust: rust/kernel/time.rs
"""

from __future__ import annotations

from typing import ClassVar, Final, Generic, TypeVar

from pyforlinux._bindings import lib
from pyforlinux.error import Error, code

NSEC_PER_USEC: Final = 1_000
"""Nanoseconds per microsecond."""
NSEC_PER_MSEC: Final = 1_000_000
"""Nanoseconds per millisecond."""
NSEC_PER_SEC: Final = 1_000_000_000
"""Nanoseconds per second."""
HZ: Final = int(lib.HZ)
"""Jiffies per second (1000 here)."""
KTIME_MAX: Final = (1 << 63) - 1
"""Largest ``ktime_t`` (``i64::MAX`` nanoseconds)."""
MAX_JIFFY_OFFSET: Final = int(lib.MAX_JIFFY_OFFSET)
"""Longest timeout in jiffies the kernel accepts (``MAX_JIFFY_OFFSET``)."""
MAX_SCHEDULE_TIMEOUT: Final = int(lib.MAX_SCHEDULE_TIMEOUT)
"""The "wait forever" timeout (``LONG_MAX`` jiffies)."""

Jiffies = int
"""The kernel's time unit, ``unsigned long`` (Rust: ``time::Jiffies``)."""
Msecs = int
"""Milliseconds, ``unsigned int`` (Rust: ``time::Msecs``)."""

_I64_MIN: Final = -(1 << 63)
_I64_MAX: Final = (1 << 63) - 1
_U32_MAX: Final = (1 << 32) - 1


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _tdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _saturate(v: int) -> int:
    return _I64_MIN if v < _I64_MIN else _I64_MAX if v > _I64_MAX else v


def msecs_to_jiffies(msecs: Msecs) -> Jiffies:
    """Milliseconds to jiffies (``msecs_to_jiffies()``).

    Args:
        msecs: ``0..U32_MAX`` (a C ``unsigned int``).

    Raises:
        Error: ``ERANGE`` outside that range.

    Rust: ``kernel::time::msecs_to_jiffies``
    """
    msecs = _int(msecs, "msecs")
    if not 0 <= msecs <= _U32_MAX:
        raise Error(code.ERANGE, f"{msecs} ms is not an unsigned int")
    return int(lib.msecs_to_jiffies(msecs))


def jiffies_to_msecs(j: Jiffies) -> Msecs:
    """Jiffies to milliseconds (``jiffies_to_msecs()``).

    Raises:
        Error: ``ERANGE`` for a negative value or more than ``U32_MAX`` ms.
    """
    j = _int(j, "jiffies")
    if not 0 <= j <= _U32_MAX:
        raise Error(code.ERANGE, f"{j} jiffies do not fit in unsigned int milliseconds")
    return int(lib.jiffies_to_msecs(j))


def nsecs_to_jiffies(ns: int) -> Jiffies:
    """Nanoseconds to jiffies, rounded up (``nsecs_to_jiffies()``).

    Raises:
        Error: ``EINVAL`` for a negative value, ``ERANGE`` past ``u64``.
    """
    ns = _int(ns, "nanoseconds")
    if ns < 0:
        raise Error(code.EINVAL, f"negative time span {ns} ns")
    if ns >= 1 << 64:
        raise Error(code.ERANGE, f"{ns} ns does not fit in u64")
    return int(lib.nsecs_to_jiffies(ns))


def jiffies() -> Jiffies:
    """The current ``jiffies`` (milliseconds of ``CLOCK_MONOTONIC``)."""
    return int(lib.pfl_jiffies())


def delta_to_jiffies(delta: Delta) -> Jiffies:
    """A timeout :class:`Delta` as the jiffies the kernel's waits take.

    Rounds up, so a non-zero Delta never becomes "do not wait".

    Raises:
        TypeError: if ``delta`` is not a :class:`Delta`.
        Error: ``EINVAL`` for a negative Delta, ``ERANGE`` for a saturated
            one (``>= KTIME_MAX`` ns).
    """
    if not isinstance(delta, Delta):
        raise TypeError(f"a timeout is a Delta, not {type(delta).__name__}")
    if delta.is_negative():
        raise Error(code.EINVAL, f"negative timeout {delta!r}")
    if delta.as_nanos() >= KTIME_MAX:
        raise Error(code.ERANGE, f"timeout {delta!r} is saturated (KTIME_MAX): out of range")
    j = -(-delta.as_nanos() // NSEC_PER_MSEC) * HZ // 1000
    if j > MAX_JIFFY_OFFSET:  # pragma: no cover - HZ 1000: KTIME_MAX ns is fewer jiffies
        raise Error(code.ERANGE, f"timeout {delta!r} exceeds MAX_JIFFY_OFFSET jiffies")
    return j


class ClockSource:
    """A clock: its ``clockid_t`` and how to read it.

    Rust: ``kernel::time::ClockSource``
    """

    ID: ClassVar[int]
    """The C ``clockid_t``."""

    @classmethod
    def ktime_get(cls) -> int:
        """The clock's current time in ns, ``0..KTIME_MAX``."""
        return int(lib.pfl_hrtimer_clock_now(cls.ID))


class Monotonic(ClockSource):
    """``CLOCK_MONOTONIC`` (``ktime_get()``). Rust: ``kernel::time::Monotonic``"""

    ID = int(lib.CLOCK_MONOTONIC)


class RealTime(ClockSource):
    """``CLOCK_REALTIME`` (``ktime_get_real()``). Rust: ``kernel::time::RealTime``"""

    ID = int(lib.CLOCK_REALTIME)


class BootTime(ClockSource):
    """``CLOCK_BOOTTIME``; equal to :class:`Monotonic` here (no suspend).

    Rust: ``kernel::time::BootTime``
    """

    ID = int(lib.CLOCK_BOOTTIME)


class Tai(ClockSource):
    """``CLOCK_TAI`` (``ktime_get_clocktai()``). Rust: ``kernel::time::Tai``"""

    ID = int(lib.CLOCK_TAI)


C = TypeVar("C", bound=ClockSource)


class Delta:
    """A span of time in nanoseconds (an ``i64``; may be negative).

    The ``from_*`` constructors saturate to ``i64`` like Rust's.
    Immutable, hashable, ordered; ``+``/``-`` saturate too.

    Rust: ``kernel::time::Delta``
    """

    __slots__ = ("_ns",)
    ZERO: ClassVar[Delta]

    def __init__(self, nanos: int = 0) -> None:
        nanos = _int(nanos, "nanoseconds")
        if not _I64_MIN <= nanos <= _I64_MAX:
            raise Error(code.ERANGE, f"{nanos} ns does not fit in a Delta (i64)")
        self._ns = nanos

    @classmethod
    def from_nanos(cls, nanos: int) -> Delta:
        """A Delta of ``nanos`` ns.

        Raises:
            Error: ``ERANGE`` outside ``i64`` (Rust takes an ``i64``).
        """
        return cls(nanos)

    @classmethod
    def from_micros(cls, micros: int) -> Delta:
        """A Delta of ``micros`` µs (saturating). Rust: ``Delta::from_micros``"""
        return cls(_saturate(_int(micros, "microseconds") * NSEC_PER_USEC))

    @classmethod
    def from_millis(cls, millis: int) -> Delta:
        """A Delta of ``millis`` ms (saturating). Rust: ``Delta::from_millis``"""
        return cls(_saturate(_int(millis, "milliseconds") * NSEC_PER_MSEC))

    @classmethod
    def from_secs(cls, secs: int) -> Delta:
        """A Delta of ``secs`` s (saturating). Rust: ``Delta::from_secs``"""
        return cls(_saturate(_int(secs, "seconds") * NSEC_PER_SEC))

    def is_zero(self) -> bool:
        """Whether it spans no time."""
        return self._ns == 0

    def is_negative(self) -> bool:
        """Whether it spans a negative amount of time."""
        return self._ns < 0

    def as_nanos(self) -> int:
        """Nanoseconds."""
        return self._ns

    def as_micros_ceil(self) -> int:
        """The smallest number of µs not less than the Delta (saturating)."""
        return _tdiv(_saturate(self._ns + NSEC_PER_USEC - 1), NSEC_PER_USEC)

    def as_millis(self) -> int:
        """Milliseconds, truncated toward zero (as C's division)."""
        return _tdiv(self._ns, NSEC_PER_MSEC)

    def __add__(self, other: Delta) -> Delta:
        if not isinstance(other, Delta):
            return NotImplemented
        return Delta(_saturate(self._ns + other._ns))

    def __sub__(self, other: Delta) -> Delta:
        if not isinstance(other, Delta):
            return NotImplemented
        return Delta(_saturate(self._ns - other._ns))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Delta) and self._ns == other._ns

    def __lt__(self, other: Delta) -> bool:
        return self._ns < other._ns

    def __le__(self, other: Delta) -> bool:
        return self._ns <= other._ns

    def __gt__(self, other: Delta) -> bool:
        return self._ns > other._ns

    def __ge__(self, other: Delta) -> bool:
        return self._ns >= other._ns

    def __hash__(self) -> int:
        return hash(("Delta", self._ns))

    def __repr__(self) -> str:
        return f"Delta({self._ns} ns)"


Delta.ZERO = Delta(0)


class Instant(Generic[C]):
    """A point in time of clock ``C`` (ns, ``0..KTIME_MAX``).

    ``Instant.now(Monotonic)``; ``a - b`` of two instants of one clock is a
    :class:`Delta`; :meth:`elapsed` is ``now() - self``.

    Rust: ``kernel::time::Instant<C>``
    """

    __slots__ = ("_clock", "_ns")

    def __init__(self, clock: type[C], nanos: int) -> None:
        self._clock = clock
        self._ns = _int(nanos, "nanoseconds")

    @classmethod
    def now(cls, clock: type[C]) -> Instant[C]:
        """The clock's current time. Rust: ``Instant::now``"""
        return cls(clock, clock.ktime_get())

    def clock(self) -> type[C]:
        """The clock source of this instant."""
        return self._clock

    def elapsed(self) -> Delta:
        """Time since this instant. Rust: ``Instant::elapsed``"""
        return Instant.now(self._clock) - self

    def as_nanos(self) -> int:
        """The clock reading in ns."""
        return self._ns

    def __sub__(self, other: Instant[C]) -> Delta:
        if not isinstance(other, Instant):
            return NotImplemented
        if other._clock is not self._clock:
            raise TypeError("instants of different clocks cannot be subtracted")
        return Delta(self._ns - other._ns)

    def __add__(self, delta: Delta) -> Instant[C]:
        if not isinstance(delta, Delta):
            return NotImplemented
        return Instant(self._clock, min(max(self._ns + delta.as_nanos(), 0), KTIME_MAX))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instant) and (self._clock, self._ns) == (other._clock, other._ns)

    def __lt__(self, other: Instant[C]) -> bool:
        return self._ns < other._ns

    def __le__(self, other: Instant[C]) -> bool:
        return self._ns <= other._ns

    def __hash__(self) -> int:
        return hash((self._clock, self._ns))

    def __repr__(self) -> str:
        return f"Instant[{self._clock.__name__}]({self._ns} ns)"


class Ktime:
    """A C ``ktime_t`` (ns of ``CLOCK_MONOTONIC``), as in Linux 6.12's
    ``rust/kernel/time.rs`` (newer kernels split it into :class:`Instant`
    and :class:`Delta`; use those in new code).

    Rust (6.12): ``kernel::time::Ktime``
    """

    __slots__ = ("_ns",)

    def __init__(self, nanos: int) -> None:
        self._ns = _saturate(_int(nanos, "nanoseconds"))

    @classmethod
    def from_raw(cls, inner: int) -> Ktime:
        """A Ktime from a raw ``ktime_t``."""
        return cls(inner)

    @classmethod
    def ktime_get(cls) -> Ktime:
        """``ktime_get()``: now on ``CLOCK_MONOTONIC``."""
        return cls(int(lib.pfl_ktime_get_ns()))

    def to_raw(self) -> int:
        """The ``ktime_t``."""
        return self._ns

    def to_ns(self) -> int:
        """Nanoseconds."""
        return self._ns

    def to_ms(self) -> int:
        """Milliseconds (``ktime_to_ms()``, truncated)."""
        return _tdiv(self._ns, NSEC_PER_MSEC)

    def __sub__(self, other: Ktime) -> Ktime:
        if not isinstance(other, Ktime):
            return NotImplemented
        return Ktime(_saturate(self._ns - other._ns))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ktime) and self._ns == other._ns

    def __hash__(self) -> int:
        return hash(("Ktime", self._ns))

    def __repr__(self) -> str:
        return f"Ktime({self._ns} ns)"


__all__ = [
    "HZ",
    "KTIME_MAX",
    "MAX_JIFFY_OFFSET",
    "MAX_SCHEDULE_TIMEOUT",
    "NSEC_PER_MSEC",
    "NSEC_PER_SEC",
    "NSEC_PER_USEC",
    "BootTime",
    "ClockSource",
    "Delta",
    "Instant",
    "Jiffies",
    "Ktime",
    "Monotonic",
    "Msecs",
    "RealTime",
    "Tai",
    "delta_to_jiffies",
    "jiffies",
    "jiffies_to_msecs",
    "msecs_to_jiffies",
    "nsecs_to_jiffies",
]
