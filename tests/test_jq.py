"""The job queue (pyforlinux.drm.jq, the series' drm::jq): order, dependencies,
errors, credits, timeouts, drain and cancel on close, over the real workqueue
and dma-fence C."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux.dma_buf import FenceCtx
from pyforlinux.drm.jq import Job, Jobqueue
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef
from pyforlinux.time import Delta

CTX: FenceCtx[Any] = FenceCtx("jqtest", "hw")
LONG = Delta.from_secs(10)  # a bound for waits that must succeed, not a timing


class Recorder:
    """run_job that records the order; 'hw' jobs return a pending hardware fence."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.hw: dict[str, Any] = {}
        self.timed_out: list[str] = []
        self.lock = threading.Lock()

    def run_job(self, job: Job[str]) -> Any:
        with self.lock:
            self.ran.append(job.data)
        if job.data.startswith("err"):
            raise Error(code.EIO, "the job failed")
        if job.data.startswith("bug"):
            raise ValueError("driver bug")
        if job.data.startswith("hw"):
            f = CTX.new_fence(CTX.new_fence_allocation(None))
            self.hw[job.data] = f
            return ARef.new(f.as_fence())
        return None

    def timedout_job(self, job: Job[str]) -> None:
        self.timed_out.append(job.data)


@pytest.fixture
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    for f in r.hw.values():
        f.close() if f.closed else f.signal()


def submit(jq: Jobqueue[str], data: str, *deps: Any, cost: int = 1) -> ARef[Any]:
    job: Job[str] = Job(cost, data)
    for d in deps:
        job.add_dependency(d.deref())
    return jq.submit_job(job)


def test_jobs_run_in_order_and_signal_their_done_fences(rec: Recorder) -> None:
    with Jobqueue("order", 8, rec.run_job) as jq:
        fences = [submit(jq, f"j{i}") for i in range(5)]
        assert jq.drain(LONG)
        assert rec.ran == [f"j{i}" for i in range(5)]
        for f in fences:
            assert f.deref().is_signaled() and f.deref().error == 0
            f.close()


def test_a_job_waits_for_its_dependency(rec: Recorder) -> None:
    with Jobqueue("deps", 8, rec.run_job) as jq:
        gate = CTX.new_fence(CTX.new_fence_allocation(None))
        g = ARef.new(gate.as_fence())
        first = submit(jq, "after-gate", g)
        second = submit(jq, "second")  # in order: behind the blocked head
        assert not first.deref().wait(Delta.from_millis(20))
        assert rec.ran == [] and jq.in_flight() == (2, 0)
        gate.signal()
        assert jq.drain(LONG)
        assert rec.ran == ["after-gate", "second"]
        for f in (first, second, g):
            f.close()


def test_errors_reach_the_done_fence_and_dependants_fail_unrun(rec: Recorder) -> None:
    with Jobqueue("errors", 8, rec.run_job) as jq:
        bad = submit(jq, "err")
        child = submit(jq, "child", bad)
        bug = submit(jq, "bug")
        assert jq.drain(LONG)
        assert bad.deref().error == -code.EIO
        assert child.deref().error == -code.EIO  # not run: its input failed
        assert bug.deref().error == -code.EIO  # a non-Error exception: a driver bug
        assert rec.ran == ["err", "bug"]
        for f in (bad, child, bug):
            f.close()


def test_credits_limit_the_jobs_in_flight(rec: Recorder) -> None:
    with Jobqueue("credits", 2, rec.run_job) as jq:
        a, b, c = submit(jq, "hw-a"), submit(jq, "hw-b"), submit(jq, "hw-c")
        assert not c.deref().wait(Delta.from_millis(20))
        assert rec.ran == ["hw-a", "hw-b"] and jq.credits() == 0
        assert jq.in_flight() == (1, 2)
        rec.hw["hw-a"].signal()
        assert a.deref().wait(LONG)
        rec.hw["hw-b"].signal(-code.EPIPE)  # the hardware fence's error is the job's
        assert b.deref().wait(LONG) and b.deref().error == -code.EPIPE
        for _ in range(500):  # hw-c starts once a job returned its credits
            if "hw-c" in rec.ran:
                break
            threading.Event().wait(0.01)
        rec.hw["hw-c"].signal()
        assert jq.drain(LONG) and jq.credits() == 2
        for f in (a, b, c):
            f.close()
        with pytest.raises(Error) as e:
            jq.submit_job(Job(3, "too big"))
        assert e.value.errno == code.EINVAL


def test_a_hung_job_times_out(rec: Recorder) -> None:
    with Jobqueue("tdr", 4, rec.run_job, timeout=Delta.from_millis(30),
                  timedout_job=rec.timedout_job) as jq:
        hung = submit(jq, "hw-hung")
        after = submit(jq, "after")
        assert hung.deref().wait(LONG)
        assert hung.deref().error == -code.ETIMEDOUT
        assert rec.timed_out == ["hw-hung"]
        assert jq.drain(LONG) and after.deref().error == 0
        hung.close()
        after.close()


def test_close_cancels_waiting_and_running_jobs_then_submit_is_enodev(rec: Recorder) -> None:
    jq: Jobqueue[str] = Jobqueue("unbind", 4, rec.run_job)
    gate = CTX.new_fence(CTX.new_fence_allocation(None))
    g = ARef.new(gate.as_fence())
    running = submit(jq, "hw-running")
    for _ in range(500):
        if jq.in_flight() == (0, 1):
            break
        threading.Event().wait(0.01)
    waiting = submit(jq, "waiting", g)
    jq.close()
    assert running.deref().error == -code.ENODEV
    assert waiting.deref().error == -code.ECANCELED
    with pytest.raises(Error) as e:
        jq.submit_job(Job(1, "late"))
    assert e.value.errno == code.ENODEV
    jq.close()  # idempotent
    gate.signal()  # the queue's callback on it was removed: nothing runs
    assert rec.ran == ["hw-running"]
    for f in (running, waiting, g):
        f.close()


def test_a_job_is_submitted_once_and_its_data_dropped_when_done(rec: Recorder) -> None:
    dropped: list[str] = []

    class Data(str):
        def close(self) -> None:
            dropped.append(str(self))

    with Jobqueue("once", 4, rec.run_job) as jq:
        job: Job[str] = Job(1, Data("d"))
        done = jq.submit_job(job)
        with pytest.raises(Error) as e:
            jq.submit_job(job)
        assert e.value.errno == code.EINVAL
        with pytest.raises(Error):
            job.add_dependency(done.deref())
        assert jq.drain(LONG)
        assert dropped == ["d"]
        with pytest.raises(Error):
            _ = job.data
        done.close()
    unsubmitted: Job[str] = Job(1, Data("never"))
    unsubmitted.close()
    assert dropped == ["d", "never"]


def test_the_queue_refuses_to_wait_for_itself_and_bad_arguments() -> None:
    seen: list[int] = []
    holder: list[Jobqueue[None]] = []

    def run_job(job: Job[None]) -> None:
        for call in (holder[0].close, lambda: holder[0].drain(LONG)):
            try:
                call()
            except Error as e:
                seen.append(e.errno or 0)

    with Jobqueue("self", 2, run_job) as jq:
        holder.append(jq)
        done = jq.submit_job(Job(1, None))
        assert done.deref().wait(LONG) and done.deref().error == 0
        done.close()
        assert seen == [code.EDEADLK, code.EDEADLK]
    for args, kw in [((0, rec_none), {}), ((2**32, rec_none), {}), ((2, 5), {}),
                     ((2, rec_none), {"timeout": Delta.ZERO}),
                     ((2, rec_none), {"timeout": 5})]:
        with pytest.raises(Error) as e:
            Jobqueue("bad", *args, **kw)
        assert e.value.errno == code.EINVAL, (args, kw)
    for cost in (-1, 2**32, 1.5):
        with pytest.raises(Error):
            Job(cost, None)


def rec_none(job: Job[Any]) -> None:
    return None


def test_two_threads_submitting_one_job_queue_it_once(rec: Recorder) -> None:
    from tests.threads import run_in_thread

    with Jobqueue("race", 8, rec.run_job) as jq:
        for i in range(20):
            job: Job[str] = Job(1, f"r{i}")
            results: list[Any] = []
            go = threading.Barrier(2)

            def submit_it(job: Job[str] = job, results: list[Any] = results,
                          go: threading.Barrier = go) -> None:
                go.wait(10)
                try:
                    results.append(jq.submit_job(job))
                except Error as e:
                    results.append(e.errno)

            t = threading.Thread(target=submit_it)
            t.start()
            run_in_thread(submit_it)
            t.join(30)
            fences = [r for r in results if isinstance(r, ARef)]
            assert len(fences) == 1 and results.count(code.EINVAL) == 1, results
            fences[0].close()
        assert jq.drain(LONG)
        assert rec.ran == [f"r{i}" for i in range(20)]
