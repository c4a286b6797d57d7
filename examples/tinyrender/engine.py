"""The stand-in hardware: a render engine that runs one operation at a time,
``latency_us`` after it was handed over, and signals the operation's
hardware fence -- what a GPU's ring and its interrupt would do -- plus an
auxiliary device ``TinyEngine.tinyrender.0`` for the driver to bind to.

``hang=1`` makes the engine take work and never finish it (the driver's
job timeout then fires); ``reset()`` is the engine reset a driver does
from its timeout handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pyforlinux import auxiliary, faux, workqueue
from pyforlinux.dma_buf.dma_fence import DriverFence, Fence, FenceCtx, begin_signalling
from pyforlinux.error import Error, code
from pyforlinux.module import Param, ThisModule, module
from pyforlinux.sync.aref import ARef
from pyforlinux.time import Delta


class _Op(workqueue.WorkItem):
    """One operation on the engine, and the hardware fence it signals."""

    def __init__(self, engine: Engine, op: Callable[[], None], fence: DriverFence[None]) -> None:
        self.engine = engine
        self.op = op
        self.fence = fence
        self.work = workqueue.new_work("tinyrender::Engine::op")

    def run(self) -> None:
        if not self.engine._take(self):
            return  # reset or closed meanwhile: its fence was signalled there
        result: Error | int | None = None
        try:
            self.op()
        except Error as e:
            result = e
        except Exception:
            result = -code.EIO  # a bug: the fence still signals, the work reports it
            raise
        finally:
            with begin_signalling():
                self.fence.signal(result)


class Engine:
    """The engine: :meth:`execute` an operation, get its hardware fence."""

    def __init__(self, latency_us: int, hang: bool) -> None:
        self.ctx: FenceCtx[None] = FenceCtx("tinyrender", "engine")
        self.latency = Delta.from_micros(latency_us)
        self.hang = hang
        self.wq = workqueue.Queue.alloc_ordered("tinyrender-engine")
        self.lock = threading.Lock()
        self.pending: list[_Op] = []
        self.closed = False
        self.executed = 0

    def execute(self, op: Callable[[], None]) -> ARef[Fence]:
        """Hand ``op`` to the engine; its hardware fence signals when it ran
        (with the ``Error`` it raised). Raises ``ENODEV`` once closed."""
        allocation = self.ctx.new_fence_allocation(None)
        fence = self.ctx.new_fence(allocation)
        out = ARef.new(fence.as_fence())
        item = _Op(self, op, fence)
        with self.lock:
            closed = self.closed
            if not closed:
                self.pending.append(item)
        if closed:
            fence.signal(-code.ENODEV)
            return out
        if not self.hang:
            self.wq.enqueue_delayed(item, self.latency)
        return out

    def _take(self, item: _Op) -> bool:
        with self.lock:
            if item not in self.pending:
                return False
            self.pending.remove(item)
            self.executed += 1
            return True

    def reset(self, error: int = -code.EIO) -> int:
        """Drop every operation not yet run, their fences signalled with
        ``error``; wait for one running. Returns how many were dropped."""
        with self.lock:
            dropped, self.pending = self.pending, []
        for item in dropped:
            item.work.cancel()
            item.fence.signal(error)
        self.wq.flush()
        return len(dropped)

    def close(self) -> None:
        """The device goes away: pending work fails with ``-ENODEV``. Idempotent."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.reset(-code.ENODEV)
        self.wq.destroy()


@module(name="TinyEngine", authors=["You"], description="tinyrender's stand-in engine",
        license="GPL v2",
        params={"latency_us": Param(int, 0, "engine latency per operation, microseconds"),
                "hang": Param(int, 0, "1: the engine never finishes an operation")})
class TinyEngineModule:
    def __init__(self, this_module: ThisModule) -> None:
        self.dev = faux.Registration("tinyrender-engine0")
        self.engine: Any = None
        try:
            self.engine = Engine(this_module.param("latency_us").value,
                                 bool(this_module.param("hang").value))
            self.dev.set_drvdata(self.engine)
            self.aux = auxiliary.Registration(self.dev.as_bound(), "tinyrender", 0, "TinyEngine")
        except BaseException:
            if self.engine is not None:
                self.engine.close()
            self.dev.close()
            raise

    def close(self) -> None:
        self.aux.close()  # the driver unbinds first
        self.engine.close()
        self.dev.close()
