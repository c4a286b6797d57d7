#!/usr/bin/env python3
"""Instructions per op of pyforlinux bench's operations under callgrind: a load-independent cost.

Usage: icount.py [--layers safe,raw] [--ops OP,...] [--n 200,1200]
       (PYFORLINUX_BUILD_DIR as for the rest; needs valgrind: ``apt-get install valgrind``)

For each operation and layer, runs a child Python under ``valgrind
--tool=callgrind`` twice, making ``n1`` and then ``n2`` ops after the same
setup, and prints ``(I(n2) - I(n1)) / (n2 - n1)``: the instructions one op
executes, setup and interpreter start-up cancelled out. Unlike ns/op it
does not move with the load of a shared machine (it does not see cache
misses or the other thread's GIL hand-offs either), so two trees can be
compared on it one after the other. ``docs/performance.md`` quotes it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

_CHILD = """
import gc, sys
from pyforlinux import bench
op = bench.OPS[sys.argv[1]](False)
op.setup()
fn = getattr(op, sys.argv[2])
fn(10)
gc.disable()
fn(int(sys.argv[3]))
gc.enable()
op.close()
"""


def instructions(op: str, layer: str, n: int) -> int:
    """Instructions callgrind counts for a child making ``n`` ops (plus setup)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", _CHILD, op, layer, str(n)],
        capture_output=True, text=True, check=True, env=dict(os.environ),
    )
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise RuntimeError(f"no callgrind total for {op}/{layer}:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    """Print instructions per op for each operation and layer asked for."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", default="safe,raw")
    p.add_argument("--ops", default="gpu_buddy,xarray,dma_fence,mutex,nova_gem")
    p.add_argument("--n", default="200,1200", help="the two op counts, n1,n2")
    args = p.parse_args(argv)
    n1, n2 = (int(x) for x in args.n.split(","))
    layers = args.layers.split(",")
    print(f"{'operation':<12}" + "".join(f"{layer + ' instr/op':>18}" for layer in layers))
    for op in args.ops.split(","):
        cells = []
        for layer in layers:
            per = (instructions(op, layer, n2) - instructions(op, layer, n1)) / (n2 - n1)
            cells.append(f"{per:>18,.0f}")
        print(f"{op:<12}" + "".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
