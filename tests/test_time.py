"""pyforlinux.time, time.delay and time.hrtimer (issue 13)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyforlinux._bindings import lib
from pyforlinux.error import Error, code
from pyforlinux.sync.completion import Completion
from pyforlinux.time import (
    KTIME_MAX,
    BootTime,
    Delta,
    Instant,
    Ktime,
    Monotonic,
    RealTime,
    Tai,
    delta_to_jiffies,
    jiffies,
    jiffies_to_msecs,
    msecs_to_jiffies,
    nsecs_to_jiffies,
)
from pyforlinux.time.delay import MAX_FSLEEP, fsleep, msleep, msleep_interruptible
from pyforlinux.time.hrtimer import HrTimer, HrTimerCallbackContext, HrTimerMode, HrTimerRestart

I64_MAX = (1 << 63) - 1


def test_delta_units_and_saturation() -> None:
    assert Delta.from_micros(3).as_nanos() == 3_000
    assert Delta.from_millis(2).as_nanos() == 2_000_000
    assert Delta.from_secs(1).as_nanos() == 1_000_000_000
    assert Delta.from_secs(1 << 40).as_nanos() == I64_MAX  # saturates, as Rust
    assert Delta.from_secs(-(1 << 40)).as_nanos() == -(1 << 63)
    assert Delta.from_nanos(1001).as_micros_ceil() == 2
    assert Delta.from_nanos(-1001).as_micros_ceil() == 0  # C division: -2 / 1000
    assert Delta.from_nanos(-1_999_999).as_millis() == -1
    assert Delta.ZERO.is_zero() and Delta(-1).is_negative()
    assert Delta.from_millis(1) + Delta.from_millis(2) == Delta.from_millis(3)
    assert Delta.from_millis(1) < Delta.from_millis(2)
    with pytest.raises(Error) as e:
        Delta(1 << 63)
    assert e.value.errno == code.ERANGE
    with pytest.raises(TypeError):
        Delta(1.5)  # type: ignore[arg-type]


def test_instants_of_a_clock_subtract_to_a_delta() -> None:
    a = Instant.now(Monotonic)
    b = Instant.now(Monotonic)
    assert (b - a).as_nanos() >= 0
    assert a.elapsed().as_nanos() >= 0
    for clock in (Monotonic, RealTime, BootTime, Tai):
        assert 0 < Instant.now(clock).as_nanos() <= KTIME_MAX
    with pytest.raises(TypeError):
        Instant.now(RealTime) - a  # type: ignore[operator]
    k = Ktime.ktime_get()
    assert (Ktime.ktime_get() - k).to_ns() >= 0 and Ktime(5_000_000).to_ms() == 5


def test_jiffies_conversions_are_the_kernels() -> None:
    assert msecs_to_jiffies(1500) == 1500  # HZ = 1000
    assert jiffies_to_msecs(7) == 7
    assert nsecs_to_jiffies(1) == 1 and nsecs_to_jiffies(2_000_000) == 2
    assert delta_to_jiffies(Delta.from_nanos(1)) == 1  # rounds up
    assert delta_to_jiffies(Delta.ZERO) == 0
    assert jiffies() > 0
    for bad, err in ((lambda: msecs_to_jiffies(-1), code.ERANGE),
                     (lambda: msecs_to_jiffies(1 << 32), code.ERANGE),
                     (lambda: nsecs_to_jiffies(-1), code.EINVAL),
                     (lambda: delta_to_jiffies(Delta(-1)), code.EINVAL),
                     (lambda: delta_to_jiffies(Delta.from_secs(1 << 40)), code.ERANGE)):
        with pytest.raises(Error) as e:
            bad()
        assert e.value.errno == err


def test_sleeps_sleep_and_bad_ones_raise() -> None:
    t = Instant.now(Monotonic)
    fsleep(Delta.from_millis(2))
    msleep(1)
    assert t.elapsed() >= Delta.from_millis(3)
    assert msleep_interruptible(1) == 0
    for bad, err in ((Delta(-1), code.EINVAL), (MAX_FSLEEP + Delta(1), code.ERANGE)):
        with pytest.raises(Error) as e:
            fsleep(bad)
        assert e.value.errno == err
    with pytest.raises(Error):
        msleep(-1)


def test_msleep_interruptible_ends_on_a_signal() -> None:
    me = lib.pfl_current()
    lib.pfl_task_signal(me)
    try:
        assert msleep_interruptible(60_000) > 0
    finally:
        lib.pfl_task_clear_signal(me)


def test_hrtimer_fires_restarts_and_forwards() -> None:
    done = Completion()
    seen: list[int] = []

    def cb(ctx: HrTimerCallbackContext[Monotonic]) -> HrTimerRestart:
        seen.append(threading.get_ident())
        if len(seen) < 3:
            assert ctx.forward_now(Delta.from_micros(100)) >= 1
            return HrTimerRestart.Restart
        done.complete()
        return HrTimerRestart.NoRestart

    with HrTimer(cb) as t:
        t.start(Delta.from_micros(50))
        done.wait_for_completion()
        assert not t.is_queued()
    assert len(seen) == 3 and threading.get_ident() not in seen


def test_hrtimer_absolute_and_cancel() -> None:
    fired = Completion()
    with HrTimer(lambda ctx: fired.complete(), RealTime, HrTimerMode.Absolute) as t:
        h = t.start(Instant.now(RealTime) + Delta.from_secs(3600))
        assert t.is_queued() and t.active()
        assert t.expires().clock() is RealTime
        assert h.cancel() is True and not t.is_queued()
        assert t.cancel() is False
        t.start(Instant.now(RealTime))
        fired.wait_for_completion()
        with pytest.raises(TypeError):
            t.start(Delta.ZERO)  # absolute takes an Instant


def test_hrtimer_misuse_raises() -> None:
    got: list[int] = []
    done = Completion()

    def cb(ctx: HrTimerCallbackContext[Monotonic]) -> None:
        for op in (lambda: t.start(Delta.ZERO), t.cancel, t.close):
            try:
                op()
            except Error as e:
                got.append(e.errno)
        done.complete()

    t = HrTimer(cb)
    t.start(Delta.ZERO)
    done.wait_for_completion()
    t.close()
    assert got == [code.EBUSY, code.EDEADLK, code.EDEADLK]
    with pytest.raises(Error) as e:
        t.start(Delta.ZERO)
    assert e.value.errno == code.ENODEV
    with HrTimer(lambda ctx: None) as t2, pytest.raises(Error) as e:
        t2.start(Delta(-1))
    assert e.value.errno == code.EINVAL


@pytest.mark.kernel_warns
def test_hrtimer_callback_exception_is_a_warn_raised_by_close(kernel_clean: Any) -> None:
    done = Completion()

    def cb(ctx: HrTimerCallbackContext[Monotonic]) -> None:
        done.complete()
        raise ValueError("tick")

    t = HrTimer(cb)
    t.start(Delta.ZERO)
    done.wait_for_completion()
    with pytest.raises(ValueError, match="tick"):
        t.close()
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
