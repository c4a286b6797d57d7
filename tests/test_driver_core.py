"""The kernel's driver core (drivers/base/*.c, lib/kobject.c, compiled
unmodified) under the safe layer: binding and unbinding by dd.c, devres
release order by devres.c, reference counts of struct device, probe failure
unwinding, and every allocation of device_add()/driver bind failed in turn."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import alloc, auxiliary, device, faux
from pyforlinux._bindings import lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Core, Normal
from pyforlinux.devres import Devres
from pyforlinux.error import Error, code


class Res:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def close(self) -> None:
        self.log.append(f"close {self.name}")


class Drv(auxiliary.Driver):
    """Adds three devres entries in probe; optionally fails after them."""

    ID_TABLE = ((DeviceId("DcTest", "child"), "info"),)

    def __init__(self, log: list[str], fail: int = 0) -> None:
        self.log, self.fail = log, fail
        self.probes = 0

    def probe(self, adev: AuxDevice[Core], id_info: Any) -> Res:
        self.probes += 1
        self.log.append(f"probe {adev.name()}")
        for name in ("a", "b", "c"):
            Devres.new_foreign_owned(adev, Res(self.log, name))
        if self.fail:
            raise Error(self.fail, "refused")
        return Res(self.log, "drvdata")

    def unbind(self, adev: AuxDevice[Core], data: Any) -> None:
        self.log.append(f"unbind {adev.name()}")


@pytest.fixture
def parent() -> Iterator[faux.Registration]:
    reg = faux.Registration("dc-parent")
    yield reg
    reg.close()


def names() -> list[str]:
    return [d.name for d in device.devices()]


def test_the_driver_core_is_the_kernels() -> None:
    # The check: the C entry points are in the bindings.
    assert lib.device_add and lib.devres_add and lib.get_device and lib.put_device
    assert lib.__auxiliary_driver_register and lib.devres_remove
    root = device.find("faux")
    assert root is not None and root.path == "/devices/faux"


def test_bind_unbind_order_and_devres_release_in_reverse(parent: faux.Registration) -> None:
    log: list[str] = []
    with auxiliary.register_driver(Drv(log), "dc-drv"):
        reg = auxiliary.Registration(parent.as_bound(), "child", 1, "DcTest")
        info = device.find("DcTest.child.1", "auxiliary")
        assert info is not None
        # dd.c bound it: the driver core says so, and the kobject tree has it
        # under its parent.
        assert info.driver == "dc-drv" and info.parent == "dc-parent"
        assert info.path == "/devices/faux/dc-parent/DcTest.child.1"
        reg.close()
    # remove, then the driver data, then devres_release_all(): c, b, a.
    assert log == ["probe DcTest.child.1", "unbind DcTest.child.1", "close drvdata",
                   "close c", "close b", "close a"]
    assert "DcTest.child.1" not in names()


def test_driver_unregister_unbinds_and_a_new_driver_binds_again(parent: faux.Registration) -> None:
    log: list[str] = []
    with auxiliary.Registration(parent.as_bound(), "child", 2, "DcTest") as reg:
        first = auxiliary.register_driver(Drv(log), "dc-drv")
        bound = reg.device()
        assert bound.is_bound()
        first.close()
        assert not bound.is_bound()
        assert device.find("DcTest.child.2").driver is None  # type: ignore[union-attr]
        with auxiliary.register_driver(Drv(log), "dc-drv2"):
            assert device.find("DcTest.child.2").driver == "dc-drv2"  # type: ignore[union-attr]
    assert log.count("probe DcTest.child.2") == 2
    assert log.count("unbind DcTest.child.2") == 2


@pytest.mark.parametrize("err", [code.ENXIO, code.ENOMEM, code.EINVAL])
def test_probe_failure_unwinds_devres_and_leaves_the_device_unbound(
    parent: faux.Registration, err: int
) -> None:
    log: list[str] = []
    with auxiliary.register_driver(Drv(log, fail=err), "dc-drv"):
        with auxiliary.Registration(parent.as_bound(), "child", 3, "DcTest") as reg:
            adev = reg.device()
            assert not adev.is_bound()
            assert adev._core.probe_error is not None
            assert adev._core.probe_error.errno == err
            assert device.find("DcTest.child.3").driver is None  # type: ignore[union-attr]
            # really_probe() -> device_unbind_cleanup(): the devres the probe
            # added are released, last first; no driver data was kept.
            assert log == ["probe DcTest.child.3", "close c", "close b", "close a"]


def test_refcount_keeps_a_device_whose_parent_is_gone() -> None:
    log: list[str] = []
    par = faux.Registration("dc-gone-parent")
    with auxiliary.register_driver(Drv(log), "dc-drv"):
        reg = auxiliary.Registration(par.as_bound(), "child", 4, "DcTest")
        child: AuxDevice[Normal] = reg.device()
        child.inc_ref()  # get_device(): an ARef[Device] of our own
        # Ours, device_initialize()'s (the bus's) and the klists' (bus, driver).
        assert child.refcount() == 4
        reg.close()       # unbind, device_del, the bus's put: ours keeps it
        assert child.refcount() == 1
        parent_view = child.parent()
        assert parent_view is not None
        par.close()       # the parent is unregistered and, unreferenced, released
        assert parent_view.refcount() == 0
        with pytest.raises(Error) as e:
            parent_view.inc_ref()
        assert e.value.errno == code.ENODEV
        # The child struct device is still alive, unbound, off every list.
        assert child.name() == "DcTest.child.4" and not child.is_bound()
        assert "DcTest.child.4" not in names() and "dc-gone-parent" not in names()
        child.dec_ref()   # the last put_device(): released now
        assert child.refcount() == 0
        with pytest.raises(Error) as e:
            child.dec_ref()
        assert e.value.errno == code.EINVAL
    assert log[-4:] == ["close drvdata", "close c", "close b", "close a"]


def test_stale_views_and_devres_after_unbind(parent: faux.Registration) -> None:
    seen: list[AuxDevice[Any]] = []

    class Keep(Drv):
        def probe(self, adev: AuxDevice[Core], id_info: Any) -> Res:
            seen.append(adev)
            return super().probe(adev, id_info)

    log: list[str] = []
    with auxiliary.register_driver(Keep(log), "dc-drv"):
        with auxiliary.Registration(parent.as_bound(), "child", 5, "DcTest"):
            pass
    with pytest.raises(Error) as e:
        seen[0].devm_add_action(lambda _: None, None)
    assert e.value.errno == code.ENODEV


def test_devm_remove_action_is_devres_remove(parent: faux.Registration) -> None:
    log: list[str] = []
    dev = parent.as_bound()
    first = Devres(dev, Res(log, "first"))
    Devres(dev, Res(log, "second"))
    first.close()  # devres_remove() of its entry, then the value goes
    assert log == ["close first"]
    parent.close()
    assert log == ["close first", "close second"]


def test_concurrent_devres_adds_are_all_released_once(parent: faux.Registration) -> None:
    log: list[str] = []
    lock = threading.Lock()

    class L(list[str]):
        def append(self, s: str) -> None:
            with lock:
                super().append(s)

    safe = L()
    dev = parent.as_bound()

    def add(k: int) -> None:
        for i in range(50):
            Devres.new_foreign_owned(dev, Res(safe, f"{k}.{i}"))

    threads = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    parent.close()
    assert sorted(safe) == sorted(f"close {k}.{i}" for k in range(4) for i in range(50))
    # Per thread, the release order is the reverse of that thread's adds.
    for k in range(4):
        mine = [s for s in safe if s.startswith(f"close {k}.")]
        assert mine == [f"close {k}.{i}" for i in reversed(range(50))]
    assert log == []


def _bind_everything(log: list[str]) -> None:
    """Create a parent, register a driver, add a bound child, tear down."""
    par = faux.Registration("dc-sweep-parent")
    try:
        with auxiliary.register_driver(Drv(log), "dc-sweep-drv"):
            with auxiliary.Registration(par.as_bound(), "child", 9, "DcTest"):
                pass
    finally:
        par.close()


def test_fault_injected_sweep_of_device_add_and_driver_bind() -> None:
    """Every allocation of device_add()/driver_register()/probe failed in turn:
    each run either fails with ENOMEM or completes (the driver core absorbs a
    failed probe), and leaves no device, no driver binding and no live object."""
    _bind_everything([])  # warm-up: caches and lock classes that stay
    base_live = alloc.live_objects().total
    base_devices = names()
    n, outcomes = 0, {"enomem": 0, "absorbed": 0}
    while True:
        n += 1
        log: list[str] = []
        err: BaseException | None = None
        with alloc.fail_nth(n) as f:
            try:
                _bind_everything(log)
            except Error as e:
                err = e
        if not f.triggered:
            assert err is None
            break
        if err is not None:
            assert err.errno == code.ENOMEM, f"n={n}: {err!r}"
            outcomes["enomem"] += 1
        else:
            outcomes["absorbed"] += 1
        # Every devres added was released exactly once, last first.
        closes = [s for s in log if s.startswith("close ")]
        assert len(closes) == len(set(closes)), f"n={n}: {log}"
        assert names() == base_devices, f"n={n}"
        assert alloc.live_objects().total == base_live, f"n={n}: live objects leaked"
    assert n > 20 and outcomes["enomem"] > 0


def test_device_walk_holds_a_reference(parent: faux.Registration) -> None:
    it = device.devices()
    first = next(it)
    assert first.name == "faux"
    # The walk holds the device it stands on; closing it ends the walk early.
    before = lib.pfl_dev_refcount(parent.as_bound().as_raw())
    seen = [first.name] + [d.name for d in it]
    assert "dc-parent" in seen
    assert lib.pfl_dev_refcount(parent.as_bound().as_raw()) == before


def test_header_check_names_the_file_and_the_system_header(tmp_path: Any) -> None:
    """scripts/check-kernel-headers.sh fails on a /usr/include/linux header the
    kernel tree has its own of, naming both; passes one it does not have."""
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parent.parent
    ktree = tmp_path / "kernel"
    (ktree / "include" / "linux").mkdir(parents=True)
    (ktree / "include" / "linux" / "uuid.h").write_text("")
    bad = tmp_path / "bad.d"
    bad.write_text("/b/obj/kernel/lib/kobject.o: /k/lib/kobject.c \\\n"
                   " /usr/include/linux/uuid.h /usr/include/linux/ioctl.h\n")
    good = tmp_path / "good.d"
    good.write_text("/b/obj/kernel/lib/kobject.o: /k/lib/kobject.c /usr/include/linux/ioctl.h\n")
    script = root / "scripts" / "check-kernel-headers.sh"
    r = subprocess.run(["sh", str(script), str(ktree), str(bad)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "lib/kobject.c picks /usr/include/linux/uuid.h" in r.stderr
    assert "include/linux/uuid.h" in r.stderr and "ioctl.h" not in r.stderr
    r = subprocess.run(["sh", str(script), str(ktree), str(good)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_deferred_probe_is_retried_by_dd_c_work(parent: faux.Registration) -> None:
    """A probe answering EPROBE_DEFER goes on dd.c's deferred list; the next
    successful bind triggers deferred_probe_work (on a worker kthread of the
    runtime), which probes it again."""
    log: list[str] = []
    again = threading.Event()

    class Deferring(Drv):
        ID_TABLE = ((DeviceId("DcTest", "late"), "info"),)

        def probe(self, adev: AuxDevice[Core], id_info: Any) -> Res:
            if self.probes == 0:
                self.probes += 1
                raise Error(code.EPROBE_DEFER, "supplier not ready")
            res = super().probe(adev, id_info)
            again.set()
            return res

    drv = Deferring(log)
    with auxiliary.register_driver(drv, "dc-late"):
        with auxiliary.Registration(parent.as_bound(), "late", 0, "DcTest") as late:
            assert not late.device().is_bound()
            assert late.device()._core.probe_error is not None
            assert late.device()._core.probe_error.errno == code.EPROBE_DEFER
            with auxiliary.register_driver(Drv(log), "dc-drv"):
                with auxiliary.Registration(parent.as_bound(), "child", 7, "DcTest"):
                    assert again.wait(60)  # a bind elsewhere retried it
                    assert late.device().is_bound()
    assert drv.probes == 2


def test_misuse_of_names_and_drivers_is_an_errno(parent: faux.Registration) -> None:
    bad: list[tuple[Any, ...]] = [("", 0, "DcTest"), ("child", 0, ""), ("a/b", 0, "DcTest"),
                                  ("child", -1, "DcTest"), ("child", 1 << 32, "DcTest")]
    for name, id, modname in bad:
        with pytest.raises(Error) as e:
            auxiliary.Registration(parent.as_bound(), name, id, modname)
        assert e.value.errno == code.EINVAL, (name, id, modname)
    with pytest.raises(Error) as e:
        faux.Registration("")
    assert e.value.errno == code.EINVAL
    # kobject_set_name() turns '/' into '!': the device is named as the C names it.
    with faux.Registration("dc/slash") as reg:
        assert reg.as_bound().name() == "dc!slash"
        assert device.find("dc!slash", "faux") is not None
    # An id above INT_MAX is printed with %d by __auxiliary_device_add().
    with auxiliary.Registration(parent.as_bound(), "child", 0xFFFFFFFF, "DcTest") as r:
        assert r.device().name() == "DcTest.child.-1"
        assert device.find("DcTest.child.-1", "auxiliary") is not None
    # driver_register() refuses a second driver of the same name on the bus.
    log: list[str] = []
    with auxiliary.register_driver(Drv(log), "dc-same"):
        with pytest.raises(Error) as e:
            auxiliary.register_driver(Drv(log), "dc-same")
        assert e.value.errno == code.EBUSY
    # An id that does not fit auxiliary_device_id.name (32 bytes with its NUL).

    class Long(Drv):
        ID_TABLE = ((DeviceId("DcTest", "x" * 40), None),)

    with pytest.raises(Error) as e:
        auxiliary.register_driver(Long(log), "dc-long")
    assert e.value.errno == code.ENAMETOOLONG
