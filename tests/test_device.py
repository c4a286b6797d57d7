"""The device model: contexts, the auxiliary bus, devres, Revocable."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyforlinux import auxiliary, faux
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Bound, Core, Device
from pyforlinux.devres import Devres
from pyforlinux.error import Error, code
from pyforlinux.revocable import Revocable


class Resource:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def close(self) -> None:
        self.log.append(f"close {self.name}")


class RecordingDriver(auxiliary.Driver):
    ID_TABLE = ((DeviceId("TestCore", "child"), "info"),)

    def __init__(self, log: list[str], fail: bool = False) -> None:
        self.log = log
        self.fail = fail
        self.bound: list[AuxDevice[Bound]] = []

    def probe(self, adev: AuxDevice[Core], id_info: Any) -> Resource:
        self.log.append(f"probe {adev.name()} {id_info}")
        if self.fail:
            Devres(adev, Resource(self.log, "devres-of-failed-probe"))
            raise Error(code.ENXIO, "refused")
        Devres.new_foreign_owned(adev, Resource(self.log, "devres"))
        self.bound.append(adev.as_bound())
        return Resource(self.log, "drvdata")

    def unbind(self, adev: AuxDevice[Core], data: Any) -> None:
        self.log.append(f"unbind {adev.name()}")


@pytest.fixture
def parent() -> Any:
    reg = faux.Registration("test-parent")
    yield reg
    reg.close()


def test_bind_unbind_order_and_stale_bound_views(parent: faux.Registration) -> None:
    log: list[str] = []
    drv = RecordingDriver(log)
    with auxiliary.register_driver(drv, "rec"):
        with auxiliary.Registration(parent.as_bound(), "child", 3, "TestCore") as reg:
            assert log == ["probe TestCore.child.3 info"]
            bound = drv.bound[0]
            assert bound.is_bound() and bound.id() == 3
            assert bound.drvdata(Resource).name == "drvdata"
            assert reg.device().same_device(bound)
        # Removing the device: unbind, then driver data, then devres (reverse order).
        assert log[1:] == ["unbind TestCore.child.3", "close drvdata", "close devres"]
        with pytest.raises(Error) as e:
            bound.drvdata(Resource)
        assert e.value.errno == code.ENODEV


def test_driver_registered_after_device_binds_it_and_unregister_unbinds(
    parent: faux.Registration,
) -> None:
    log: list[str] = []
    with auxiliary.Registration(parent.as_bound(), "child", 0, "TestCore") as reg:
        drv = RecordingDriver(log)
        r = auxiliary.register_driver(drv, "rec")
        assert log == ["probe TestCore.child.0 info"]
        r.close()
        assert "unbind TestCore.child.0" in log
        assert not reg.device().is_bound()


def test_failed_probe_leaves_device_unbound_and_releases_its_devres(
    parent: faux.Registration,
) -> None:
    log: list[str] = []
    with auxiliary.register_driver(RecordingDriver(log, fail=True), "rec"):
        with auxiliary.Registration(parent.as_bound(), "child", 0, "TestCore") as reg:
            assert not reg.device().is_bound()
            assert reg.device()._core.probe_error.errno == code.ENXIO  # type: ignore[attr-defined]
    assert log == ["probe TestCore.child.0 info", "close devres-of-failed-probe"]


def test_duplicate_device_is_eexist(parent: faux.Registration) -> None:
    with auxiliary.Registration(parent.as_bound(), "child", 0, "TestCore"):
        with pytest.raises(Error) as e:
            auxiliary.Registration(parent.as_bound(), "child", 0, "TestCore")
        assert e.value.errno == code.EEXIST


def test_only_normal_is_refcounted(parent: faux.Registration) -> None:
    bound = parent.as_bound()
    with pytest.raises(Error) as e:
        bound.inc_ref()
    assert e.value.errno == code.EINVAL
    normal = bound.as_normal()
    normal.inc_ref()
    normal.dec_ref()


def test_devres_access_checks_the_device(parent: faux.Registration) -> None:
    other = faux.Registration("other")
    try:
        log: list[str] = []
        res = Devres(parent.as_bound(), Resource(log, "r"))
        assert res.access(parent.as_bound()).name == "r"
        with pytest.raises(Error) as e:
            res.access(other.as_bound())
        assert e.value.errno == code.EINVAL
        res.close()
        assert log == ["close r"]
        assert res.try_access() is None
    finally:
        other.close()


def test_devres_revoked_at_unbind_waits_for_readers() -> None:
    log: list[str] = []
    reg = faux.Registration("dev")
    res = Devres(reg.as_bound(), Resource(log, "r"))
    entered, leave = threading.Event(), threading.Event()

    def reader() -> None:
        guard = res.try_access()
        assert guard is not None
        with guard:
            entered.set()
            leave.wait(30)

    t = threading.Thread(target=reader)
    t.start()
    assert entered.wait(30)
    closer = threading.Thread(target=reg.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive() and log == []  # the unbind waits for the reader
    leave.set()
    t.join(30)
    closer.join(30)
    assert log == ["close r"]
    assert res.try_access() is None
    bound: Device[Bound] = res.device
    with pytest.raises(Error) as e:
        res.access(bound)
    assert e.value.errno == code.ENODEV


def test_revocable_guard_misuse() -> None:
    r = Revocable(41)
    assert r.try_access_with(lambda v: v + 1) == 42
    g = r.try_access()
    assert g is not None
    other: list[int] = []

    def release_elsewhere() -> None:
        try:
            g.release()
        except Error as e:
            other.append(int(e.errno or 0))

    t = threading.Thread(target=release_elsewhere)
    t.start()
    t.join(30)
    assert other == [code.EPERM]
    g.release()
    with pytest.raises(Error) as e:
        g.release()
    assert e.value.errno == code.EINVAL
    assert r.revoke() is True and r.revoke() is False
    assert r.try_access() is None


def test_devres_close_removes_its_own_entry_by_cookie(parent: faux.Registration) -> None:
    """Devres.close() removes its devres entry by the cookie it kept (issue 17)
    instead of searching the device's entries: the same entry
    devm_remove_action(Devres._devres_callback, res) would remove."""
    log: list[str] = []
    dev = parent.as_bound()
    a, b = Devres(dev, Resource(log, "a")), Devres(dev, Resource(log, "b"))
    core = dev._core
    assert core.devres[a._cookie] == (Devres._devres_callback, a)
    assert core.devres[b._cookie] == (Devres._devres_callback, b)
    a.close()
    assert log == ["close a"] and a._cookie not in core.devres and b._cookie in core.devres
    assert not dev.devm_remove_action(Devres._devres_callback, a)  # already gone
    a.close()  # idempotent
    assert log == ["close a"]
    # The public removal finds the same entry; then close() only releases.
    assert dev.devm_remove_action(Devres._devres_callback, b)
    assert b._cookie not in core.devres
    b.close()
    assert log == ["close a", "close b"]
    # At unbind, only entries still registered run.
    other = faux.Registration("other-dev")
    c = Devres(other.as_bound(), Resource(log, "c"))
    d = Devres(other.as_bound(), Resource(log, "d"))
    c.close()
    other.close()
    assert log == ["close a", "close b", "close c", "close d"]
    d.close()  # after the unbind released it: nothing more
    assert log[-1] == "close d" and len(log) == 4
    # A stale bound view cannot add an entry (ENODEV before anything is made).
    with pytest.raises(Error) as e:
        Devres(c.device, Resource(log, "late"))
    assert e.value.errno == code.ENODEV and len(log) == 4


def test_revoke_and_devres_close_release_once_without_a_lock() -> None:
    """Revocable.revoke() and Devres.close() test and set their flag with no
    call in between (atomic under the GIL, issue 17: no Python lock): from
    many threads at once, and racing the unbind, exactly one releases."""
    for _ in range(20):
        log: list[str] = []
        r = Revocable(Resource(log, "r"))
        go = threading.Barrier(8)
        won: list[bool] = []

        def revoke(
            r: Revocable[Resource] = r, go: threading.Barrier = go, won: list[bool] = won
        ) -> None:
            go.wait(30)
            won.append(r.revoke())

        threads = [threading.Thread(target=revoke) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(won) == [False] * 7 + [True] and log == ["close r"]

        reg = faux.Registration("race-dev")
        res = Devres(reg.as_bound(), Resource(log, "d"))
        start = threading.Barrier(5)

        def close(res: Devres[Resource] = res, start: threading.Barrier = start) -> None:
            start.wait(30)
            res.close()

        def unbind(reg: faux.Registration = reg, start: threading.Barrier = start) -> None:
            start.wait(30)
            reg.close()

        threads = [threading.Thread(target=close) for _ in range(4)]
        threads.append(threading.Thread(target=unbind))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert log == ["close r", "close d"] and res.try_access() is None
