"""Completion, SetOnce, barriers, Refcount; interruptible waits (issue 13)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from pyforlinux._bindings import lib
from pyforlinux.error import Error, code, syscall_exit_errno
from pyforlinux.sync import Completion, Refcount, SetOnce
from pyforlinux.sync.barrier import smp_mb, smp_rmb, smp_wmb
from pyforlinux.task import current, interruptible_wait
from pyforlinux.time import Delta


def test_complete_releases_one_wait_complete_all_every_wait() -> None:
    c = Completion()
    assert not c.completion_done() and not c.try_wait_for_completion()
    assert c.wait_for_completion_timeout(Delta.from_millis(1)) is False
    c.complete()
    c.complete()
    assert c.completion_done()
    c.wait_for_completion()
    assert c.wait_for_completion_timeout(Delta.ZERO) is True
    assert c.try_wait_for_completion() is False
    c.complete_all()
    for _ in range(3):
        c.wait_for_completion()
    c.reinit()
    assert not c.completion_done()


def test_a_waiter_on_another_thread_is_woken() -> None:
    c = Completion()
    woke = threading.Event()

    def waiter() -> None:
        c.wait_for_completion()
        woke.set()

    t = threading.Thread(target=waiter)
    t.start()
    assert not woke.wait(0.05)
    c.complete()
    t.join(30)
    assert woke.is_set()


def test_interruptible_wait_ends_with_erestartsys_on_a_signal() -> None:
    c = Completion()
    out: dict[str, Any] = {}
    ready = threading.Event()

    def waiter() -> None:
        out["task"] = current().get()
        ready.set()
        try:
            c.wait_for_completion_interruptible()
        except Error as e:
            out["errno"] = e.errno
            out["pending"] = current().signal_pending()
            out["user"] = syscall_exit_errno(e.errno)  # the ioctl exit
            out["after"] = current().signal_pending()

    t = threading.Thread(target=waiter)
    t.start()
    ready.wait()
    out["task"].signal()
    t.join(30)
    out["task"].close()
    assert out["errno"] == code.ERESTARTSYS == 512
    assert out["pending"] is True
    assert out["user"] == code.EINTR and out["after"] is False
    assert syscall_exit_errno(-code.ENOENT) == code.ENOENT


def test_uninterruptible_wait_ignores_a_signal() -> None:
    c = Completion()
    me = current()
    lib.pfl_task_signal(lib.pfl_current())
    try:
        assert c.wait_for_completion_timeout(Delta.from_millis(2)) is False
        with pytest.raises(Error) as e:
            c.wait_for_completion_interruptible_timeout(Delta.from_secs(60))
        assert e.value.errno == code.ERESTARTSYS
    finally:
        me.clear_signal()


def test_ctrl_c_ends_an_interruptible_wait_as_a_signal() -> None:
    c = Completion()
    calls: list[int] = []

    def wait(j: int) -> int:
        calls.append(j)
        if len(calls) == 1:  # inside the wait: Ctrl-C now
            threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()
        return int(lib.pfl_wait_for_completion_state_timeout(c.as_raw(), lib.TASK_INTERRUPTIBLE, j))

    with pytest.raises(KeyboardInterrupt) as e:
        interruptible_wait(wait, int(lib.MAX_SCHEDULE_TIMEOUT))
    assert isinstance(e.value.__cause__, Error)
    assert e.value.__cause__.errno == code.ERESTARTSYS  # what the wait returned inside
    assert calls[-1] == 0  # the last wait ran with the signal pending
    assert not current().signal_pending()  # delivered


def test_bad_timeouts() -> None:
    c = Completion()
    for bad, err in ((Delta(-1), code.EINVAL), (Delta.from_secs(1 << 40), code.ERANGE)):
        with pytest.raises(Error) as e:
            c.wait_for_completion_timeout(bad)
        assert e.value.errno == err


def test_set_once_is_populated_once() -> None:
    s: SetOnce[int] = SetOnce()
    assert s.as_ref() is None and s.copy() is None
    assert s.populate(1) is True
    assert s.populate(2) is False
    assert s.as_ref() == 1
    results: list[bool] = []
    s2: SetOnce[int] = SetOnce()
    ts = [threading.Thread(target=lambda i=i: results.append(s2.populate(i))) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results.count(True) == 1 and s2.as_ref() is not None


def test_barriers_and_refcount() -> None:
    smp_mb()
    smp_wmb()
    smp_rmb()
    r = Refcount(1)
    r.inc()
    assert r.read() == 2
    assert r.dec_and_test() is False
    assert r.dec_and_test() is True
    r.set(5)
    r.dec()
    assert r.read() == 4
    with pytest.raises(ValueError):
        Refcount(1 << 31)


@pytest.mark.kernel_warns
def test_refcount_saturates_with_a_warn(kernel_clean: Any) -> None:
    r = Refcount(0)
    r.inc()  # increment on 0: use-after-free
    assert r.read() == int(lib.REFCOUNT_SATURATED) & 0xFFFFFFFF
    assert lib.pfl_warn_count() > kernel_clean.warnings
