"""Delays: sleeping for a span of time.

Mirrors ``rust/kernel/time/delay.rs`` (``fsleep``) plus the C
``msleep``/``msleep_interruptible`` of include/linux/delay.h. A sleep
releases the GIL (the C call does) and sleeps the calling task; like the
kernel's, it must not happen in atomic context (the validator reports
sleeping under a spinlock, with preemption disabled or in an RCU read
section).

Differs from upstream: Rust's ``fsleep`` clamps a negative Delta or one
over ``i32::MAX`` µs to that maximum (its TODO is a ``WARN_ONCE``); here
those raise, so that a bad timeout is an error, not a 35-minute sleep.

C header: include/linux/delay.h
Rust: rust/kernel/time/delay.rs
"""

from __future__ import annotations

from typing import Final

from pyforlinux._bindings import lib
from pyforlinux.error import Error, code
from pyforlinux.time import Delta

MAX_FSLEEP: Final = Delta.from_micros((1 << 31) - 1)
"""Longest :func:`fsleep` (``i32::MAX`` µs, as the Rust code)."""

_U32_MAX: Final = (1 << 32) - 1


def fsleep(delta: Delta) -> None:
    """Sleep for ``delta`` (``fsleep()``: the kernel picks the mechanism).

    Args:
        delta: ``Delta.ZERO..MAX_FSLEEP``.

    Raises:
        TypeError: if ``delta`` is not a :class:`~pyforlinux.time.Delta`.
        Error: ``EINVAL`` for a negative Delta, ``ERANGE`` above
            :data:`MAX_FSLEEP`.

    Context: process context, may sleep.
    Rust: ``kernel::time::delay::fsleep``
    """
    if not isinstance(delta, Delta):
        raise TypeError(f"fsleep takes a Delta, not {type(delta).__name__}")
    if delta.is_negative():
        raise Error(code.EINVAL, f"fsleep({delta!r}): negative")
    if delta > MAX_FSLEEP:
        raise Error(code.ERANGE, f"fsleep({delta!r}): longer than {MAX_FSLEEP!r}")
    lib.pfl_might_sleep(b"fsleep", 0)
    lib.pfl_udelay(delta.as_micros_ceil())


def msleep(msecs: int) -> None:
    """Sleep for at least ``msecs`` milliseconds, uninterruptibly (``msleep()``).

    Raises:
        Error: ``ERANGE`` unless ``0 <= msecs <= U32_MAX``.
    """
    if isinstance(msecs, bool) or not isinstance(msecs, int):
        raise TypeError(f"msecs must be an int, not {type(msecs).__name__}")
    if not 0 <= msecs <= _U32_MAX:
        raise Error(code.ERANGE, f"msleep({msecs}): not an unsigned int")
    lib.msleep(msecs)


def msleep_interruptible(msecs: int) -> int:
    """Sleep up to ``msecs`` ms; a signal to the task ends it early.

    Returns:
        The milliseconds left (0 if it slept the whole time), as the C.

    Raises:
        Error: ``ERANGE`` unless ``0 <= msecs <= U32_MAX``.
    """
    if isinstance(msecs, bool) or not isinstance(msecs, int):
        raise TypeError(f"msecs must be an int, not {type(msecs).__name__}")
    if not 0 <= msecs <= _U32_MAX:
        raise Error(code.ERANGE, f"msleep_interruptible({msecs}): not an unsigned int")
    return int(lib.msleep_interruptible(msecs))


__all__ = ["MAX_FSLEEP", "fsleep", "msleep", "msleep_interruptible"]
