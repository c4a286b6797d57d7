"""DRM syncobjs: a driver with Driver.SYNCOBJ gets the C core's SYNCOBJ_*
ioctls (drivers/gpu/drm/drm_syncobj.c, unmodified) and puts its fences in a
file's syncobjs with pyforlinux.drm.syncobj.Syncobj."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import auxiliary, drm, faux
from pyforlinux._bindings import ffi, lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Core
from pyforlinux.dma_buf import FenceCtx
from pyforlinux.drm import gem, ioctl
from pyforlinux.drm.client import Client
from pyforlinux.drm.syncobj import Syncobj
from pyforlinux.error import Error, code
from pyforlinux.module import ModuleInfo, ThisModule

CTX: FenceCtx[Any] = FenceCtx("syncdrm", "ring")
PENDING: list[Any] = []


class SyncFile(drm.DriverFile):
    @staticmethod
    def submit(dev: Any, p: Any, file: Any) -> int:
        """'Submit a job': its out-fence goes into syncobj handle p.param."""
        with Syncobj.lookup_handle(file, int(p.param)) as s:
            fence = CTX.new_fence(CTX.new_fence_allocation(None))
            s.replace_fence(fence.as_fence())
            PENDING.append(fence)
        return 0


class SyncObject(gem.BaseDriverObject):
    @classmethod
    def new(cls, dev: Any, size: int) -> SyncObject:  # type: ignore[override]
        return cls()


class SyncDrm(drm.Driver):
    File = SyncFile
    Object = SyncObject
    INFO = drm.DriverInfo(1, 0, 0, "syncdrm", "syncobj test driver")
    SYNCOBJ = True
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, SyncFile.submit),
    ])


class SyncAux(auxiliary.Driver):
    ID_TABLE = ((DeviceId("Sync", "drm"), None),)

    def probe(self, adev: AuxDevice[Core], info: Any) -> Any:
        dev = drm.Device.new(SyncDrm, adev, None)
        drm.Registration.new_foreign_owned(dev.deref(), adev)
        return dev


@pytest.fixture
def node() -> Iterator[str]:
    this = ThisModule(ModuleInfo("syncdrm", ("t",), "syncdrm", "GPL"))
    SyncDrm.THIS_MODULE = this
    parent = faux.Registration("sync-parent")
    drv = auxiliary.register_driver(SyncAux(), "syncdrm")
    aux = auxiliary.Registration(parent.as_bound(), "drm", 0, "Sync")
    yield next(n for n in drm.driver.nodes() if "render" in n)
    for f in PENDING:
        f.signal()
    PENDING.clear()
    aux.close()
    drv.close()
    parent.close()
    assert this.refcount() == 0
    SyncDrm.THIS_MODULE = None


def errno_of(fn: Any, *args: Any, **kw: Any) -> int:
    with pytest.raises(Error) as e:
        fn(*args, **kw)
    return int(e.value.errno or 0)


def wait(c: Client, handle: int, flags: int = 0) -> Any:
    handles = c.mm.alloc(4)
    c.mm.write(handles, handle.to_bytes(4, "little"))
    deadline = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 10_000_000  # absolute, 10 ms
    return c.call(lib.DRM_IOCTL_SYNCOBJ_WAIT, "struct drm_syncobj_wait", handles=handles,
                  count_handles=1, timeout_nsec=deadline, flags=flags)


def test_syncobj_ioctls_are_the_cores_and_the_driver_fills_them(node: str) -> None:
    with Client(node) as c:
        cap = c.call(lib.DRM_IOCTL_GET_CAP, "struct drm_get_cap", capability=lib.DRM_CAP_SYNCOBJ)
        assert cap.value == 1
        h = c.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create").handle
        assert h != 0
        assert errno_of(wait, c, h) == code.EINVAL  # no fence, no WAIT_FOR_SUBMIT
        with Syncobj.lookup_handle(c.file, h) as s:
            assert s.is_signaled() is None
        c.call(lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam", param=h)
        assert errno_of(wait, c, h) == code.ETIME  # the job has not finished
        with Syncobj.lookup_handle(c.file, h) as s:
            assert s.is_signaled() is False
        PENDING.pop().signal()
        wait(c, h)  # signalled: 0
        with Syncobj.lookup_handle(c.file, h) as s:
            assert s.is_signaled() is True
            s.replace_fence(None)
            assert s.is_signaled() is None
        c.call(lib.DRM_IOCTL_SYNCOBJ_DESTROY, "struct drm_syncobj_destroy", handle=h)
        assert errno_of(wait, c, h) == code.ENOENT
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam",
                        param=h) == code.ENOENT
        assert errno_of(Syncobj.lookup_handle, c.file, -1) == code.EINVAL


def test_a_closed_reference_is_einval_and_the_syncobj_lives_on(node: str) -> None:
    with Client(node) as c:
        h = c.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create",
                   flags=lib.DRM_SYNCOBJ_CREATE_SIGNALED).handle
        s = Syncobj.lookup_handle(c.file, h)
        assert s.is_signaled() is True  # CREATE_SIGNALED: the stub fence
        s.close()
        s.close()  # idempotent
        assert errno_of(s.replace_fence, None) == code.EINVAL
        assert errno_of(s.is_signaled) == code.EINVAL
        assert errno_of(Syncobj(ffi.NULL).replace_fence, object()) == code.EINVAL
        wait(c, h)  # the file's handle still holds it
