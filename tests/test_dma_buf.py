"""PRIME over the real drivers/dma-buf/dma-buf.c and drm_prime.c: a GEM object
exported to a dma-buf fd in the client's fd table (an anon-inode-like file
on the dma-buf pseudo filesystem), imported back, and what the kernel
answers for fds that are not dma-bufs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import auxiliary, drm, faux
from pyforlinux._bindings import ffi, lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.device import Core
from pyforlinux.drm import gem, ioctl
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code
from pyforlinux.module import ModuleInfo, ThisModule


class BufObject(gem.BaseDriverObject):
    """A GEM object with no backing of its own (PRIME needs none to export)."""

    @classmethod
    def new(cls, dev: Any, size: int) -> BufObject:  # type: ignore[override]
        return cls()


class BufFile(drm.DriverFile):
    @staticmethod
    def getparam(dev: Any, p: Any, file: Any) -> int:
        raise Error(code.EINVAL)

    @staticmethod
    def create(dev: Any, req: Any, file: Any) -> int:
        with gem.Object.new(dev, int(req.size)) as obj:
            req.handle = obj.deref().create_handle(file)
        return 0


class BufDrm(drm.Driver):
    File = BufFile
    Object = BufObject
    INFO = drm.DriverInfo(1, 0, 0, "bufdrm", "dma-buf test driver")
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, BufFile.getparam),
        ("NOVA_GEM_CREATE", "drm_nova_gem_create", ioctl.RENDER_ALLOW, BufFile.create),
    ])


class BufAux(auxiliary.Driver):
    ID_TABLE = ((DeviceId("Buf", "drm"), None),)

    def probe(self, adev: AuxDevice[Core], info: Any) -> Any:
        dev = drm.Device.new(BufDrm, adev, None)
        drm.Registration.new_foreign_owned(dev.deref(), adev)
        return dev


@pytest.fixture
def bufdrm() -> Iterator[str]:
    this = ThisModule(ModuleInfo("bufdrm", ("t",), "bufdrm", "GPL"))
    BufDrm.THIS_MODULE = this
    parent = faux.Registration("buf-parent")
    drv = auxiliary.register_driver(BufAux(), "bufdrm")
    aux = auxiliary.Registration(parent.as_bound(), "drm", 0, "Buf")
    yield next(n for n in drm.driver.nodes() if "render" in n)
    aux.close()
    drv.close()
    parent.close()
    assert this.refcount() == 0
    BufDrm.THIS_MODULE = None


def errno_of(fn: Any, *args: Any, **kw: Any) -> int:
    with pytest.raises(Error) as e:
        fn(*args, **kw)
    return int(e.value.errno or 0)


H2FD = (lib.DRM_IOCTL_PRIME_HANDLE_TO_FD, "struct drm_prime_handle")
FD2H = (lib.DRM_IOCTL_PRIME_FD_TO_HANDLE, "struct drm_prime_handle")
CREATE = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
O_RDWR, O_CLOEXEC = 0o2, 0o2000000


def close_fd(c: Client, fd: int) -> int:
    with c.acting():
        return int(lib.close_fd(fd))


def test_export_gives_a_dma_buf_fd_and_import_finds_the_same_object(bufdrm: str) -> None:
    with Client(bufdrm) as c:
        h = c.call(*CREATE, size=8192).handle
        fd = c.call(*H2FD, handle=h, flags=O_RDWR | O_CLOEXEC).fd
        assert fd >= 0
        # a second export of the same object is the same dma-buf (its own fd)
        fd2 = c.call(*H2FD, handle=h, flags=O_RDWR).fd
        assert fd2 != fd
        with c.acting():
            f1, f2 = lib.fget(fd), lib.fget(fd2)
            assert f1 != ffi.NULL and f1 == f2  # drm_prime caches obj->dma_buf
            lib.fput(f1)
            lib.fput(f2)
        assert c.call(*FD2H, fd=fd).handle == h  # self-import: the same handle
        assert close_fd(c, fd2) == 0
        dev = c.file.dev
        assert len(dev.gem_objects) == 1
        # the dma-buf keeps the object after its last handle goes
        c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
        assert len(dev.gem_objects) == 1
        h2 = c.call(*FD2H, fd=fd).handle
        assert h2 != 0
        c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h2)
        assert close_fd(c, fd) == 0
        # last fd closed: dma_buf_release() -> the GEM object's last reference
        assert not dev.gem_objects


def test_import_of_what_is_not_a_dma_buf(bufdrm: str) -> None:
    with Client(bufdrm) as c:
        assert errno_of(c.call, *FD2H, fd=77) == code.EBADF  # no such fd
        assert errno_of(c.call, *FD2H, fd=-1) == code.EBADF
        h = c.call(*CREATE, size=4096).handle
        fd = c.call(*H2FD, handle=h, flags=O_RDWR).fd
        assert errno_of(c.call, *H2FD, handle=h + 5, flags=O_RDWR) == code.ENOENT
        assert errno_of(c.call, *H2FD, handle=h, flags=0x40) == code.EINVAL  # bad flags
        assert close_fd(c, fd) == 0


def test_file_close_with_an_exported_buffer_frees_it_at_the_last_fd(bufdrm: str) -> None:
    c = Client(bufdrm)
    h = c.call(*CREATE, size=4096).handle
    fd = c.call(*H2FD, handle=h, flags=O_RDWR).fd
    dev = c.file.dev
    mm = c.mm
    c.close()  # the DRM file goes; the dma-buf fd stays in the client's table
    assert len(dev.gem_objects) == 1
    with mm.use():
        assert lib.close_fd(fd) == 0
    assert not dev.gem_objects


def test_a_driver_without_syncobj_has_no_syncobjs(bufdrm: str) -> None:
    from pyforlinux.drm.syncobj import Syncobj

    with Client(bufdrm) as c:
        assert errno_of(Syncobj.lookup_handle, c.file, 1) == code.ENOENT
        assert errno_of(c.call, lib.DRM_IOCTL_SYNCOBJ_CREATE,
                        "struct drm_syncobj_create") == code.EOPNOTSUPP
