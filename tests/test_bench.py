"""``pyforlinux bench``: it runs and its output is well formed.

No timing assertions: the machines tests run on are noisy. Quick mode
(tiny iteration counts) keeps this fast; the numbers are not looked at.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from pyforlinux import bench
from pyforlinux._bindings import build_dir

OPS = ["clist_iter", "clist_iter_batched", "gpu_buddy", "xarray", "dma_fence", "mutex",
       "nova_gem"]
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


def run_bench(*args: str) -> str:
    env = dict(os.environ, PYFORLINUX_BUILD_DIR=str(build_dir()))
    out = subprocess.run(
        [sys.executable, "-m", "pyforlinux", "bench", "--quick", *args],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ops_are_the_six_of_the_issue() -> None:
    assert list(bench.OPS) == OPS
    assert bench.LAYERS == ("safe", "raw", "c")


#: The operations with an a/b target have the no-check API layer (d).
FLOORED = ["gpu_buddy", "xarray", "dma_fence", "mutex"]


def test_table_has_every_op_three_layers_and_numeric_ratios() -> None:
    text = run_bench()
    assert "python " in text and "cffi " in text and "CPU " in text
    rows = {}
    cell = rf"({NUMBER}|-)"
    for line in text.splitlines():
        m = re.fullmatch(rf"(\w+)\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+{cell}\s+"
                         rf"({NUMBER})\s+({NUMBER})\s+{cell}", line.strip())
        if m:
            rows[m.group(1)] = [None if g == "-" else float(g.replace(",", ""))
                                for g in m.groups()[1:]]
    assert list(rows) == OPS
    for name, (a, b, c, d, ab, ac, db) in rows.items():
        assert a and b and c and a > 0 and b > 0 and c > 0, name
        assert ab is not None and math.isclose(ab, a / b, rel_tol=0.1, abs_tol=0.02), name
        assert ac is not None and math.isclose(ac, a / c, rel_tol=0.1, abs_tol=0.02), name
        if name in FLOORED:
            assert d is not None and db is not None and d > 0, name
            assert math.isclose(db, d / b, rel_tol=0.1, abs_tol=0.02), name
        else:
            assert d is None and db is None, name
    assert "targets:" in text
    assert sum(1 for line in text.splitlines()
               if re.search(r"(met|MISSED)(  \(no-check API: [0-9.,]+( ns)?\))?$", line)) == 7
    assert sum(1 for line in text.splitlines() if "(no-check API: " in line) == 5
    # A real C process's NOVA_GETPARAM through the device-node bridge, beside in-process.
    m = re.search(r"NOVA_GETPARAM from a real C process .*\(10 in a loop, FUSE\): "
                  rf"({NUMBER}) µs/ioctl; in-process Client: ({NUMBER}) µs/ioctl", text)
    assert m and float(m[1].replace(",", "")) > 0 and float(m[2].replace(",", "")) > 0, text


def test_json_parses_with_the_expected_keys() -> None:
    data: dict[str, Any] = json.loads(run_bench("--json"))
    assert set(data) == {"meta", "ops", "targets"}
    for key in ("python", "cffi", "compiler", "cpu", "reps", "statistic", "quick"):
        assert key in data["meta"], key
    assert data["meta"]["quick"] is True
    assert [op["name"] for op in data["ops"]] == OPS
    for op in data["ops"]:
        floored = op["name"] in FLOORED
        assert set(op["layers"]) == {"safe", "raw", "c"} | ({"floor"} if floored else set())
        for layer in op["layers"].values():
            assert isinstance(layer["ns_per_op"], float) and layer["ns_per_op"] > 0
            assert len(layer["samples"]) == data["meta"]["reps"]
            assert layer["iterations"] > 0
        assert set(op["ratios"]) == {"a/b", "a/c"} | ({"d/b", "a/d"} if floored else set())
        assert all(isinstance(v, float) and v > 0 for v in op["ratios"].values())
        assert op["unit"] in ("op", "element") and op["calls"] and op["title"]
    assert {t["name"] for t in data["targets"]} == {
        "gpu_buddy a/b", "xarray a/b", "dma_fence a/b", "mutex a/b", "mutex lock+unlock",
        "clist_iter_batched safe", "nova_gem safe",
    }
    assert all(isinstance(t["met"], bool) for t in data["targets"])
    report = bench.Report.from_json(data)
    assert [t.unit for t in report.targets] == [t["unit"] for t in data["targets"]]
    assert [t.floor for t in report.targets] == [t["floor"] for t in data["targets"]]
    assert sum(t["floor"] is not None for t in data["targets"]) == 5  # the a/b ones, mutex ns


def _op(name: str, safe_ns: float, raw_ns: float, floor_ns: float | None = None
        ) -> bench.OpResult:
    layers = {k: bench.LayerResult(ns, [ns], 1) for k, ns in
              (("safe", safe_ns), ("raw", raw_ns), ("c", 1.0))}
    ratios = {"a/b": safe_ns / raw_ns, "a/c": safe_ns}
    if floor_ns is not None:
        layers[bench.FLOOR] = bench.LayerResult(floor_ns, [floor_ns], 1)
        ratios["d/b"] = floor_ns / raw_ns
    return bench.OpResult(name, name, "op", "", layers, ratios)


def test_the_issue_17_targets() -> None:
    ops = {op.name: op for op in (
        _op("gpu_buddy", 2900, 1000), _op("dma_fence", 3100, 1000),
        _op("mutex", 1400, 300), _op("nova_gem", 50_000, 8000),
        _op("clist_iter_batched", 99, 40))}
    got = {t.name: (t.met, t.display()) for t in bench._targets(ops)}
    assert got == {
        "gpu_buddy a/b": (True, "2.90"),
        "dma_fence a/b": (False, "3.10"),
        "mutex a/b": (False, "4.67"),
        "mutex lock+unlock": (True, "1,400 ns"),
        "nova_gem safe": (True, "20,000/s"),
        "clist_iter_batched safe": (True, "10,101,010/s"),
    }
    ops["mutex"] = _op("mutex", 1600, 800)
    ops["nova_gem"] = _op("nova_gem", 50_001, 8000)
    got = {t.name: t.met for t in bench._targets(ops)}
    assert got["mutex a/b"] and not got["mutex lock+unlock"] and not got["nova_gem safe"]
    # The no-check layer's figure rides along with the target it bounds.
    ops["mutex"] = _op("mutex", 1600, 800, 1200)
    floors = {t.name: (t.floor, t.display(t.floor) if t.floor else None)
              for t in bench._targets(ops)}
    assert floors["mutex a/b"] == (1.5, "1.50")
    assert floors["mutex lock+unlock"] == (1200, "1,200 ns")
    assert floors["gpu_buddy a/b"] == (None, None)


def test_one_op_in_process_leaves_the_kernel_clean() -> None:
    # The kernel_clean fixture fails this test on a leaked object or a WARN.
    report = bench.run(["xarray", "gpu_buddy", "mutex"], quick=True, reps=2)
    assert [op.name for op in report.ops] == ["xarray", "gpu_buddy", "mutex"]
    assert "xarray" in bench.render(report)


def test_unknown_op_and_bad_reps_are_refused() -> None:
    from pyforlinux.error import Error, code

    with pytest.raises(Error) as info:
        bench.run(["nope"], quick=True)
    assert info.value.errno == code.EINVAL
    with pytest.raises(Error) as info:
        bench.run(["mutex"], quick=True, reps=0)
    assert info.value.errno == code.EINVAL
