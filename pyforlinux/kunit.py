"""Run the kernel's own test suites, built unmodified into the extension.

The suites are registered by the KUnit shim (csrc/kunit): the KUnit suites
of lib/list-test.c and drivers/gpu/tests/gpu_buddy_test.c, and, as KTAP
suites of their own, the dma-buf selftests of drivers/dma-buf/st-dma-*.c
(``dma-fence``, ``dma-fence-chain``, ``dma-resv``, ``dma-fence-unwrap``),
the table of tools/testing/scatterlist/main.c (``scatterlist``) and
lib/test_xarray.c (``xarray``). Output is KTAP, as ``tools/testing/kunit/kunit.py``
prints it.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code


@dataclass(frozen=True)
class SuiteResult:
    """Counts of one suite's cases."""

    name: str
    passed: int
    failed: int
    skipped: int


def suite_names() -> list[str]:
    """Names of every registered suite, in registration order."""
    return [
        ffi.string(lib.pfl_kunit_suite_name(i)).decode()
        for i in range(lib.pfl_kunit_nr_suites())
    ]


def select(patterns: list[str]) -> list[str]:
    """Suites matching the glob patterns (all of them for no pattern).

    Raises:
        Error: ``ENOENT`` if a pattern matches no suite.
    """
    names = suite_names()
    if not patterns:
        return names
    chosen: list[str] = []
    for pat in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            have = ", ".join(names)
            raise Error(code.ENOENT, f"no kernel test suite named {pat!r} (have: {have})")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def run(patterns: list[str] | None = None, out_fd: int | None = None) -> list[SuiteResult]:
    """Run the selected suites, printing KTAP to ``out_fd`` (default stdout).

    Ends with the line ``N passed, N failed`` (cases, over all suites).

    Raises:
        Error: ``ENOENT`` for a pattern that matches no suite.
    """
    chosen = select(patterns or [])
    fd = sys.stdout.fileno() if out_fd is None else out_fd
    sys.stdout.flush()
    lib.pfl_kunit_set_output(fd)
    os.write(fd, f"KTAP version 1\n1..{len(chosen)}\n".encode())
    index = {n: i for i, n in enumerate(suite_names())}
    results = []
    p, f, s = ffi.new("int *"), ffi.new("int *"), ffi.new("int *")
    for no, name in enumerate(chosen, 1):
        lib.pfl_kunit_run_suite(index[name], no, p, f, s)
        results.append(SuiteResult(name, p[0], f[0], s[0]))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    tail = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    os.write(fd, f"{tail}\n".encode())
    return results
