"""A DRM driver with shmem GEM objects, for the shmem, drm_exec and PRIME
tests: ``with shmem_node() as node`` registers it (a faux parent, an
auxiliary device) and yields its render node; on exit it unregisters and
checks that every shmem page went back to the pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyforlinux import auxiliary, drm, faux
from pyforlinux._bindings import lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Core
from pyforlinux.drm import gem
from pyforlinux.drm.gem import shmem
from pyforlinux.error import Error, code

PAGE = 4096
FREED: list[int] = []


class Bo(gem.BaseDriverObject):
    """Driver data of a shmem object: remembers its size, reports its free."""

    def __init__(self, size: int) -> None:
        self.size = size

    @classmethod
    def new(cls, dev: Any, size: int) -> Bo:
        if size == 13 * PAGE:
            raise Error(code.ENOSPC, "driver refuses this size")
        return cls(size)

    def free(self, obj: Any) -> None:
        FREED.append(self.size)


class ShmemDrm(drm.Driver):
    File = drm.DriverFile
    Object = shmem.Object[Bo]
    INFO = drm.DriverInfo(1, 0, 0, "shmemdrm", "shmem GEM test driver")


class ShmemAux(auxiliary.Driver):
    ID_TABLE = ((DeviceId("Shmem", "drm"), None),)

    def probe(self, adev: AuxDevice[Core], info: Any) -> Any:
        dev = drm.Device.new(ShmemDrm, adev, None)
        drm.Registration.new_foreign_owned(dev.deref(), adev)
        return dev


@contextmanager
def shmem_node() -> Iterator[str]:
    """Register the driver; yield its render node path."""
    FREED.clear()
    pages = int(lib.pfl_shmem_nr_pages())
    parent = faux.Registration("shmem-parent")
    drv = auxiliary.register_driver(ShmemAux(), "shmemdrm")
    aux = auxiliary.Registration(parent.as_bound(), "drm", 0, "Shmem")
    try:
        yield next(n for n in drm.driver.nodes() if "render" in n)
    finally:
        aux.close()
        drv.close()
        parent.close()
    assert int(lib.pfl_shmem_nr_pages()) == pages  # every page back in the pool




def errno_of(fn: Any, *args: Any) -> int | None:
    """The errno of the :class:`Error` ``fn(*args)`` raises; None if it returns."""
    try:
        fn(*args)
    except Error as e:
        return e.errno
    return None
