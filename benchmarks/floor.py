#!/usr/bin/env python3
"""Where the safe layer's cost over its no-check API goes: calls per op, time per module.

Usage: floor.py [--n OPS]   (PYFORLINUX_BUILD_DIR as for the rest)

``pyforlinux bench`` measures the floor itself: its (d) layer, the safe
API's calling shape over the raw calls with no checks and no owners
(``bench.FLOOR``). This script profiles the safe layer (cProfile) to show
what the rest, a/d, is made of: Python-level calls per op, and own time
per module.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Print the calls per op of each operation and where the time goes."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="ops profiled per operation")
    args = p.parse_args(argv)
    print("Python-level calls per op (cProfile: functions and C builtins called)")
    for name, safe, raw in calls_per_op(200):
        print(f"{name:<20} safe {safe:>6.0f}   raw {raw:>5.0f}")
    for name in ("gpu_buddy", "xarray", "dma_fence", "mutex", "nova_gem"):
        print()
        print(f"{name}: where the safe op's time goes (cProfile, own time per module)")
        for module, calls, share in by_module(name, args.n)[:10]:
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
