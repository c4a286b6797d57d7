"""Shared fixtures: every test runs against the real kernel C and must leave
it as it found it (no leaked objects, no kernel warnings, no lock-order
reports), unless it is about those very things and says so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux.sync import rcu

LOCKDEP_KINDS = {
    "inversion": lib.PFL_LOCKDEP_INVERSION,
    "recursion": lib.PFL_LOCKDEP_RECURSION,
    "might_sleep": lib.PFL_LOCKDEP_MIGHT_SLEEP,
    "bad_unlock": lib.PFL_LOCKDEP_BAD_UNLOCK,
}


@dataclass
class KernelState:
    """Counters that a clean test leaves unchanged."""

    live_objects: int
    warnings: int
    lockdep: dict[str, int]

    @classmethod
    def now(cls) -> KernelState:
        rcu.rcu_barrier()  # Python RCU callbacks (e.g. a DriverFence's data and reference)
        lib.pfl_slab_quiesce()  # RCU-deferred frees complete first
        return cls(
            live_objects=lib.pfl_slab_live_objects(),
            warnings=lib.pfl_warn_count(),
            lockdep={k: lib.pfl_lockdep_count(v) for k, v in LOCKDEP_KINDS.items()},
        )


def last_warning() -> str:
    buf = ffi.new("char[512]")
    lib.pfl_last_warning(buf, 512)
    return str(ffi.string(buf).decode())


def last_lockdep_report() -> str:
    buf = ffi.new("char[4096]")
    lib.pfl_lockdep_last_report(buf, 4096)
    return str(ffi.string(buf).decode())


@pytest.fixture(autouse=True)
def kernel_clean(request: pytest.FixtureRequest) -> Iterator[KernelState]:
    """Fails the test if it leaks kernel objects or provokes a WARN or a
    lock-validator report. Tests that provoke them on purpose mark
    themselves ``@pytest.mark.kernel_warns`` / ``lockdep_reports`` /
    ``leaks`` and assert the exact change themselves."""
    lib.pfl_fail_nth_set(0)
    before = KernelState.now()
    yield before
    lib.pfl_fail_nth_set(0)
    lib.pfl_fail_probability_set(0)
    after = KernelState.now()
    if not request.node.get_closest_marker("leaks"):
        assert after.live_objects == before.live_objects, (
            f"test leaked {after.live_objects - before.live_objects} kernel object(s)"
        )
    if not request.node.get_closest_marker("kernel_warns"):
        assert after.warnings == before.warnings, f"kernel WARN: {last_warning()}"
    if not request.node.get_closest_marker("lockdep_reports"):
        assert after.lockdep == before.lockdep, f"lock validator: {last_lockdep_report()}"


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in [
        ("kernel_warns", "the test provokes kernel WARNs on purpose and checks them"),
        ("lockdep_reports", "the test provokes lock-validator reports and checks them"),
        ("leaks", "the test leaks kernel objects on purpose and checks the count"),
    ]:
        config.addinivalue_line("markers", f"{name}: {doc}")
