"""pyforlinux.sync.condvar and poll: CondVar over the kernel's wait queue."""

from __future__ import annotations

import errno
import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyforlinux import task
from pyforlinux.error import Error
from pyforlinux.sync import rcu
from pyforlinux.sync.condvar import CondVar, Signal, Timeout, Woken, new_condvar
from pyforlinux.sync.lock import Lock
from pyforlinux.sync.lock.mutex import Mutex, new_mutex
from pyforlinux.sync.lock.spinlock import new_spinlock
from pyforlinux.sync.poll import PollCondVar, new_poll_condvar

LONG = 30_000  # jiffies (ms): a bound that is never reached in a passing run


def wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``cond`` (bounded); fail if it never holds."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition never held"
        time.sleep(0.001)


class Waiter(threading.Thread):
    """Runs ``body`` on its own thread, keeping its result or exception."""

    def __init__(self, body: Callable[[], Any]) -> None:
        super().__init__()
        self.body = body
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: task.Task | None = None
        self.start()

    def run(self) -> None:
        # A counted reference to this thread's task, for signalling it.
        self.task = task.current().get()
        try:
            self.result = self.body()
        except BaseException as e:
            self.error = e

    def finish(self) -> Any:
        self.join(30)
        assert not self.is_alive()
        assert self.task is not None
        self.task.close()
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def m() -> Iterator[Mutex[int]]:
    with new_mutex(0) as lock:
        yield lock


@pytest.fixture
def cv() -> Iterator[CondVar]:
    with new_condvar() as c:
        yield c


# ---------------------------------------------------------------- notify


def test_notify_all_wakes_a_waiter_that_rechecks_its_condition(
    m: Mutex[int], cv: CondVar
) -> None:
    def body() -> int:
        with m.lock() as g:
            while g.value == 0:
                cv.wait(g)
            return g.value

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    with m.lock() as g:
        g.value = 7
    cv.notify_all()
    assert w.finish() == 7


def test_a_notification_with_no_waiter_is_lost(m: Mutex[int], cv: CondVar) -> None:
    cv.notify_one()
    cv.notify_all()
    with m.lock() as g:
        # Not sticky: nothing wakes this wait before its timeout.
        assert cv.wait_interruptible_timeout(g, 20) == Timeout()
        assert m.is_held()


def test_the_lock_is_released_while_waiting_and_retaken_after(
    m: Mutex[int], cv: CondVar
) -> None:
    def body() -> bool:
        with m.lock() as g:
            r = cv.wait_interruptible_timeout(g, LONG)
            return isinstance(r, Woken) and m.is_held()

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    with m.lock():  # possible only because the waiter released it
        assert w.task is not None and not w.task.signal_pending()
    cv.notify_one()
    assert w.finish() is True


def test_woken_reports_the_jiffies_left(m: Mutex[int], cv: CondVar) -> None:
    def body() -> Any:
        with m.lock() as g:
            return cv.wait_interruptible_timeout(g, LONG)

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    # Queued (prepare_to_wait ran under the lock): this wake-up cannot be lost.
    cv.notify_one()
    r = w.finish()
    assert isinstance(r, Woken) and 0 < r.jiffies <= LONG


def test_notify_one_wakes_one_waiter(m: Mutex[int], cv: CondVar) -> None:
    done: list[int] = []

    def body(i: int) -> None:
        with m.lock() as g:
            while g.value == 0:  # one token per waiter
                cv.wait(g)
            g.value -= 1
            done.append(i)

    ws = [Waiter(functools.partial(body, i)) for i in range(2)]
    wait_until(lambda: cv.waiters == 2)
    with m.lock() as g:
        g.value += 1
    cv.notify_one()
    wait_until(lambda: len(done) == 1)
    ws[done[0]].join(30)
    wait_until(lambda: cv.waiters == 1)  # the other one still waits
    assert ws[1 - done[0]].is_alive()
    with m.lock() as g:
        g.value += 1
    cv.notify_one()
    for w in ws:
        w.finish()
    assert sorted(done) == [0, 1]


def test_a_spinlock_guard_is_released_while_sleeping() -> None:
    with new_spinlock(0) as s, new_condvar() as cv:

        def body() -> int:
            with s.lock() as g:
                while g.value == 0:
                    cv.wait(g)
                return g.value

        w = Waiter(body)
        wait_until(lambda: cv.waiters == 1)
        with s.lock() as g:
            g.value = 3
            cv.notify_all()  # notify may run under a spinlock
        assert w.finish() == 3


# ---------------------------------------------------------------- timeouts and signals


def test_timeout_when_nobody_notifies(m: Mutex[int], cv: CondVar) -> None:
    with m.lock() as g:
        assert cv.wait_interruptible_timeout(g, 5) == Timeout()
        assert cv.wait_interruptible_timeout(g, 0) == Timeout()


def test_a_signal_ends_an_interruptible_wait(m: Mutex[int], cv: CondVar) -> None:
    """Signalling: Task.signal() (pfl_task_signal()) on the waiting thread's task."""

    def body() -> tuple[bool, Any]:
        with m.lock() as g:
            pending = cv.wait_interruptible(g)
            # Still pending: interruptible waits return at once until cleared.
            r = cv.wait_interruptible_timeout(g, LONG)
            task.current().clear_signal()
            return pending, r

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    assert w.task is not None
    w.task.signal()
    pending, r = w.finish()
    assert pending is True
    assert isinstance(r, Signal) and r.jiffies > 0


def test_a_signal_does_not_end_an_uninterruptible_wait(m: Mutex[int], cv: CondVar) -> None:
    def body() -> bool:
        with m.lock() as g:
            while g.value == 0:
                cv.wait(g)
            pending = task.current().signal_pending()
            task.current().clear_signal()
            return pending

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    assert w.task is not None
    w.task.signal()
    time.sleep(0.02)  # give a (wrong) wake-up the chance to happen
    assert w.is_alive() and cv.waiters == 1
    with m.lock() as g:
        g.value = 1
    cv.notify_all()
    assert w.finish() is True


# ---------------------------------------------------------------- misuse


def test_a_guard_of_another_thread_or_released_is_refused(m: Mutex[int], cv: CondVar) -> None:
    with m.lock() as g:
        w = Waiter(lambda: cv.wait_interruptible_timeout(g, 1))
        with pytest.raises(Error) as e:
            w.finish()
        assert e.value.errno == errno.EPERM
        with pytest.raises(Error) as e:
            cv.wait_interruptible_timeout(g, -1)
        assert e.value.errno == errno.EINVAL
    with pytest.raises(Error) as e:
        cv.wait(g)
    assert e.value.errno == errno.EINVAL
    assert cv.waiters == 0


def test_close_refuses_a_condvar_with_waiters(m: Mutex[int]) -> None:
    cv = CondVar()

    def body() -> None:
        with m.lock() as g:
            while g.value == 0:
                cv.wait(g)

    w = Waiter(body)
    wait_until(lambda: cv.waiters == 1)
    with pytest.raises(Error) as e:
        cv.close()
    assert e.value.errno == errno.EBUSY
    with m.lock() as g:
        g.value = 1
    cv.notify_all()
    w.finish()
    cv.close()
    cv.close()
    for use in (cv.notify_one, cv.as_ptr):
        with pytest.raises(Error) as e:
            use()
        assert e.value.errno == errno.EINVAL
    with m.lock() as g, pytest.raises(Error) as e:
        cv.wait(g)
    assert e.value.errno == errno.EINVAL


# ---------------------------------------------------------------- PollCondVar


def test_poll_condvar_close_wakes_waiters_even_under_their_lock(m: Mutex[int]) -> None:
    pcv = new_poll_condvar()
    assert isinstance(pcv, PollCondVar)

    def body() -> Any:
        with m.lock() as g:
            cv_result = pcv.wait_interruptible_timeout(g, LONG)
            try:
                pcv.wait(g)
            except Error as e:
                return cv_result, e.errno
            return cv_result, None

    ws = [Waiter(body) for _ in range(2)]
    wait_until(lambda: pcv.waiters == 2)
    with m.lock():
        # The waiters leave the queue before re-taking m: no deadlock.
        pcv.close()
        assert pcv.closed
    for w in ws:
        r, err = w.finish()
        assert isinstance(r, Woken)
        assert err == errno.EINVAL


def test_poll_condvar_close_waits_for_a_grace_period() -> None:
    pcv = PollCondVar()
    inside, leave = threading.Event(), threading.Event()

    def reader() -> None:
        with rcu.read_lock():
            inside.set()
            leave.wait(30)

    r = threading.Thread(target=reader)
    r.start()
    assert inside.wait(30)
    closer = threading.Thread(target=pcv.close)
    closer.start()
    closer.join(0.2)
    try:
        # The reader's section began before close(): the grace period waits.
        assert closer.is_alive() and not pcv.closed
    finally:
        leave.set()
        r.join(30)
        closer.join(30)
    assert pcv.closed


# ---------------------------------------------------------------- property


@settings(max_examples=15, deadline=None)
@given(tokens=st.lists(st.sampled_from(["one", "all"]), min_size=1, max_size=6))
def test_every_token_reaches_a_consumer(tokens: list[str]) -> None:
    """Producer/consumer over a token count: whatever mix of notify_one and
    notify_all is used, every consumer gets its token and none is lost."""
    with new_mutex(0) as lock, CondVar() as cv:
        got: list[int] = []

        def consumer(i: int, lk: Lock[int, Any] = lock) -> None:
            with lk.lock() as g:
                while g.value == 0:
                    cv.wait(g)
                g.value -= 1
                got.append(i)

        ws = [Waiter(functools.partial(consumer, i)) for i in range(len(tokens))]
        wait_until(lambda: cv.waiters == len(tokens))
        for t in tokens:
            with lock.lock() as g:
                g.value += 1
            if t == "one":
                cv.notify_one()
            else:
                cv.notify_all()
        for w in ws:
            w.finish()
        assert sorted(got) == list(range(len(tokens)))
