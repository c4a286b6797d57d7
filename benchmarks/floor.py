#!/usr/bin/env python3
"""The API-shape floor: what a Python layer with the safe API's *shape* and no checks costs.

Usage: floor.py [--reps N] [--n OPS] [--clock wall|cpu]   (PYFORLINUX_BUILD_DIR as for the rest)

For the per-call operations, a "null" safe layer keeps the calling shape
of the real one (``with m.lock():`` returning a guard object,
``with xa.lock() as g: g.store(...); g.get(...)``) but makes only the raw
C calls: no ownership, no thread or lockdep checks, no registries. Its
ns/op over the raw layer's is the ratio a Python safe layer cannot go
below with that API, whatever its checks cost; docs/performance.md cites
it as what bounds the a/b targets.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from pyforlinux._bindings import ffi, lib

_XA_STORE = lib.__xa_store  # (module level: a class body would mangle the name)


class NullGuard:
    """A guard with a ``with`` shape and nothing else."""

    __slots__ = ("_m",)

    def __init__(self, m: Any) -> None:
        self._m = m

    def __enter__(self) -> NullGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        lib.pfl_mutex_unlock(self._m, 0)


class NullMutex:
    """``lock()`` takes the C mutex and returns a :class:`NullGuard`."""

    def __init__(self) -> None:
        self._key = ffi.new("struct lock_class_key *")
        self._name = ffi.new("char[]", b"floor.mutex")
        self.ptr = ffi.new("struct mutex *")
        lib.pfl_mutex_init(self.ptr, self._name, self._key)

    def lock(self) -> NullGuard:
        lib.pfl_mutex_lock(self.ptr, 0, 0)
        return NullGuard(self.ptr)


class NullXaGuard:
    """``store``/``get`` as methods over the raw calls, under ``xa_lock``."""

    __slots__ = ("_xa",)

    def __init__(self, xa: Any) -> None:
        self._xa = xa

    def __enter__(self) -> NullXaGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        lib.xa_unlock(self._xa)

    def store(self, index: int, value: Any) -> Any:
        old = _XA_STORE(self._xa, index, value, lib.GFP_KERNEL)
        if lib.xa_is_err(old):
            raise MemoryError
        return old

    def get(self, index: int) -> Any:
        return lib.xa_load(self._xa, index)


class NullXArray:
    """``lock()`` takes ``xa_lock`` and returns a :class:`NullXaGuard`."""

    def __init__(self) -> None:
        self.ptr = ffi.new("struct xarray *")
        lib.xa_init_flags(self.ptr, lib.XA_FLAGS_ALLOC)

    def lock(self) -> NullXaGuard:
        lib.xa_lock(self.ptr)
        return NullXaGuard(self.ptr)


def measure(fn: Callable[[int], None], n: int, reps: int, clock: Callable[[], int]) -> float:
    """Median ns/op of ``reps`` runs of ``fn(n)`` after one warm-up run."""
    fn(n)
    out = []
    for _ in range(reps):
        t0 = clock()
        fn(n)
        out.append((clock() - t0) / n)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    """Print the floor of the mutex and xarray shapes against their raw layer."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = p.parse_args(argv)
    clock = time.perf_counter_ns if args.clock == "wall" else time.process_time_ns

    m = NullMutex()
    xa = NullXArray()
    a = lib.pfl_kmalloc(16, lib.GFP_KERNEL, 0)
    b = lib.pfl_kmalloc(16, lib.GFP_KERNEL, 0)

    def mutex_raw(n: int) -> None:
        lock, unlock, ptr = lib.pfl_mutex_lock, lib.pfl_mutex_unlock, m.ptr
        for _ in range(n):
            lock(ptr, 0, 0)
            unlock(ptr, 0)

    def mutex_null(n: int) -> None:
        for _ in range(n):
            with m.lock():
                pass

    def xa_raw(n: int) -> None:
        ptr, gfp = xa.ptr, lib.GFP_KERNEL
        for i in range(n):
            lib.xa_lock(ptr)
            old = _XA_STORE(ptr, 0, b if i & 1 else a, gfp)
            if lib.xa_is_err(old):
                raise MemoryError
            lib.xa_load(ptr, 0)
            lib.xa_unlock(ptr)

    def xa_null(n: int) -> None:
        for i in range(n):
            with xa.lock() as g:
                g.store(0, b if i & 1 else a)
                g.get(0)

    gc.disable()
    try:
        rows = [
            ("mutex", measure(mutex_raw, args.n, args.reps, clock),
             measure(mutex_null, args.n, args.reps, clock)),
            ("xarray", measure(xa_raw, args.n, args.reps, clock),
             measure(xa_null, args.n, args.reps, clock)),
        ]
    finally:
        gc.enable()
        lib.xa_erase(xa.ptr, 0)
        lib.xa_destroy(xa.ptr)
        lib.pfl_kfree(a, 0)
        lib.pfl_kfree(b, 0)
        lib.mutex_destroy(m.ptr)
    print(f"API-shape floor ({args.clock} clock, median of {args.reps} runs of {args.n} ops)")
    print(f"{'operation':<10} {'raw ns/op':>10} {'null-safe ns/op':>16} {'floor a/b':>10}")
    for name, raw, null in rows:
        print(f"{name:<10} {raw:>10.0f} {null:>16.0f} {null / raw:>10.2f}")
    print()
    print("Python-level calls per op (cProfile: functions and C builtins called)")
    for name, safe, raw in calls_per_op(200):
        print(f"{name:<20} safe {safe:>6.0f}   raw {raw:>5.0f}")
    for name in ("gpu_buddy", "dma_fence", "nova_gem"):
        print()
        print(f"{name}: where the safe op's time goes (cProfile, own time per module)")
        for module, calls, share in by_module(name, 500)[:10]:
            print(f"  {module:<40} {calls:>6.0f} calls/op {100 * share:>5.1f} %")
    return 0


def by_module(name: str, n: int) -> list[tuple[str, float, float]]:
    """(module, calls per op, share of the profiled time) of ``n`` safe ops of
    pyforlinux bench's operation ``name``, largest share first; C functions
    and builtins (the kernel C included) are ``"C and builtins"``."""
    import collections
    import cProfile
    import pstats

    from pyforlinux import bench

    op = bench.OPS[name](False)
    op.setup()
    try:
        op.safe(10)  # warm-up
        prof = cProfile.Profile()
        prof.enable()
        op.safe(n)
        prof.disable()
    finally:
        op.close()
    calls: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    stats: Any = pstats.Stats(prof)
    for (path, _line, _fn), (_cc, nc, tt, _ct, _callers) in stats.stats.items():
        if path == "~":
            module = "C and builtins"
        elif "/pyforlinux/" in path:
            module = "pyforlinux/" + path.rsplit("/pyforlinux/", 1)[1]
        else:
            module = path.rsplit("/", 1)[-1]
        calls[module] += nc
        own[module] += tt
    total = sum(own.values()) or 1.0
    return sorted(((m, calls[m] / n, own[m] / total) for m in own), key=lambda r: -r[2])


def calls_per_op(n: int) -> list[tuple[str, float, float]]:
    """(operation, calls per safe op, calls per raw op) of pyforlinux bench's operations."""
    import cProfile
    import pstats

    from pyforlinux import bench

    out = []
    for name in ("gpu_buddy", "xarray", "dma_fence", "mutex", "nova_gem"):
        op = bench.OPS[name](False)
        op.setup()
        try:
            counts = []
            for fn in (op.safe, op.raw):
                fn(10)  # warm-up
                prof = cProfile.Profile()
                prof.enable()
                fn(n)
                prof.disable()
                stats = pstats.Stats(prof)
                counts.append((stats.total_calls - 1) / n)  # (- the call of fn)
        finally:
            op.close()
        out.append((name, counts[0], counts[1]))
    return out


if __name__ == "__main__":
    sys.exit(main())
