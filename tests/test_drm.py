"""The DRM core: ioctl table checks, dispatch, permissions, GEM handles and
mmap, unplug -- with a toy driver that speaks Nova's UAPI numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import auxiliary, drm, faux
from pyforlinux._bindings import ffi, lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.cred import Credential
from pyforlinux.device import Core
from pyforlinux.drm import gem, ioctl
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code
from pyforlinux.module import ModuleInfo, ThisModule
from pyforlinux.sync.completion import Completion
from pyforlinux.task import current

GFP_ZERO = getattr(lib, "__GFP_ZERO")  # in a class body the name would be mangled


class ToyObject(gem.BaseDriverObject):
    """Objects backed by kmalloc'd memory."""

    def __init__(self, size: int) -> None:
        self.mem = lib.pfl_kmalloc(size, lib.GFP_KERNEL | GFP_ZERO, 0)
        if self.mem == ffi.NULL:
            raise Error(code.ENOMEM)

    @classmethod
    def new(cls, dev: Any, size: int) -> ToyObject:  # type: ignore[override]
        return cls(size)

    def vm_read(self, obj: Any, offset: int, length: int) -> bytes:
        return bytes(ffi.buffer(ffi.cast("char *", self.mem) + offset, length))

    def vm_write(self, obj: Any, offset: int, data: bytes) -> None:
        ffi.memmove(ffi.cast("char *", self.mem) + offset, data, len(data))

    def free(self, obj: Any) -> None:
        lib.pfl_kfree(self.mem, 0)


class ToyFile(drm.DriverFile):
    @staticmethod
    def getparam(dev: Any, p: Any, file: Any) -> int:
        if p.param == 1:
            p.value = 0xB1
            return 0
        if p.param == 2:
            return 2**31  # does not fit a C int
        if p.param == 3:
            raise RuntimeError("driver bug")
        if p.param == 4:  # a WAIT ioctl interrupted by a signal
            current().get().signal()
            Completion().wait_for_completion_interruptible()  # Error(ERESTARTSYS)
        raise Error(code.EINVAL)

    @staticmethod
    def create(dev: Any, req: Any, file: Any) -> int:
        with gem.Object.new(dev, int(req.size)) as obj:
            req.handle = obj.deref().create_handle(file)
        return 0

    @staticmethod
    def info(dev: Any, req: Any, file: Any) -> int:
        with gem.Object.lookup_handle(file, int(req.handle)) as obj:
            req.size = obj.deref().size()
        return 0


class ToyDrm(drm.Driver):
    File = ToyFile
    Object = ToyObject
    INFO = drm.DriverInfo(1, 2, 3, "toy", "A toy DRM driver", "20261121")
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, ToyFile.getparam),
        ("NOVA_GEM_CREATE", "drm_nova_gem_create", ioctl.AUTH | ioctl.RENDER_ALLOW,
         ToyFile.create),
        ("NOVA_GEM_INFO", "drm_nova_gem_info", ioctl.ROOT_ONLY | ioctl.RENDER_ALLOW,
         ToyFile.info),
    ])


class ToyAux(auxiliary.Driver):
    ID_TABLE = ((DeviceId("Toy", "drm"), None),)

    def probe(self, adev: AuxDevice[Core], info: Any) -> Any:
        dev = drm.Device.new(ToyDrm, adev, None)
        drm.Registration.new_foreign_owned(dev.deref(), adev)
        return dev  # the ARef is released at unbind


@pytest.fixture
def toy() -> Iterator[tuple[faux.Registration, auxiliary.Registration]]:
    this = ThisModule(ModuleInfo("toy", ("t",), "toy", "GPL"))
    ToyDrm.THIS_MODULE = this
    parent = faux.Registration("toy-parent")
    drv = auxiliary.register_driver(ToyAux(), "toy")
    aux = auxiliary.Registration(parent.as_bound(), "drm", 0, "Toy")
    yield parent, aux
    aux.close()
    drv.close()
    parent.close()
    assert this.refcount() == 0
    ToyDrm.THIS_MODULE = None


def card() -> str:
    return next(n for n in drm.driver.nodes() if "card" in n)


def render() -> str:
    return next(n for n in drm.driver.nodes() if "render" in n)


def errno_of(fn: Any, *args: Any, **kw: Any) -> int:
    with pytest.raises(Error) as e:
        fn(*args, **kw)
    return int(e.value.errno or 0)


# -- the table builder ------------------------------------------------------------

def test_table_must_be_consecutive_from_command_base() -> None:
    with pytest.raises(Error) as e:
        ioctl.declare_drm_ioctls([("NOVA_GEM_CREATE", "drm_nova_gem_create", 0, ToyFile.create)])
    assert e.value.errno == code.EINVAL and "consecutive" in str(e.value)


def test_table_checks_struct_size_against_ioc_size() -> None:
    with pytest.raises(Error) as e:
        ioctl.declare_drm_ioctls([("NOVA_GETPARAM", "drm_gem_close", 0, ToyFile.getparam)])
    assert e.value.errno == code.EINVAL and "_IOC_SIZE" in str(e.value)


def test_ioctl_numbers_come_from_the_uapi() -> None:
    assert ioctl.IOWR(0x41, "struct drm_nova_gem_create") == lib.DRM_IOCTL_NOVA_GEM_CREATE
    assert ioctl.ioc_size(lib.DRM_IOCTL_VERSION) == ffi.sizeof("struct drm_version")


# -- dispatch -----------------------------------------------------------------------

def test_version_copies_names_to_user_buffers(toy: Any) -> None:
    with Client(card()) as c:
        name, desc = c.mm.alloc(8), c.mm.alloc(3)
        v = c.call(lib.DRM_IOCTL_VERSION, "struct drm_version",
                   name=name, name_len=8, desc=desc, desc_len=3)
        assert (v.version_major, v.version_minor, v.version_patchlevel) == (1, 2, 3)
        assert v.name_len == 3 and c.mm.read(name, 3) == b"toy"
        assert v.desc_len == len("A toy DRM driver") and c.mm.read(desc, 3) == b"A t"
        assert v.date_len == 8  # NULL buffer: only the length is reported


def test_version_with_a_bad_user_pointer_is_efault(toy: Any) -> None:
    with Client(card()) as c:
        assert errno_of(c.call, lib.DRM_IOCTL_VERSION, "struct drm_version",
                        name=0xDEAD0000, name_len=16) == code.EFAULT


def test_bad_commands_and_sizes(toy: Any) -> None:
    with Client(card()) as c:
        cmd = lib.DRM_IOCTL_NOVA_GETPARAM
        assert errno_of(c.ioctl, ioctl.IOWR(0x4F, "struct drm_nova_getparam"), bytes(16)) == \
            code.EINVAL  # past the driver's table
        assert errno_of(c.ioctl, ioctl.IOWR(0x30, "struct drm_nova_getparam"), bytes(16)) == \
            code.EINVAL  # no such core ioctl
        assert errno_of(c.ioctl, cmd, bytes(15)) == code.EINVAL  # wrong struct size
        bigger = (cmd & ~(0x3FFF << 16)) | (24 << 16)
        assert errno_of(c.ioctl, bigger, bytes(24)) == code.EINVAL  # wrong _IOC_SIZE
        assert errno_of(c.ioctl, 0x1234, b"") == code.ENOTTY  # not a DRM ioctl


def test_handler_errors_results_and_bugs(toy: Any) -> None:
    with Client(card()) as c:
        t = "struct drm_nova_getparam"
        assert c.call(lib.DRM_IOCTL_NOVA_GETPARAM, t, param=1).value == 0xB1
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=9) == code.EINVAL
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=2) == code.ERANGE
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=3) == code.EIO
        # ERESTARTSYS (512) never reaches userspace: EINTR, signal delivered.
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=4) == code.EINTR
        assert not current().signal_pending()
        stats = c.file.dev.stats
        assert stats.errors[("NOVA_GETPARAM", code.ERESTARTSYS)] == 1
        assert stats.calls["NOVA_GETPARAM"] == 5
        assert stats.errors[("NOVA_GETPARAM", code.EIO)] == 1


def test_permissions(toy: Any) -> None:
    root = Credential.new(0)
    user = Credential.new(1000)
    with Client(card(), cred=user) as master, Client(card(), cred=user) as second, \
            Client(render(), cred=user) as rnd, Client(render(), cred=root) as rnd_root:
        create = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
        assert master.call(*create, size=4096).handle == 1  # master: authenticated
        assert errno_of(second.call, *create, size=4096) == code.EACCES  # AUTH
        h = rnd.call(*create, size=4096).handle  # render clients may
        # ROOT_ONLY checks the caller's credential.
        info = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
        assert errno_of(rnd.call, *info, handle=h) == code.EACCES
        assert errno_of(rnd_root.call, *info, handle=h) == code.ENOENT  # not its handle
        # MODE_MAP_DUMB has no RENDER_ALLOW.
        assert errno_of(rnd.call, lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb",
                        handle=h) == code.EACCES


# -- GEM ------------------------------------------------------------------------------

def test_gem_handles_lookup_close_and_release_on_close(toy: Any) -> None:
    root = Credential.new(0)
    with Client(card(), cred=root) as c:
        create = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
        hs = [c.call(*create, size=4096 * (i + 1)).handle for i in range(3)]
        assert hs == [1, 2, 3]
        info = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
        assert c.call(*info, handle=2).size == 8192
        assert errno_of(c.call, *info, handle=7) == code.ENOENT
        c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=2)
        assert errno_of(c.call, *info, handle=2) == code.ENOENT
        assert errno_of(c.call, lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close",
                        handle=2) == code.EINVAL
        assert c.call(*create, size=4096).handle == 2  # idr reuses the lowest free id
        assert c.file.handles() == [1, 2, 3]
    # close() released the three handles: the fixture checks no object leaked.


def test_gem_mmap_write_read_and_access_rules(toy: Any) -> None:
    with Client(card()) as c, Client(card()) as other:
        h = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create",
                   size=8192).handle
        off = c.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb", handle=h).offset
        with c.mmap(int(off), 8192) as m:
            m.write(4000, b"hello across a page")
            assert m.read(4000, 19) == b"hello across a page"
            assert errno_of(m.write, 8190, b"xyz") == code.EFAULT
        assert errno_of(m.read, 0, 1) == code.EFAULT  # unmapped
        assert errno_of(c.mmap, int(off), 8193) == code.EINVAL  # past the object
        assert errno_of(c.mmap, 12345, 10) == code.EINVAL  # not a GEM offset
        assert errno_of(other.mmap, int(off), 10) == code.EACCES  # no handle there


# -- unbind and modules ---------------------------------------------------------------

def test_unbind_with_a_client_open_fails_cleanly(toy: Any) -> None:
    _, aux = toy
    c = Client(card())
    h = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=4096).handle
    this = ToyDrm.THIS_MODULE
    assert this is not None and this.refcount() == 1  # the open file holds the module
    node = card()
    aux.close()  # the device unbinds under the client
    assert node not in drm.driver.nodes()
    assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info",
                    handle=h) == code.ENODEV
    assert errno_of(Client, node) == code.ENOENT
    c.close()  # still closes, releasing its handle and the module use
    assert this.refcount() == 0
