"""The kernel's own suites, through the KUnit shim, as part of pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from pyforlinux import kunit
from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error

# Case counts of the kernel's suites (Linux 6.12.117), and where they come from.
EXPECTED = {
    "list-kunit-test": 39,  # lib/list-test.c
    "hlist": 18,  # lib/list-test.c
    "klist": 8,  # lib/list-test.c
    "gpu_buddy": 7,  # drivers/gpu/tests/gpu_buddy_test.c
    "dma-fence": 12,  # drivers/dma-buf/st-dma-fence.c
    "dma-fence-chain": 11,  # drivers/dma-buf/st-dma-fence-chain.c
    "dma-resv": 20,  # drivers/dma-buf/st-dma-resv.c (5 cases, once per usage: 4)
    "dma-fence-unwrap": 6,  # drivers/dma-buf/st-dma-fence-unwrap.c
    "scatterlist": 22,  # tools/testing/scatterlist/main.c
    "xarray": 1,  # lib/test_xarray.c (one case of ~1.6e8 checks)
    "ww_mutex": 1,  # kernel/locking/test-ww_mutex.c (its module init, one case)
    "drm_mm": 6,  # drivers/gpu/drm/tests/drm_mm_test.c
    "drm_rect": 9,  # drivers/gpu/drm/tests/drm_rect_test.c
    "drm_format": 18,  # drivers/gpu/drm/tests/drm_format_test.c
    "drm_exec": 7,  # drivers/gpu/drm/tests/drm_exec_test.c (mock device: KMS slice)
    "drm_managed": 2,  # drivers/gpu/drm/tests/drm_managed_test.c (registers it)
    "drm_gem_shmem": 8,  # drivers/gpu/drm/tests/drm_gem_shmem_test.c (mock device, DMA mask)
}


def run_captured(patterns: list[str]) -> tuple[list[kunit.SuiteResult], str]:
    with tempfile.TemporaryFile() as f:
        results = kunit.run(patterns, out_fd=f.fileno())
        f.seek(0)
        return results, f.read().decode()


def test_every_suite_is_registered() -> None:
    assert sorted(kunit.suite_names()) == sorted(EXPECTED)


@pytest.mark.kernel_warns  # scatterlist's first case checks max_segment 0 WARNs
def test_kernel_suites_all_pass() -> None:
    results, ktap = run_captured([])
    got = {r.name: (r.passed, r.failed) for r in results}
    assert got == {name: (n, 0) for name, n in EXPECTED.items()}
    assert ktap.startswith(f"KTAP version 1\n1..{len(EXPECTED)}\n")
    assert ktap.rstrip().endswith(f"{sum(EXPECTED.values())} passed, 0 failed")
    assert "not ok" not in ktap
    xa = next(line for line in ktap.splitlines() if "xarray_checks" in line)
    passed, _, run = xa.split("# ")[1].split()[:3]
    assert passed == run and int(run) > 100_000_000


def test_glob_selects_suites() -> None:
    results, ktap = run_captured(["list-*", "?list"])
    assert [r.name for r in results] == ["list-kunit-test", "hlist", "klist"]
    assert ktap.rstrip().endswith("65 passed, 0 failed")


def test_unknown_suite_is_enoent() -> None:
    with pytest.raises(Error) as e:
        kunit.select(["no-such-suite"])
    assert e.value.errno == Error(2).errno == 2


def test_cli_unknown_suite_is_one_line_and_nonzero() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "pyforlinux", "kunit", "nope"],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "no kernel test suite named 'nope'" in p.stderr


def test_cli_reports_failure_exit_status_and_counts() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "pyforlinux", "kunit", "klist"],
        capture_output=True, text=True, check=False,
    )
    assert p.returncode == 0
    assert p.stdout.rstrip().splitlines()[-1] == "8 passed, 0 failed"


@pytest.mark.kernel_warns
def test_drm_gem_shmem_suite_passes_and_its_lock_bugs_are_caught() -> None:
    """drm_gem_shmem_test.c of 6.12 calls vmap/vunmap, madvise, purge and the
    pin clean-up without the reservation lock the helper asserts
    (``dma_resv_assert_held``); the runtime's lock validator reports each as
    a kernel WARN, as lockdep does. Fixed upstream by Thomas Zimmermann's
    "drm/tests: shmem: Hold reservation lock around ..." series (Dec 2025,
    Cc stable)."""
    before = int(lib.pfl_warn_count())
    results, _ = run_captured(["drm_gem_shmem"])
    assert [(r.name, r.passed, r.failed) for r in results] == [("drm_gem_shmem", 8, 0)]
    assert int(lib.pfl_warn_count()) - before == 10
    buf = ffi.new("char[]", 512)
    lib.pfl_last_warning(buf, 512)
    assert b"drm_gem_shmem_helper.c" in ffi.string(buf)
