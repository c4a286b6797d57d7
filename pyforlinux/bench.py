"""``pyforlinux bench``: what the safe layer costs over the raw bindings and over C.

Rust for Linux promises zero-cost abstractions; this measures how close the
Python safe layer comes. Each operation is timed in one run at three
layers, all making the same kernel C calls on the same kind of objects:

(a) ``safe``: the safe pyforlinux API, as a driver would use it;
(b) ``raw``: the raw cffi bindings (:mod:`pyforlinux._bindings`) making the
    C calls of the operation directly from Python, with no checks;
(c) ``c``: a C loop over the same C calls, compiled into the extension
    (csrc/helpers/bench.c): the physical limit on this machine.

Operations (``name``: what one op is, at every layer):

- ``clist_iter``: one element of a walk over a C list of
  :data:`LIST_LENGTH` kmalloc'd nodes (:class:`~pyforlinux.interop.list.CList`,
  one FFI step per element); ``clist_iter_batched``: the same walk through
  :meth:`~pyforlinux.interop.list.CList.iter_batched` (one FFI crossing
  per batch, checks in C);
- ``gpu_buddy``: alloc + free of a 64 KiB block from an empty 256 MiB
  allocator with 4 KiB chunks (:class:`~pyforlinux.gpu.buddy.GpuBuddy`),
  each C call under the allocator's mutex;
- ``xarray``: store at index 0 (alternating two entries, so the store
  returns the other) + load, under the array's lock
  (:class:`~pyforlinux.xarray.XArray` of ``KBox``);
- ``dma_fence``: create (allocate + arm) + add a callback + signal (the
  callback runs) + drop the fence
  (:class:`~pyforlinux.dma_buf.dma_fence.DriverFence`,
  :class:`~pyforlinux.dma_buf.dma_fence.FenceCbRegistration`);
- ``mutex``: lock + unlock, uncontended
  (:class:`~pyforlinux.sync.lock.mutex.Mutex`);
- ``nova_gem``: Nova's ``GEM_CREATE`` (4 KiB) + ``GEM_CLOSE`` through the
  ioctl path of a :class:`~pyforlinux.drm.client.Client` on
  ``/dev/dri/card0`` (the raw and C layers make the kernel C calls that
  path makes: buddy allocation, clearing, the handle idr, the RCU grace
  period of the VRAM's revocation, buddy free).

Beside the table (when every operation runs): the cost of one
``NOVA_GETPARAM`` ioctl from a real C process (tools/nova-drm-client, a
loop of :data:`BRIDGE_IOCTLS`) through the device-node bridge
(:mod:`pyforlinux.devnode`: umockdev's preload, its socket, FUSE), next to
the same ioctl from an in-process :class:`~pyforlinux.drm.client.Client`.

Method: each layer first runs until it has taken at least ``min_time``
(warm-up and calibration of the iteration count ``n``); then the three
layers run in turn, ``reps`` times, each run ``n`` ops; ns/op is the
median over the runs. The cyclic garbage collector is off while timing.
Units: ns per op (ns per element for the list walks); ratios a/b and a/c
are of the medians.

Thread context: process context, the main thread; loads and unloads the
Nova modules (the ``nova_gem`` operation).
"""

from __future__ import annotations

import datetime
import gc
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, TextIO

from pyforlinux._bindings import build_dir, ffi, lib

__all__ = [
    "CLOCKS",
    "LAYERS",
    "LIST_LENGTH",
    "OPS",
    "LayerResult",
    "OpResult",
    "Report",
    "Target",
    "main",
    "render",
    "run",
]

LAYERS: Final = ("safe", "raw", "c")
"""The layers every operation has, in table order: (a) safe API, (b) raw cffi, (c) C loop."""

FLOOR: Final = "floor"
"""The optional fourth layer, (d) no-check API: the safe API's calling shape
(objects, methods, ``with`` blocks, the same ops per call) over the raw
layer's C calls, with no check and no owner. ``d/b`` is what a Python layer
of that shape costs whatever its checks (the floor of the ``a/b`` targets),
``a/d`` what the checks and owners cost. Given for the operations with an
``a/b`` target."""

LAYER_TITLES: Final = {"safe": "(a) safe API", "raw": "(b) raw cffi", "c": "(c) C loop",
                       FLOOR: "(d) no-check API"}
"""Column titles of :data:`LAYERS` and :data:`FLOOR`."""

LIST_LENGTH: Final = 100_000
"""Nodes of the C list the ``clist_*`` operations walk (1000 in quick mode)."""

_QUICK_LIST_LENGTH: Final = 1000
_KIB: Final = 1 << 10
_MIB: Final = 1 << 20
_BUDDY_SIZE: Final = 256 * _MIB
_BUDDY_BLOCK: Final = 64 * _KIB
_CHUNK: Final = 4 * _KIB
_GEM_SIZE: Final = 4 * _KIB


# ---------------------------------------------------------------- results


@dataclass
class LayerResult:
    """One layer of one operation.

    Attributes:
        ns_per_op: the median of ``samples`` (ns per op, or per element).
        samples: ns/op of each timed run.
        iterations: ops per timed run (list walks: elements per run).
    """

    ns_per_op: float
    samples: list[float]
    iterations: int

    @property
    def spread(self) -> float:
        """(max - min) / median of the samples: how noisy the runs were."""
        return (max(self.samples) - min(self.samples)) / self.ns_per_op if self.ns_per_op else 0.0


@dataclass
class OpResult:
    """One operation: its three layers and the ratios of their medians.

    Attributes:
        name: short name (``"gpu_buddy"``).
        title: what one op is.
        unit: ``"op"`` or ``"element"`` (what ns are per).
        calls: the kernel C calls one op makes (every layer).
        layers: :data:`LAYERS` (and :data:`FLOOR` where the operation has
            one) -> :class:`LayerResult`.
        ratios: ``{"a/b": safe/raw, "a/c": safe/C}``, and with a floor
            ``"d/b"`` (floor/raw) and ``"a/d"`` (safe/floor).
    """

    name: str
    title: str
    unit: str
    calls: str
    layers: dict[str, LayerResult]
    ratios: dict[str, float] = field(default_factory=dict)

    def rate(self, layer: str = "safe") -> float:
        """Ops (elements) per second of ``layer``."""
        ns = self.layers[layer].ns_per_op
        return 1e9 / ns if ns else float("inf")


@dataclass
class Target:
    """A performance target (issues 7 and 17) and whether this run met it.

    Attributes:
        name: what is measured.
        goal: the target, as text.
        value: the measured figure (a ratio, or per second).
        met: whether it is met.
        unit: ``""`` for a ratio, ``"ns"`` (per op) or ``"/s"`` (a rate).
        floor: the same figure for the no-check API (:data:`FLOOR`) of
            the same run, where the operation has one: ``d/b`` for a
            ratio, its ns for ``"ns"``; what no Python layer of that shape
            can do better than.
    """

    name: str
    goal: str
    value: float
    met: bool
    unit: str = ""
    floor: float | None = None

    def display(self, value: float | None = None) -> str:
        """The value (or ``value``: the floor) as text: a ratio, ``ns`` or a rate (``/s``)."""
        v = self.value if value is None else value
        if self.unit == "ns":
            return f"{v:,.0f} ns"
        if self.unit == "/s":
            return f"{v:,.0f}/s"
        return f"{v:.2f}"


@dataclass
class Report:
    """A whole run: environment (``meta``), operations and targets."""

    meta: dict[str, Any]
    ops: list[OpResult]
    targets: list[Target]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """The report back from :meth:`to_json`'s data (e.g. a ``--json`` file).

        Raises:
            KeyError, TypeError: for data that is not such a report.
        """
        ops = [
            OpResult(
                op["name"], op["title"], op["unit"], op["calls"],
                {k: LayerResult(float(v["ns_per_op"]), [float(x) for x in v["samples"]],
                                int(v["iterations"])) for k, v in op["layers"].items()},
                {k: float(v) for k, v in op["ratios"].items()},
            )
            for op in data["ops"]
        ]
        targets = [Target(t["name"], t["goal"], float(t["value"]), bool(t["met"]),
                          str(t.get("unit", "")),
                          None if t.get("floor") is None else float(t["floor"]))
                   for t in data["targets"]]
        return cls(dict(data["meta"]), ops, targets)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (``--json``)."""
        ops = []
        for op in self.ops:
            d = asdict(op)
            for name, layer in op.layers.items():
                d["layers"][name]["spread"] = layer.spread
            d["rate_per_s"] = op.rate()
            ops.append(d)
        return {"meta": self.meta, "ops": ops, "targets": [asdict(t) for t in self.targets]}


# ---------------------------------------------------------------- operations


class _Op:
    """One operation: ``setup``, then ``safe(n)``/``raw(n)``/``c(n)`` run n ops."""

    name = ""
    title = ""
    unit = "op"
    calls = ""
    per = 1  # work items (elements) per iteration

    def __init__(self, quick: bool) -> None:
        self.quick = quick

    def setup(self) -> None:
        """Create what the three layers work on."""

    def safe(self, n: int) -> None:
        """``n`` ops through the safe API."""
        raise NotImplementedError

    def raw(self, n: int) -> None:
        """``n`` ops through the raw bindings."""
        raise NotImplementedError

    def c(self, n: int) -> None:
        """``n`` ops in the C loop."""
        raise NotImplementedError

    #: ``floor(n)``: ``n`` ops through the no-check API (:data:`FLOOR`), or None.
    floor: Callable[[int], None] | None = None

    def close(self) -> None:
        """Free everything ``setup`` made."""


def _check(ret: int, what: str) -> None:
    if ret:
        from pyforlinux.error import Error

        raise Error(-ret if ret < 0 else 5, f"bench: {what} failed ({ret})")


class _ListOp(_Op):
    name = "clist_iter"
    title = "CList iteration, per element"
    unit = "element"
    calls = ("list_for_each_entry over kmalloc'd nodes; (a) checks each step "
             "(poison, next->prev, entry live)")

    def setup(self) -> None:
        from pyforlinux.interop.list import clist_create, entry_ptr

        self.per = _QUICK_LIST_LENGTH if self.quick else LIST_LENGTH
        self.head = lib.pfl_bench_list_new(self.per)
        if self.head == ffi.NULL:
            _check(-12, "pfl_bench_list_new")
        self.clist = clist_create(self.head, entry_ptr, "struct pfl_bench_node", "link")
        self.offset = ffi.offsetof("struct pfl_bench_node", "link")

    def safe(self, n: int) -> None:
        clist = self.clist
        for _ in range(n):
            for _entry in clist:
                pass

    def raw(self, n: int) -> None:
        head, node_p, char_p, off = self.head, ffi.typeof("struct pfl_bench_node *"), \
            ffi.typeof("char *"), self.offset
        cast = ffi.cast
        for _ in range(n):
            p = head.next
            while p != head:
                _entry = cast(node_p, cast(char_p, p) - off)  # container_of
                p = p.next

    def c(self, n: int) -> None:
        lib.pfl_bench_list_walk(self.head, n)

    def close(self) -> None:
        lib.pfl_bench_list_free(self.head)


class _ListBatchedOp(_ListOp):
    name = "clist_iter_batched"
    title = "CList iteration, batched, per element"
    calls = ("as clist_iter; (a) iter_batched(): the same checks in C, one FFI crossing "
             "per 1024 entries; (b) an unchecked C collect per 1024 entries")

    def safe(self, n: int) -> None:
        clist = self.clist
        for _ in range(n):
            for _entry in clist.iter_batched():
                pass

    def raw(self, n: int) -> None:
        from pyforlinux.interop.list import BATCH

        head = self.head
        out = ffi.new("struct pfl_bench_node *[]", BATCH)
        cur = ffi.new("struct list_head **")
        collect, unpack = lib.pfl_bench_list_collect, ffi.unpack
        for _ in range(n):
            cur[0] = head
            while True:
                k = collect(head, cur, out, BATCH)
                if not k:
                    break
                for _entry in unpack(out, k):
                    pass


def _raw_mutex(name: bytes) -> tuple[Any, Any, Any]:
    """A zeroed, initialised ``struct mutex *`` (Python-owned) with its name and key."""
    key = ffi.new("struct lock_class_key *")
    cname = ffi.new("char[]", name)
    m = ffi.new("struct mutex *")
    lib.pfl_mutex_init(m, cname, key)
    return m, cname, key


# ---------------------------------------------------------------- (d) the no-check API
# The safe API's shape over the raw calls: what the FLOOR layer runs. No
# checks, no owners, no registries; never use these outside the benchmark.


class _NullGuard:
    """A lock guard with the ``with`` shape and nothing else."""

    __slots__ = ("_m",)

    def __init__(self, m: Any) -> None:
        self._m = m

    def __enter__(self) -> _NullGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        lib.pfl_mutex_unlock(self._m, 0)


class _NullMutex:
    """``lock()`` takes the C mutex and returns a :class:`_NullGuard`."""

    def __init__(self, name: bytes) -> None:
        self.ptr, self._name, self._key = _raw_mutex(name)

    def lock(self) -> _NullGuard:
        lib.pfl_mutex_lock(self.ptr, 0, 0)
        return _NullGuard(self.ptr)


class _NullBlocks:
    """An allocation: ``close()`` (or ``with``) frees it under the allocator's lock."""

    __slots__ = ("_buddy", "_list")

    def __init__(self, buddy: _NullBuddy, blocks: Any) -> None:
        self._buddy, self._list = buddy, blocks

    def __enter__(self) -> _NullBlocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        b = self._buddy
        with b.lock.lock():
            lib.gpu_buddy_free_list(b.mm, self._list, 0)


class _NullBuddy:
    """``alloc_blocks(mode, size, min_block)`` under a :class:`_NullMutex`."""

    def __init__(self) -> None:
        self.mm = ffi.new("struct gpu_buddy *")
        _check(lib.gpu_buddy_init(self.mm, _BUDDY_SIZE, _CHUNK), "gpu_buddy_init")
        self.lock = _NullMutex(b"bench.null_buddy")
        self.blocks = ffi.new("struct list_head *")
        lib.INIT_LIST_HEAD(self.blocks)

    def alloc_blocks(self, flags: int, size: int, min_block: int) -> _NullBlocks:
        with self.lock.lock():
            ret = lib.gpu_buddy_alloc_blocks(self.mm, 0, 0, size, min_block, self.blocks, flags)
        if ret:
            _check(ret, "gpu_buddy_alloc_blocks")
        return _NullBlocks(self, self.blocks)

    def close(self) -> None:
        lib.gpu_buddy_fini(self.mm)
        lib.mutex_destroy(self.lock.ptr)


class _NullXaGuard:
    """``store``/``get`` as methods over the raw calls, under ``xa_lock``."""

    __slots__ = ("_xa",)

    def __init__(self, xa: Any) -> None:
        self._xa = xa

    def __enter__(self) -> _NullXaGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        lib.xa_unlock(self._xa)

    def store(self, index: int, value: Any, gfp: int) -> Any:
        old = _XA_STORE(self._xa, index, value, gfp)
        if lib.xa_is_err(old):
            _check(-12, "__xa_store")
        return old

    def get(self, index: int) -> Any:
        return lib.xa_load(self._xa, index)


class _NullXArray:
    """``lock()`` takes ``xa_lock`` and returns a :class:`_NullXaGuard`."""

    def __init__(self) -> None:
        self.ptr = ffi.new("struct xarray *")
        lib.xa_init_flags(self.ptr, lib.XA_FLAGS_ALLOC)

    def lock(self) -> _NullXaGuard:
        lib.xa_lock(self.ptr)
        return _NullXaGuard(self.ptr)


class _NullFence:
    """A fence; ``signal()`` signals it and drops the reference (the DriverFence's)."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr

    def as_fence(self) -> _NullFence:
        return self

    def signal(self) -> None:
        lib.dma_fence_signal(self.ptr)
        lib.dma_fence_put(self.ptr)


class _NullFenceCtx:
    """``new_fence(new_fence_allocation(data))`` over ``pfl_dma_fence_alloc``/``_arm``."""

    def __init__(self) -> None:
        self.context = lib.dma_fence_context_alloc(1)
        self.seqno = 0

    def new_fence_allocation(self, data: Any) -> Any:
        p = lib.pfl_dma_fence_alloc(b"bench", b"bench", lib.GFP_KERNEL)
        if lib.IS_ERR(p):
            _check(-12, "pfl_dma_fence_alloc")
        return p

    def new_fence(self, alloc: Any) -> _NullFence:
        self.seqno += 1
        return _NullFence(lib.pfl_dma_fence_arm(alloc, self.context, self.seqno))


class _NullFenceCb:
    """A registration: ``new(fence, callback)`` adds the C callback; ``close()`` nothing."""

    __slots__ = ()

    cb = ffi.new("struct dma_fence_cb *")

    @classmethod
    def new(cls, fence: _NullFence, callback: Any) -> _NullFenceCb:
        if lib.dma_fence_add_callback(fence.ptr, cls.cb, lib.pfl_bench_fence_cb):
            _check(-2, "dma_fence_add_callback")
        return cls()

    def close(self) -> None:
        pass


class _BuddyOp(_Op):
    name = "gpu_buddy"
    title = "GpuBuddy alloc + free, 64 KiB"
    calls = ("mutex_lock; gpu_buddy_alloc_blocks; mutex_unlock; mutex_lock; "
             "gpu_buddy_free_list; mutex_unlock (256 MiB, 4 KiB chunks)")

    def setup(self) -> None:
        from pyforlinux.gpu.buddy import GpuBuddy, GpuBuddyAllocMode

        self.buddy = GpuBuddy(0, _BUDDY_SIZE, _CHUNK)
        self.mode = GpuBuddyAllocMode.Simple
        self.mm = ffi.new("struct gpu_buddy *")
        _check(lib.gpu_buddy_init(self.mm, _BUDDY_SIZE, _CHUNK), "gpu_buddy_init")
        self.lock, self._name, self._key = _raw_mutex(b"bench.buddy")
        self.blocks = ffi.new("struct list_head *")
        lib.INIT_LIST_HEAD(self.blocks)
        self.null = _NullBuddy()

    def safe(self, n: int) -> None:
        buddy, mode = self.buddy, self.mode
        for _ in range(n):
            with buddy.alloc_blocks(mode, _BUDDY_BLOCK, _CHUNK):
                pass

    def raw(self, n: int) -> None:
        mm, lock, blocks = self.mm, self.lock, self.blocks
        lock_, unlock = lib.pfl_mutex_lock, lib.pfl_mutex_unlock
        alloc, free = lib.gpu_buddy_alloc_blocks, lib.gpu_buddy_free_list
        for _ in range(n):
            lock_(lock, 0, 0)
            ret = alloc(mm, 0, 0, _BUDDY_BLOCK, _CHUNK, blocks, 0)
            unlock(lock, 0)
            if ret:
                _check(ret, "gpu_buddy_alloc_blocks")
            lock_(lock, 0, 0)
            free(mm, blocks, 0)
            unlock(lock, 0)

    def c(self, n: int) -> None:
        _check(lib.pfl_bench_buddy(self.mm, self.lock, _BUDDY_BLOCK, _CHUNK, n), "pfl_bench_buddy")

    def floor(self, n: int) -> None:
        buddy = self.null
        for _ in range(n):
            with buddy.alloc_blocks(0, _BUDDY_BLOCK, _CHUNK):
                pass

    def close(self) -> None:
        self.null.close()
        self.buddy.close()
        lib.gpu_buddy_fini(self.mm)
        lib.mutex_destroy(self.lock)


class _XArrayOp(_Op):
    name = "xarray"
    title = "XArray store + load"
    calls = "xa_lock; __xa_store (index 0; returns the other entry); xa_load; xa_unlock"

    def setup(self) -> None:
        from pyforlinux.alloc import GFP_KERNEL, KBox
        from pyforlinux.xarray import AllocKind, XArray

        self.gfp = GFP_KERNEL
        self.xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
        with self.xa.lock() as g:
            g.store(0, KBox.new("u64", GFP_KERNEL, 1), GFP_KERNEL)
        self.spare: Any = KBox.new("u64", GFP_KERNEL, 2)
        self.raw_xa = ffi.new("struct xarray *")
        lib.xa_init_flags(self.raw_xa, lib.XA_FLAGS_ALLOC)
        self.a = lib.pfl_kmalloc(16, lib.GFP_KERNEL, 0)
        self.b = lib.pfl_kmalloc(16, lib.GFP_KERNEL, 0)
        self.null = _NullXArray()
        self.null_spare = self.b
        with self.null.lock() as g:
            g.store(0, self.a, lib.GFP_KERNEL)

    def safe(self, n: int) -> None:
        xa, gfp, spare = self.xa, self.gfp, self.spare
        for _ in range(n):
            with xa.lock() as g:
                old = g.store(0, spare, gfp)
                g.get(0)
            spare = old
        self.spare = spare

    def raw(self, n: int) -> None:
        xa, a, b, gfp = self.raw_xa, self.a, self.b, lib.GFP_KERNEL
        xa_lock, xa_unlock, store, load = lib.xa_lock, lib.xa_unlock, _XA_STORE, lib.xa_load
        is_err = lib.xa_is_err
        for i in range(n):
            v = b if i & 1 else a
            xa_lock(xa)
            old = store(xa, 0, v, gfp)
            if is_err(old):
                xa_unlock(xa)
                _check(-12, "__xa_store")
            load(xa, 0)
            xa_unlock(xa)

    def c(self, n: int) -> None:
        _check(lib.pfl_bench_xarray(self.raw_xa, 0, self.a, self.b, n), "pfl_bench_xarray")

    def floor(self, n: int) -> None:
        xa, gfp, spare = self.null, lib.GFP_KERNEL, self.null_spare
        for _ in range(n):
            with xa.lock() as g:
                old = g.store(0, spare, gfp)
                g.get(0)
            spare = old
        self.null_spare = spare

    def close(self) -> None:
        lib.xa_erase(self.null.ptr, 0)
        lib.xa_destroy(self.null.ptr)
        self.spare.close()
        self.xa.close()
        lib.xa_erase(self.raw_xa, 0)
        lib.xa_destroy(self.raw_xa)
        lib.pfl_kfree(self.a, 0)
        lib.pfl_kfree(self.b, 0)


# Bound at module level: ``lib.__xa_store`` inside a class body would be mangled.
_XA_STORE: Final = lib.__xa_store

_raw_fence_callbacks = [0]


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_bench_fence_cb(fence: Any, cb: Any) -> None:
    """The raw layer's dma-fence callback (C -> Python, fence lock held): counts."""
    _raw_fence_callbacks[0] += 1


class _NoopCallback:
    """The safe layer's dma-fence callback (a FenceCb): does nothing."""

    def called(self) -> None:
        """Nothing."""


class _FenceOp(_Op):
    name = "dma_fence"
    title = "dma_fence create + add callback + signal"
    calls = ("pfl_dma_fence_alloc; pfl_dma_fence_arm; dma_fence_add_callback; "
             "dma_fence_signal (callback runs: Python in a and b, C in c); dma_fence_put")

    def setup(self) -> None:
        from pyforlinux.dma_buf.dma_fence import FenceCtx

        self.ctx: Any = FenceCtx("bench", "bench")
        self.context = lib.dma_fence_context_alloc(1)
        self.cb = ffi.new("struct dma_fence_cb *")
        self.seqno = 0
        self.null = _NullFenceCtx()

    def safe(self, n: int) -> None:
        from pyforlinux.dma_buf.dma_fence import FenceCbRegistration

        ctx, cb, register = self.ctx, _NoopCallback(), FenceCbRegistration.new
        for _ in range(n):
            f = ctx.new_fence(ctx.new_fence_allocation(None))
            reg = register(f.as_fence(), cb)
            f.signal()
            reg.close()

    def raw(self, n: int) -> None:
        alloc, arm, is_err = lib.pfl_dma_fence_alloc, lib.pfl_dma_fence_arm, lib.IS_ERR
        add, signal, put = lib.dma_fence_add_callback, lib.dma_fence_signal, lib.dma_fence_put
        func, cb, context, gfp = lib.pfl_bench_fence_cb, self.cb, self.context, lib.GFP_KERNEL
        before = _raw_fence_callbacks[0]
        seqno = self.seqno
        for _ in range(n):
            p = alloc(b"bench", b"bench", gfp)
            if is_err(p):
                _check(-12, "pfl_dma_fence_alloc")
            seqno += 1
            fence = arm(p, context, seqno)
            if add(fence, cb, func) == 0:
                signal(fence)
            put(fence)
        self.seqno = seqno
        if _raw_fence_callbacks[0] - before != n:
            _check(-5, "raw dma-fence callbacks")

    def c(self, n: int) -> None:
        _check(lib.pfl_bench_dma_fence(self.context, n), "pfl_bench_dma_fence")

    def floor(self, n: int) -> None:
        ctx, cb, register = self.null, _NoopCallback(), _NullFenceCb.new
        for _ in range(n):
            f = ctx.new_fence(ctx.new_fence_allocation(None))
            reg = register(f.as_fence(), cb)
            f.signal()
            reg.close()

    def close(self) -> None:
        from pyforlinux.sync import rcu

        rcu.rcu_barrier()  # the DriverFences' data and references (call_rcu)
        lib.pfl_slab_quiesce()  # the fences' kfree_rcu


class _MutexOp(_Op):
    name = "mutex"
    title = "Mutex lock + unlock, uncontended"
    calls = "mutex_lock; mutex_unlock (runtime mutex, lock validator on)"

    def setup(self) -> None:
        from pyforlinux.sync.lock.mutex import new_mutex

        self.mutex = new_mutex(None, "bench.mutex")
        self.lock, self._name, self._key = _raw_mutex(b"bench.raw_mutex")
        self.null = _NullMutex(b"bench.null_mutex")

    def safe(self, n: int) -> None:
        m = self.mutex
        for _ in range(n):
            with m.lock():
                pass

    def raw(self, n: int) -> None:
        lock_, unlock, m = lib.pfl_mutex_lock, lib.pfl_mutex_unlock, self.lock
        for _ in range(n):
            lock_(m, 0, 0)
            unlock(m, 0)

    def c(self, n: int) -> None:
        _check(lib.pfl_bench_mutex(self.lock, n), "pfl_bench_mutex")

    def floor(self, n: int) -> None:
        m = self.null
        for _ in range(n):
            with m.lock():
                pass

    def close(self) -> None:
        self.mutex.close()
        lib.mutex_destroy(self.lock)
        lib.mutex_destroy(self.null.ptr)


class _NovaOp(_Op):
    name = "nova_gem"
    title = "Nova GEM_CREATE + GEM_CLOSE (4 KiB), ioctl path"
    calls = ("GEM_CREATE: mutex_lock; gpu_buddy_alloc_blocks; mutex_unlock; clear; kmalloc; "
             "idr_alloc under a spinlock. GEM_CLOSE: idr_remove under it; synchronize_rcu; "
             "mutex_lock; gpu_buddy_free_list; mutex_unlock; kfree")

    def setup(self) -> None:
        from pyforlinux import module
        from pyforlinux.drm.client import Client

        self.loaded: list[str] = []
        for src in ("pyforlinux.drivers.nova_core", "pyforlinux.drivers.nova"):
            self.loaded.append(module.load(src).name)
        self.client = Client("/dev/dri/card0")
        self.create_cmd = int(lib.DRM_IOCTL_NOVA_GEM_CREATE)
        self.close_cmd = int(lib.DRM_IOCTL_GEM_CLOSE)
        # struct drm_nova_gem_create {u32 handle; u32 pad; u64 size}
        self.create_arg = struct.pack("=IIQ", 0, 0, _GEM_SIZE)
        # The raw and C layers' own allocator, VRAM, handle table.
        self.mm = ffi.new("struct gpu_buddy *")
        _check(lib.gpu_buddy_init(self.mm, _BUDDY_SIZE, _CHUNK), "gpu_buddy_init")
        self.mm_lock, self._name, self._key = _raw_mutex(b"bench.vram")
        self.vram = lib.pfl_vmalloc(_BUDDY_SIZE, lib.GFP_KERNEL, 0)
        if self.vram == ffi.NULL:
            _check(-12, "pfl_vmalloc")
        self.table_lock = ffi.new("spinlock_t *")
        self._tl_name = ffi.new("char[]", b"bench.table_lock")
        self._tl_key = ffi.new("struct lock_class_key *")
        lib.pfl_spin_lock_init(self.table_lock, self._tl_name, self._tl_key)
        self.table = ffi.new("struct idr *")
        lib.idr_init(self.table)
        self.blocks = ffi.new("struct list_head *")
        lib.INIT_LIST_HEAD(self.blocks)
        self.zeros = bytes(_GEM_SIZE)

    def safe(self, n: int) -> None:
        ioctl, create, close = self.client.ioctl, self.create_cmd, self.close_cmd
        arg, unpack, pack = self.create_arg, struct.unpack_from, struct.pack
        for _ in range(n):
            _, out = ioctl(create, arg)
            ioctl(close, pack("=II", unpack("=I", out)[0], 0))

    def raw(self, n: int) -> None:
        mm, mm_lock, blocks, table, tl = self.mm, self.mm_lock, self.blocks, self.table, \
            self.table_lock
        vram, zeros = ffi.cast("char *", self.vram), self.zeros
        m_lock, m_unlock = lib.pfl_mutex_lock, lib.pfl_mutex_unlock
        s_lock, s_unlock = lib.pfl_spin_lock, lib.pfl_spin_unlock
        alloc, free = lib.gpu_buddy_alloc_blocks, lib.gpu_buddy_free_list
        b_off, b_size = lib.gpu_buddy_block_offset, lib.gpu_buddy_block_size
        kmalloc, kfree, gfp, nowait = lib.pfl_kmalloc, lib.pfl_kfree, lib.GFP_KERNEL, \
            lib.GFP_NOWAIT
        rc_set, rc_inc, rc_dec = lib.refcount_set, lib.refcount_inc, lib.refcount_dec_and_test
        preload, preload_end, idr_alloc, idr_remove = lib.idr_preload, lib.idr_preload_end, \
            lib.idr_alloc, lib.idr_remove
        sync_rcu, memmove, cast = lib.synchronize_rcu, ffi.memmove, ffi.cast
        block_p, refs_p = ffi.typeof("struct gpu_buddy_block *"), ffi.typeof("refcount_t *")
        char_p, link_off = ffi.typeof("char *"), ffi.offsetof("struct gpu_buddy_block", "link")
        refs_size = ffi.sizeof("refcount_t")
        for _ in range(n):
            # GEM_CREATE
            m_lock(mm_lock, 0, 0)
            ret = alloc(mm, 0, 0, _GEM_SIZE, _CHUNK, blocks, 0)
            m_unlock(mm_lock, 0)
            if ret:
                _check(ret, "gpu_buddy_alloc_blocks")
            node = blocks.next
            while node != blocks:
                block = cast(block_p, cast(char_p, node) - link_off)  # container_of
                memmove(vram + b_off(block), zeros, b_size(mm, block))
                node = node.next
            refs = cast(refs_p, kmalloc(refs_size, gfp, 0))
            rc_set(refs, 1)
            rc_inc(refs)
            preload(gfp)
            s_lock(tl, 0, 0)
            handle = idr_alloc(table, refs, 1, 0, nowait)
            s_unlock(tl, 0)
            preload_end()
            rc_dec(refs)
            # GEM_CLOSE
            s_lock(tl, 0, 0)
            idr_remove(table, handle)
            s_unlock(tl, 0)
            if rc_dec(refs):
                sync_rcu()
                kfree(refs, 0)
            m_lock(mm_lock, 0, 0)
            free(mm, blocks, 0)
            m_unlock(mm_lock, 0)

    def c(self, n: int) -> None:
        _check(lib.pfl_bench_gem(self.mm, self.mm_lock, self.vram, self.table_lock, self.table,
                                 _GEM_SIZE, 1, n), "pfl_bench_gem")

    def close(self) -> None:
        from pyforlinux import module

        try:
            self.client.close()
        finally:
            for name in reversed(self.loaded):
                module.unload(name)
            lib.idr_destroy(self.table)
            lib.gpu_buddy_fini(self.mm)
            lib.mutex_destroy(self.mm_lock)
            lib.pfl_kfree(self.vram, 0)


OPS: Final[dict[str, type[_Op]]] = {
    op.name: op
    for op in (_ListOp, _ListBatchedOp, _BuddyOp, _XArrayOp, _FenceOp, _MutexOp, _NovaOp)
}
"""The operations by name, in table order."""


# ---------------------------------------------------------------- timing


CLOCKS: Final = {"wall": time.perf_counter_ns, "cpu": time.process_time_ns}
"""The clocks runs can be timed with: elapsed time (the default), or the
CPU time of the process (all its threads: steadier on a loaded machine,
but blind to waiting, e.g. for an RCU grace period)."""

_clock: Callable[[], int] = time.perf_counter_ns


def _time(fn: Callable[[int], None], n: int) -> int:
    t0 = _clock()
    fn(n)
    return _clock() - t0


def _calibrate(fn: Callable[[int], None], min_ns: int) -> int:
    """Iterations for one run of at least ``min_ns`` (the runs are the warm-up)."""
    n = 1
    while True:
        t = _time(fn, n)
        if t >= min_ns or n >= 1 << 30:
            return n
        n = min(1 << 30, max(2 * n, int(n * 1.2 * min_ns / max(t, 1))))


def _measure(op: _Op, reps: int, min_ns: int, quick: bool) -> OpResult:
    op.setup()
    try:
        fns: dict[str, Callable[[int], None]] = {"safe": op.safe, "raw": op.raw, "c": op.c}
        if op.floor is not None:
            fns[FLOOR] = op.floor
        gc.collect()
        gc.disable()
        try:
            if quick:
                iters = {k: 2 for k in fns}
                for fn in fns.values():
                    fn(1)  # warm-up
            else:
                iters = {k: _calibrate(fn, min_ns) for k, fn in fns.items()}
            samples: dict[str, list[float]] = {k: [] for k in fns}
            for _ in range(reps):  # the layers in turn, so that noise hits all of them
                for k, fn in fns.items():
                    samples[k].append(_time(fn, iters[k]) / (iters[k] * op.per))
        finally:
            gc.enable()
    finally:
        op.close()
    layers = {
        k: LayerResult(statistics.median(samples[k]), samples[k], iters[k] * op.per)
        for k in fns
    }
    a, b, c = (layers[k].ns_per_op for k in LAYERS)
    ratios = {"a/b": a / b if b else float("inf"), "a/c": a / c if c else float("inf")}
    if FLOOR in layers:
        d = layers[FLOOR].ns_per_op
        ratios["d/b"] = d / b if b else float("inf")
        ratios["a/d"] = a / d if d else float("inf")
    return OpResult(op.name, op.title, op.unit, op.calls, layers, ratios)


RATIO_TARGET: Final = 3.0
"""Issue 17: the safe layer within this factor of the raw bindings (a/b)
for the per-call operations; :data:`RATIO_STRETCH` is the stretch goal."""
RATIO_STRETCH: Final = 2.0
MUTEX_TARGET_NS: Final = 1500.0
"""Issue 17: one safe lock + unlock, lock validator on, at most 1.5 µs."""
NOVA_TARGET_PER_S: Final = 20_000
"""Issue 17: Nova GEM_CREATE + GEM_CLOSE pairs per second, in process."""
CLIST_TARGET_PER_S: Final = 10_000_000
"""CList batched iteration, elements per second through the safe API."""


def _targets(ops: dict[str, OpResult]) -> list[Target]:
    out = []
    for name in ("gpu_buddy", "xarray", "dma_fence", "mutex"):
        if name in ops:
            r = ops[name].ratios["a/b"]
            out.append(Target(f"{name} a/b", f"<= {RATIO_TARGET:g} (stretch {RATIO_STRETCH:g})",
                              r, r <= RATIO_TARGET, "", ops[name].ratios.get("d/b")))
    if "mutex" in ops:
        ns = ops["mutex"].layers["safe"].ns_per_op
        fl = ops["mutex"].layers.get(FLOOR)
        out.append(Target("mutex lock+unlock", f"<= {MUTEX_TARGET_NS:,.0f} ns", ns,
                          ns <= MUTEX_TARGET_NS, "ns", None if fl is None else fl.ns_per_op))
    if "clist_iter_batched" in ops:
        rate = ops["clist_iter_batched"].rate()
        out.append(Target("clist_iter_batched safe", ">= 10 M elements/s", rate,
                          rate >= CLIST_TARGET_PER_S, "/s"))
    if "nova_gem" in ops:
        rate = ops["nova_gem"].rate()
        out.append(Target("nova_gem safe", f">= {NOVA_TARGET_PER_S:,} pairs/s", rate,
                          rate >= NOVA_TARGET_PER_S, "/s"))
    return out


# ---------------------------------------------------------------- environment


def _compiler() -> str:
    cc = os.environ.get("CC", "gcc")
    path = shutil.which(cc)
    if path is None:
        return cc
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.splitlines()[0] if out.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def _cflags() -> str:
    try:
        flags = (build_dir() / "cflags").read_text().split()
    except OSError:
        return "?"
    return " ".join(f for f in flags if re.match(r"-O|-fsanitize|-g$", f))


def _cpu() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs"


def _meta(reps: int, min_ns: int, quick: bool, list_length: int, clock: str) -> dict[str, Any]:
    return {
        "clock": clock,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cffi": importlib.metadata.version("cffi"),
        "compiler": _compiler(),
        "cflags": _cflags(),
        "cpu": _cpu(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "loadavg_start": list(os.getloadavg()),
        "build_dir": str(build_dir()),
        "lockdep": bool(lib.pfl_lockdep_enabled()),
        "reps": reps,
        "min_time_ms": min_ns / 1e6,
        "quick": quick,
        "list_length": list_length,
        "statistic": "median",
    }


# ---------------------------------------------------------------- the run


def run(
    ops: Sequence[str] | None = None,
    *,
    quick: bool = False,
    reps: int = 7,
    min_time_ms: float = 50.0,
    clock: str = "wall",
    progress: TextIO | None = None,
) -> Report:
    """Run the benchmarks; returns the :class:`Report`.

    Args:
        ops: names from :data:`OPS` (default: all, in table order).
        quick: tiny iteration counts (2 ops per run, a 1000-node list), for
            tests: the output is well formed, the numbers mean little.
        reps: timed runs per layer (the median is reported).
        min_time_ms: each run lasts at least this long (ms; not in quick mode).
        clock: ``"wall"`` or ``"cpu"`` (:data:`CLOCKS`).
        progress: where to write one line per operation as it starts.

    Raises:
        Error: ``EINVAL`` for an unknown operation or ``reps < 1``; what a
            layer's C calls return if they fail.
    """
    from pyforlinux.error import Error, code

    names = list(OPS) if not ops else list(ops)
    for name in names:
        if name not in OPS:
            raise Error(code.EINVAL, f"unknown operation {name!r} (have: {', '.join(OPS)})")
    if reps < 1:
        raise Error(code.EINVAL, f"reps must be >= 1, not {reps}")
    if clock not in CLOCKS:
        raise Error(code.EINVAL, f"unknown clock {clock!r} (have: {', '.join(CLOCKS)})")
    global _clock
    _clock = CLOCKS[clock]
    min_ns = int(min_time_ms * 1e6)
    meta = _meta(reps, min_ns, quick, _QUICK_LIST_LENGTH if quick else LIST_LENGTH, clock)
    results: dict[str, OpResult] = {}
    for name in names:
        if progress is not None:
            progress.write(f"pyforlinux bench: {name} ...\n")
            progress.flush()
        results[name] = _measure(OPS[name](quick), reps, min_ns, quick)
    if not ops:
        if progress is not None:
            progress.write("pyforlinux bench: NOVA_GETPARAM from a C process ...\n")
            progress.flush()
        meta["bridge_getparam"] = bridge_getparam(10 if quick else BRIDGE_IOCTLS)
    meta["loadavg_end"] = list(os.getloadavg())
    return Report(meta, list(results.values()), _targets(results))


BRIDGE_IOCTLS: Final = 10_000
"""NOVA_GETPARAM ioctls in the bridge measurement (10 in quick mode)."""
BRIDGE_TARGET_NS: Final = 100_000
"""The bridge's per-ioctl target: 100 µs."""


def bridge_getparam(n: int) -> dict[str, Any]:
    """ns per ``NOVA_GETPARAM``: ``in_process`` (a :class:`Client`'s ioctl
    path) and ``bridge`` (a C process's ``ioctl()`` through the device-node
    bridge, ``n`` in a loop); ``skipped`` says why when the C client or
    umockdev is missing. Loads and unloads the Nova modules."""
    import tempfile

    from pyforlinux import module, run
    from pyforlinux.devnode import Bridge
    from pyforlinux.drm.client import Client, pack_struct
    from pyforlinux.error import Error

    tool = run.client_tool()
    if tool is None:
        return {"skipped": "tools/nova-drm-client not built (make tools)"}
    loaded = []
    try:
        for src in ("pyforlinux.drivers.nova_core", "pyforlinux.drivers.nova"):
            loaded.append(module.load(src).name)
        cmd = int(lib.DRM_IOCTL_NOVA_GETPARAM) & 0xFFFFFFFF
        arg = pack_struct("struct drm_nova_getparam", param=lib.NOVA_GETPARAM_VRAM_BAR_SIZE)
        with Client("/dev/dri/renderD128") as c:
            t0 = time.perf_counter_ns()
            for _ in range(n):
                c.ioctl(cmd, arg)
            in_process = (time.perf_counter_ns() - t0) / n
        try:
            with tempfile.TemporaryDirectory(prefix="pfl-bench-") as tmp, \
                    Bridge(os.path.join(tmp, "testbed")) as bridge:
                p = subprocess.run([tool, "bench", str(n)], capture_output=True, text=True,
                                   env=dict(os.environ, **bridge.environment()), timeout=600,
                                   check=False)
        except Error as e:
            return {"skipped": f"bridge: {e.strerror}", "in_process": in_process}
        m = re.search(r"ns/ioctl (\d+)", p.stdout)
        if p.returncode or m is None:
            return {"skipped": f"client failed: {p.stdout.strip()} {p.stderr.strip()}",
                    "in_process": in_process}
        return {"ioctls": n, "in_process": in_process, "bridge": float(m[1]),
                "fuse": bridge.fuse}
    finally:
        for name in reversed(loaded):
            module.unload(name)


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.1f}" if ns < 100 else f"{ns:,.0f}"


def render(report: Report) -> str:
    """The report as a text table (what ``pyforlinux bench`` prints)."""
    m = report.meta
    lines = [
        f"pyforlinux bench: ns per op (per element for clist_*), median of {m['reps']} runs "
        f"after warm-up, {m['clock']} clock"
        f"{' [quick mode: numbers mean little]' if m['quick'] else ''}",
        f"python {m['python']}, cffi {m['cffi']}, {m['compiler']} ({m['cflags']}), "
        f"CPU {m['cpu']}, {m['os']}",
        f"load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end; "
        f"lock validator {'on' if m['lockdep'] else 'off'}; build {m['build_dir']}",
        "",
    ]
    head = ["operation", *(LAYER_TITLES[k] for k in (*LAYERS, FLOOR)), "a/b", "a/c", "d/b"]
    rows = [head]
    for op in report.ops:
        fl = op.layers.get(FLOOR)
        rows.append([
            op.name,
            *(_fmt_ns(op.layers[k].ns_per_op) for k in LAYERS),
            "-" if fl is None else _fmt_ns(fl.ns_per_op),
            f"{op.ratios['a/b']:.2f}",
            f"{op.ratios['a/c']:.2f}",
            f"{op.ratios['d/b']:.2f}" if "d/b" in op.ratios else "-",
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                         strict=True)]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    b = m.get("bridge_getparam")
    if b is not None:
        lines.append("")
        if "bridge" in b:
            lines.append(
                f"NOVA_GETPARAM from a real C process through the device-node bridge "
                f"({b['ioctls']:,} in a loop, {'FUSE' if b['fuse'] else 'socket'}): "
                f"{b['bridge'] / 1000:.1f} µs/ioctl; in-process Client: "
                f"{b['in_process'] / 1000:.1f} µs/ioctl "
                f"(target <= {BRIDGE_TARGET_NS // 1000} µs: "
                f"{'met' if b['bridge'] <= BRIDGE_TARGET_NS else 'MISSED'})")
        else:
            lines.append(f"NOVA_GETPARAM through the bridge: skipped ({b['skipped']})")
    lines.append("")
    lines.append("targets:")
    for t in report.targets:
        floor = "" if t.floor is None else f"  (no-check API: {t.display(t.floor)})"
        lines.append(f"  {t.name:<28} {t.goal:<22} {t.display():>16}  "
                     f"{'met' if t.met else 'MISSED'}{floor}")
    return "\n".join(lines) + "\n"


def main(
    ops: Sequence[str] | None = None,
    *,
    json_out: bool = False,
    quick: bool = False,
    reps: int = 7,
    min_time_ms: float = 50.0,
    clock: str = "wall",
    out: TextIO = sys.stdout,
) -> int:
    """``pyforlinux bench``: run, print the table (or ``--json``); returns 0."""
    report = run(ops, quick=quick, reps=reps, min_time_ms=min_time_ms, clock=clock,
                 progress=sys.stderr)
    if json_out:
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        out.write(render(report))
    return 0
