"""The allocation fault-injection sweep (``pyforlinux faultsweep``): every
scenario 100 % clean, and a sweep that catches what it claims to catch."""

from __future__ import annotations

import io
from typing import Any

import pytest

from pyforlinux import faultsweep
from pyforlinux._bindings import ffi, lib
from pyforlinux.alloc import GFP_KERNEL, KBox
from pyforlinux.cli import main
from pyforlinux.error import Error, code
from pyforlinux.sync.lock.mutex import new_mutex


def test_every_allocation_failure_of_every_scenario_is_clean() -> None:
    out = io.StringIO()
    results = faultsweep.sweep_all(out=out)
    text = out.getvalue()
    print(text)
    assert [r.name for r in results] == list(faultsweep.SCENARIOS)
    for r in results:
        assert r.problems == [], r.line()
        assert r.clean == r.allocations > 0
        assert r.ok
        # Something was failed, and each run ended in one accepted way.
        assert r.enomem > 0
        assert r.enomem + r.graceful + r.absorbed == r.injected <= r.allocations
    assert text.rstrip().endswith(f"total: {sum(r.allocations for r in results)}/"
                                  f"{sum(r.allocations for r in results)} clean runs")


def test_the_cli_sweeps_named_scenarios_and_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faultsweep", "fence"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fence") and "clean 12/12" in lines[0]
    assert lines[-1] == "total: 12/12 clean runs"
    assert main(["faultsweep", "--list"]) == 0
    assert capsys.readouterr().out.split()[0] == "nova-session"
    assert main(["faultsweep", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- the sweep has teeth


class TwoBoxes(faultsweep.Scenario):
    """Allocates two boxes; the bugs below are switched on by flags."""

    name = "two-boxes"

    def __init__(self, leak: bool = False, errno: int = 0, hold_lock: bool = False,
                 swallow: bool = False) -> None:
        self.leak, self.errno, self.hold, self.swallow = leak, errno, hold_lock, swallow
        self.leaked: list[Any] = []
        self.held: list[Any] = []

    def setup(self) -> None:
        self.lock = new_mutex(None, "two-boxes")

    def run(self) -> str | None:
        a = KBox.new("u64", GFP_KERNEL, 1)
        try:
            b = KBox.new("u64", GFP_KERNEL, 2)
        except Error:
            if self.leak:
                self.leaked.append(a)  # the bug: not released on the error path
                raise
            a.close()
            if self.errno:
                raise Error(self.errno) from None  # the bug: a wrong errno
            if self.hold:
                self.held.append(self.lock.lock())  # the bug: a lock kept
                raise
            if self.swallow:
                return "failed quietly"  # the bug: an undocumented outcome
            raise
        a.close()
        b.close()
        return None

    def teardown(self) -> None:
        for box in self.leaked:
            box.close()
        for guard in self.held:
            guard.unlock()
        self.lock.close()


@pytest.mark.parametrize(("bug", "expect"), [
    ({}, None),
    ({"leak": True}, "n=2 (faulted run, then clean rerun): +1 live kernel object(s)"),
    ({"errno": code.EIO}, "n=2: expected Error(ENOMEM), got Error: [Errno 5] EIO"),
    ({"hold_lock": True}, "n=2: 1 lock(s) still held"),
    ({"swallow": True}, "n=2: unexpected outcome 'failed quietly'"),
])
def test_the_sweep_reports_leaks_wrong_errnos_held_locks_and_odd_outcomes(
    bug: dict[str, Any], expect: str | None
) -> None:
    scenario = TwoBoxes(**bug)
    result = faultsweep.sweep(scenario)
    assert result.allocations == 2
    if expect is None:
        assert result.ok and result.clean == 2 and result.enomem == 2
    else:
        assert not result.ok and result.clean == 1
        assert len(result.problems) == 1 and result.problems[0].startswith(expect), result.problems


def test_a_documented_graceful_outcome_and_an_absorbed_failure_are_clean() -> None:
    class Fallback(faultsweep.Scenario):
        name = "fallback"

        def run(self) -> str | None:
            try:
                KBox.new("u64", GFP_KERNEL).close()
            except Error:
                return faultsweep.GRACEFUL_PREFIX + "went without"
            # A retry after failure (as __xa_store does) is absorbed.
            p = lib.pfl_kmalloc(8, lib.GFP_NOWAIT, 0)
            if p == ffi.NULL:
                p = lib.pfl_kmalloc(8, lib.GFP_KERNEL, 0)
            lib.pfl_kfree(p, 0)
            return None

    result = faultsweep.sweep(Fallback())
    assert result.ok and result.allocations == 2
    assert (result.graceful, result.absorbed, result.enomem) == (1, 1, 0)
