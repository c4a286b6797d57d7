"""The DRM core: ioctl table checks, dispatch, permissions, GEM handles and
mmap, unplug -- with a toy driver that speaks Nova's UAPI numbers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import auxiliary, drm, faux, printk
from pyforlinux._bindings import ffi, lib
from pyforlinux.auxiliary import AuxDevice, DeviceId
from pyforlinux.cred import Credential
from pyforlinux.device import Core
from pyforlinux.drm import gem, ioctl
from pyforlinux.drm.client import Client, pack_struct, unpack_struct
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


IN_HANDLER, LET_GO = threading.Event(), threading.Event()


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
        if p.param == 4:
            p.value = 0xB4  # a side effect, then a forgotten 'return 0'
            return None  # type: ignore[return-value]
        if p.param == 5:  # a WAIT ioctl interrupted by a signal
            current().get().signal()
            Completion().wait_for_completion_interruptible()  # Error(ERESTARTSYS)
        if p.param == 6:  # a slow handler: says it runs, waits to be let go
            IN_HANDLER.set()
            assert LET_GO.wait(30)
            return 0
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
    INFO = drm.DriverInfo(1, 2, 3, "toy", "A toy DRM driver")
    DUMB_BUFFERS = True
    IOCTLS = ioctl.declare_drm_ioctls([
        ("NOVA_GETPARAM", "drm_nova_getparam", ioctl.RENDER_ALLOW, ToyFile.getparam),
        ("NOVA_GEM_CREATE", "drm_nova_gem_create", ioctl.AUTH | ioctl.RENDER_ALLOW,
         ToyFile.create),
        ("NOVA_GEM_INFO", "drm_nova_gem_info", ioctl.ROOT_ONLY | ioctl.RENDER_ALLOW,
         ToyFile.info),
    ])

    @staticmethod
    def dumb_create(file: Any, dev: Any, args: Any) -> None:
        pitch = (int(args.width) * int(args.bpp) + 7) // 8
        size = (pitch * int(args.height) + 4095) // 4096 * 4096
        with gem.Object.new(dev, size) as obj:
            args.handle = obj.deref().create_handle(file)
        args.pitch, args.size = pitch, size


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


# -- dispatch (the real drm_ioctl()) ------------------------------------------------

def test_version_copies_names_to_user_buffers(toy: Any) -> None:
    with Client(card()) as c:
        name, desc, date = c.mm.alloc(8), c.mm.alloc(3), c.mm.alloc(8)
        v = c.call(lib.DRM_IOCTL_VERSION, "struct drm_version",
                   name=name, name_len=8, desc=desc, desc_len=3, date=date, date_len=8)
        assert (v.version_major, v.version_minor, v.version_patchlevel) == (1, 2, 3)
        assert v.name_len == 3 and c.mm.read(name, 3) == b"toy"
        assert v.desc_len == len("A toy DRM driver") and c.mm.read(desc, 3) == b"A t"
        # 6.12 needs a date (NULL: drm_copy_field() WARNs; libdrm's strdup crashed
        # on the old imitation's empty one); "0" as the kernel reports since 6.14.
        assert v.date_len == 1 and c.mm.read(date, 1) == b"0"


def test_version_with_a_bad_user_pointer_is_efault(toy: Any) -> None:
    with Client(card()) as c:
        assert errno_of(c.call, lib.DRM_IOCTL_VERSION, "struct drm_version",
                        name=0xDEAD0000, name_len=16) == code.EFAULT


def test_core_ioctls_are_the_c_cores(toy: Any) -> None:
    with Client(card()) as c, Client(render()) as r:
        cap = (lib.DRM_IOCTL_GET_CAP, "struct drm_get_cap")
        assert c.call(*cap, capability=lib.DRM_CAP_PRIME).value == 3  # import | export
        assert c.call(*cap, capability=lib.DRM_CAP_SYNCOBJ).value == 0
        # Display caps of a driver without modesetting: EOPNOTSUPP (not EINVAL).
        assert errno_of(c.call, *cap, capability=lib.DRM_CAP_DUMB_BUFFER) == code.EOPNOTSUPP
        assert errno_of(c.call, lib.DRM_IOCTL_SET_CLIENT_CAP, "struct drm_set_client_cap",
                        capability=lib.DRM_CLIENT_CAP_ATOMIC, value=1) == code.EOPNOTSUPP
        # A KMS ioctl: EOPNOTSUPP on the primary node, EACCES on the render node.
        res = (lib.DRM_IOCTL_MODE_GETRESOURCES, "struct drm_mode_card_res")
        assert errno_of(c.call, *res) == code.EOPNOTSUPP
        assert errno_of(r.call, *res) == code.EACCES


def test_unknown_numbers_and_types(toy: Any) -> None:
    with Client(card()) as c:
        assert errno_of(c.ioctl, ioctl.IOWR(0x4F, "struct drm_nova_getparam"), bytes(16)) == \
            code.EINVAL  # past the driver's table
        assert errno_of(c.ioctl, ioctl.IOWR(0x30, "struct drm_nova_getparam"), bytes(16)) == \
            code.EINVAL  # a core number with no function
        assert errno_of(c.ioctl, ioctl.IOWR(0xFF, "struct drm_nova_getparam"), bytes(16)) == \
            code.EINVAL  # past the core table
        assert errno_of(c.ioctl, 0x1234, b"") == code.ENOTTY  # not a DRM ioctl


def test_sizes_and_directions_follow_the_command_not_the_struct(toy: Any) -> None:
    """drm_ioctl() copies _IOC_SIZE(cmd) bytes in and out, zero-fills up to the
    driver's size and ignores the rest; direction bits missing on either side
    skip that copy. Nothing is refused for its size."""
    cmd = lib.DRM_IOCTL_NOVA_GETPARAM
    resize = lambda n: (cmd & ~(0x3FFF << 16)) | (n << 16)  # noqa: E731
    with Client(card()) as c:
        # Long: 24 bytes, the 8 past the struct come back untouched.
        _, out = c.ioctl(resize(24), pack_struct("struct drm_nova_getparam", param=1) + b"x" * 8)
        assert unpack_struct("struct drm_nova_getparam", out).value == 0xB1
        assert out[16:] == b"x" * 8
        # Short: only param goes in; value is not copied out.
        _, out = c.ioctl(resize(8), (1).to_bytes(8, "little"))
        assert out == (1).to_bytes(8, "little")
        # Write-only: the handler ran (param=1), nothing is copied back.
        wo = cmd & ~(lib._IOC_READ << 30)
        _, out = c.ioctl(wo, pack_struct("struct drm_nova_getparam", param=1))
        assert unpack_struct("struct drm_nova_getparam", out).value == 0
        # No direction: the handler sees zeroes (param 0: EINVAL from the driver).
        none = cmd & ~(3 << 30)
        assert errno_of(c.ioctl, none, pack_struct("struct drm_nova_getparam", param=1)) == \
            code.EINVAL
        # The argument's bytes must all be the caller's memory.
        assert errno_of(c.ioctl, cmd, bytes(15)) == code.EFAULT
        assert errno_of(c.ioctl_ptr, cmd, 0xDEAD0000) == code.EFAULT
        assert errno_of(c.ioctl_ptr, cmd, 0) == code.EFAULT


def test_handler_errors_results_and_bugs(toy: Any) -> None:
    with Client(card()) as c:
        t = "struct drm_nova_getparam"
        assert c.call(lib.DRM_IOCTL_NOVA_GETPARAM, t, param=1).value == 0xB1
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=9) == code.EINVAL
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=2) == code.ERANGE
        mark = printk.next_seq()
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=3) == code.EIO
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=4) == code.EINVAL
        # ERESTARTSYS (512) never reaches userspace: EINTR, signal delivered.
        assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, t, param=5) == code.EINTR
        assert not current().signal_pending()
        stats = c.file.dev.stats
        assert stats.errors[("NOVA_GETPARAM", code.ERESTARTSYS)] == 1
        assert stats.calls["NOVA_GETPARAM"] == 6
        assert stats.errors[("NOVA_GETPARAM", code.EIO)] == 1
        assert stats.errors[("NOVA_GETPARAM", code.EINVAL)] == 2
        # Both driver bugs are in the kernel log, at KERN_ERR, with what the client got.
        logged = printk.dmesg(mark, max_level=printk.KERN_ERR)
        raised = next(r.seq for r in logged if "the handler raised RuntimeError: driver bug; "
                      "the client got EIO" in r.text and "ioctl NOVA_GETPARAM" in r.text)
        tb = [r.text for r in printk.dmesg(raised + 1)]
        assert tb[0] == "Traceback (most recent call last):"
        assert any('raise RuntimeError("driver bug")' in line for line in tb)
        assert any("ioctl NOVA_GETPARAM: the handler returned None, not an int (a missing "
                   "'return 0'?)" in r.text and r.text.endswith("the client got EINVAL")
                   for r in logged)


def test_permissions(toy: Any) -> None:
    root = Credential.new(0)
    user = Credential.new(1000)
    with Client(card(), cred=user) as master, Client(card(), cred=user) as second, \
            Client(render(), cred=user) as rnd, Client(render(), cred=root) as rnd_root:
        assert master.file.is_master() and not second.file.is_master()
        create = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
        assert master.call(*create, size=4096).handle == 1  # master: authenticated
        assert errno_of(second.call, *create, size=4096) == code.EACCES  # AUTH
        h = rnd.call(*create, size=4096).handle  # render clients may
        # ROOT_ONLY checks the caller's credential (capable(CAP_SYS_ADMIN)).
        info = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
        assert errno_of(rnd.call, *info, handle=h) == code.EACCES
        assert errno_of(rnd_root.call, *info, handle=h) == code.ENOENT  # not its handle
        # MODE_MAP_DUMB has no RENDER_ALLOW.
        assert errno_of(rnd.call, lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb",
                        handle=h) == code.EACCES
        # AUTH_MAGIC is master-only; the master authenticates the second client.
        magic = second.call(lib.DRM_IOCTL_GET_MAGIC, "struct drm_auth").magic
        assert errno_of(second.call, lib.DRM_IOCTL_AUTH_MAGIC, "struct drm_auth",
                        magic=magic) == code.EACCES
        master.call(lib.DRM_IOCTL_AUTH_MAGIC, "struct drm_auth", magic=magic)
        assert second.file.authenticated()
        assert second.call(*create, size=4096).handle == 1


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
        assert [int(c.call(*info, handle=h).size) for h in (1, 2, 3)] == [4096, 4096, 12288]
        dev = c.file.dev
        assert sorted(o.handle_count for o in dev.gem_objects.values()) == [1, 1, 1]
    # close() released the three handles: the objects are gone.
    assert not dev.gem_objects


def test_gem_object_refcount_is_the_c_kref(toy: Any) -> None:
    with Client(card()) as c:
        h = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create",
                   size=4096).handle
        with gem.Object.lookup_handle(c.file, int(h)) as ref:
            obj = ref.deref()
            assert obj.refcount() == 2  # the handle's and ours
            assert obj.handle_count == 1
            gem.handle_delete(c.file, int(h))
            assert obj.refcount() == 1 and obj.handle_count == 0
            assert errno_of(gem.handle_delete, c.file, int(h)) == code.EINVAL
        assert errno_of(obj.size) == code.EINVAL  # freed: the wrapper refuses


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
        assert errno_of(c.mmap, int(off) + 4096, 10) == code.EINVAL  # not the object's start
        assert errno_of(c.mmap, 12345, 10) == code.EINVAL  # unaligned
        assert errno_of(c.mmap, 1 << 40, 10) == code.EINVAL  # no object there
        assert errno_of(other.mmap, int(off), 10) == code.EACCES  # no handle there


def test_a_mapping_keeps_its_object_after_gem_close_and_file_close(toy: Any) -> None:
    c = Client(card())
    h = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=4096).handle
    off = c.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb", handle=h).offset
    m = c.mmap(int(off), 4096)
    m.write(0, b"still here")
    c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
    c.close()
    dev = m.obj.dev
    assert m.read(0, 10) == b"still here" and len(dev.gem_objects) == 1
    m.close()  # vm_close: the object's last reference; fput: the file's release
    assert not dev.gem_objects


def test_dumb_buffers(toy: Any) -> None:
    with Client(card()) as c:
        d = c.call(lib.DRM_IOCTL_MODE_CREATE_DUMB, "struct drm_mode_create_dumb",
                   width=100, height=10, bpp=32)
        assert (d.pitch, d.size, d.handle) == (400, 4096, 1)
        assert errno_of(c.call, lib.DRM_IOCTL_MODE_CREATE_DUMB, "struct drm_mode_create_dumb",
                        width=0, height=10, bpp=32) == code.EINVAL  # checked by the core


# -- unbind and modules ---------------------------------------------------------------

def test_unbind_with_a_client_open_fails_cleanly(toy: Any) -> None:
    _, aux = toy
    c = Client(card())
    h = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=4096).handle
    this = ToyDrm.THIS_MODULE
    assert this is not None and this.refcount() == 1  # the open file holds the module
    node = card()
    aux.close()  # the device unbinds under the client: drm_dev_unplug()
    assert node not in drm.driver.nodes()
    assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info",
                    handle=h) == code.ENODEV
    assert errno_of(c.call, lib.DRM_IOCTL_VERSION, "struct drm_version") == code.ENODEV
    assert errno_of(Client, node) == code.ENODEV  # drm_minor_acquire(): unplugged
    c.close()  # still closes, releasing its handle and the module use
    assert this.refcount() == 0


def test_unplug_waits_for_a_handler_in_flight(toy: Any) -> None:
    # The C trampoline runs the handler inside drm_dev_enter(): the unplug's
    # SRCU grace period cannot end before the handler returns.
    IN_HANDLER.clear()
    LET_GO.clear()
    c = Client(card())
    dev = c.file.dev
    done: list[str] = []
    ioctl_thread = threading.Thread(target=lambda: done.append(hex(c.call(
        lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam", param=6).value)))
    ioctl_thread.start()
    assert IN_HANDLER.wait(30)
    # Which thread appends first after the handler returns is a race; what
    # matters is that the unplug ended only after the handler was let go.
    unplug = threading.Thread(target=lambda: (dev.unplug(), done.append(
        f"unplugged, handler let go: {LET_GO.is_set()}")))
    unplug.start()
    unplug.join(0.5)
    assert unplug.is_alive() and done == []  # waiting for the handler
    LET_GO.set()
    ioctl_thread.join(30)
    unplug.join(30)
    assert sorted(done) == ["0x0", "unplugged, handler let go: True"]
    assert errno_of(c.call, lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam",
                    param=1) == code.ENODEV
    c.close()


def test_open_of_a_node_nobody_has(toy: Any) -> None:
    assert errno_of(Client, "/dev/dri/card63") == code.ENODEV
    assert errno_of(Client, "/dev/dri/nonsense") == code.ENOENT


# -- the device over struct drm_device --------------------------------------------------

class Data:
    closed = 0

    def close(self) -> None:
        Data.closed += 1


def test_device_refcount_is_drm_dev_get_put_and_release_drops_the_data() -> None:
    parent = faux.Registration("toy-refs")
    try:
        Data.closed = 0
        dev = drm.Device.new(ToyDrm, parent.as_bound(), Data())
        d = dev.deref()
        assert d.refcount() == 1
        extra = dev.clone()
        assert d.refcount() == 2
        extra.close()
        reg = drm.Registration(d)
        assert d.refcount() == 2 and reg.device() is d and d.nodes
        assert errno_of(drm.Registration, d) == code.EBUSY  # registered already
        reg.close()
        assert errno_of(drm.Registration, d) == code.EBUSY  # unplugged: never again
        assert Data.closed == 0
        dev.close()  # the last reference: drm_driver.release drops the data
        assert Data.closed == 1
        assert errno_of(d.as_raw) == code.ENODEV
        assert errno_of(d.inc_ref) == code.ENODEV
    finally:
        parent.close()


def test_enter_refuses_an_unplugged_device() -> None:
    parent = faux.Registration("toy-enter")
    try:
        with drm.Device.new(ToyDrm, parent.as_bound(), None) as dev:
            reg = drm.Registration(dev.deref())
            with dev.deref().enter():
                pass
            reg.close()
            with pytest.raises(Error) as e, dev.deref().enter():
                pass
            assert e.value.errno == code.ENODEV
    finally:
        parent.close()


# -- issue 17: the one-call client ioctl, hooks skipped only when defaulted ------------

GETPARAM = (lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam")


def test_client_ioctl_in_one_call_keeps_its_errors(toy: Any) -> None:
    from pyforlinux.uaccess import UserSpace

    with Client(card()) as c:
        arg = pack_struct(*GETPARAM[1:], param=1)
        ret, out = c.ioctl(GETPARAM[0], arg)
        assert ret == 0 and unpack_struct(GETPARAM[1], out).value == 0xB1
        assert len(out) == len(arg)
        # The argument converted first: not an int / not bytes is EINVAL.
        assert errno_of(c.ioctl, "cmd", arg) == code.EINVAL
        assert errno_of(c.ioctl, GETPARAM[0], "not bytes") == code.EINVAL
        assert errno_of(c.ioctl, 1 << 64, arg) == code.EINVAL
        # bytearray and memoryview are bytes-like: their real bytes go in.
        assert c.ioctl(GETPARAM[0], bytearray(arg))[1] == out
        assert c.ioctl(GETPARAM[0], memoryview(arg))[1] == out
        # The staged argument counts against the address space's limit while
        # the call runs, and only then.
        c.mm = UserSpace(limit=8192)
        held = c.mm.alloc(8192)
        assert errno_of(c.ioctl, GETPARAM[0], arg) == code.ENOMEM
        c.mm.free(held)
        assert c.ioctl(GETPARAM[0], arg)[1] == out
        assert c.mm.free(c.mm.alloc(8192)) is None  # the ioctl's mapping is gone
        # A closed address space, a closed file: EBADF, nothing made.
        c.mm.close()
        assert errno_of(c.ioctl, GETPARAM[0], arg) == code.EBADF
        assert errno_of(c.ioctl_ptr, GETPARAM[0], 0) == code.EBADF
        c.mm = UserSpace()
        c.fd.close()
        assert errno_of(c.ioctl, GETPARAM[0], arg) == code.EBADF
        assert c.fd.ioctl(GETPARAM[0], 0) == -code.EBADF


def test_client_ioctl_runs_as_the_clients_task(toy: Any) -> None:
    seen: list[tuple[Any, Any]] = []
    orig = ToyFile.getparam

    def spy(dev: Any, p: Any, file: Any) -> int:
        seen.append((lib.pfl_current_mm(), lib.pfl_set_current_cred(ffi.NULL)))
        lib.pfl_set_current_cred(seen[-1][1])
        return orig(dev, p, file)

    before = (lib.pfl_current_mm(), lib.pfl_set_current_cred(ffi.NULL))
    lib.pfl_set_current_cred(before[1])
    desc = ToyDrm.IOCTLS[0]
    object.__setattr__(desc, "func", spy)
    try:
        with Client(card(), cred=Credential.new(1234)) as c:
            c.ioctl(GETPARAM[0], pack_struct(*GETPARAM[1:], param=1))
            assert seen[-1] == (c.mm.c_mm, Credential.new(1234).as_raw())
            # A raw user address (may be bad): EFAULT from the real copy-in.
            assert errno_of(c.ioctl_ptr, GETPARAM[0], 8) == code.EFAULT
            addr = c.mm.alloc(16)
            c.mm.write(addr, pack_struct(*GETPARAM[1:], param=1))
            assert c.ioctl_ptr(GETPARAM[0], addr) == 0
            assert seen[-1] == (c.mm.c_mm, Credential.new(1234).as_raw())
            assert unpack_struct(GETPARAM[1], c.mm.read(addr, 16)).value == 0xB1
    finally:
        object.__setattr__(desc, "func", orig)
    # Restored after each call.
    assert (lib.pfl_current_mm(), lib.pfl_set_current_cred(ffi.NULL)) == before
    lib.pfl_set_current_cred(before[1])


@pytest.fixture
def hooked_toy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The toy driver whose objects have their own open()/close() (set before
    the device is made: its GEM funcs are read then)."""
    calls: list[tuple[str, Any, Any]] = []
    refuse: list[int] = []

    def open_(self: Any, obj: Any, file: Any) -> None:
        calls.append(("open", obj, file))
        if refuse:
            raise Error(refuse[0])

    def close_(self: Any, obj: Any, file: Any) -> None:
        calls.append(("close", obj, file))

    monkeypatch.setattr(ToyObject, "open", open_, raising=False)
    monkeypatch.setattr(ToyObject, "close", close_, raising=False)
    request.getfixturevalue("toy")
    return calls, refuse


def test_gem_open_and_close_hooks_are_called_when_the_driver_has_them(hooked_toy: Any) -> None:
    calls, refuse = hooked_toy
    create = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
    with Client(card()) as c:
        h = c.call(*create, size=4096).handle
        assert [(k, f) for k, _, f in calls] == [("open", c.file)]
        obj = calls[0][1]
        assert isinstance(obj, gem.Object) and obj.handle_count == 1
        c.ioctl(lib.DRM_IOCTL_GEM_CLOSE, pack_struct("struct drm_gem_close", handle=h))
        assert [(k, o, f) for k, o, f in calls[1:]] == [("close", obj, c.file)]
        # An open() that raises refuses the handle with its errno.
        refuse.append(code.ENOSPC)
        assert errno_of(c.call, *create, size=4096) == code.ENOSPC
        assert calls[-1][0] == "open"
        assert not any(o.handle_count for o in list(gem._objects.values()))


def test_gem_without_hooks_skips_them_and_keeps_handles(toy: Any) -> None:
    create = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
    assert "open" not in vars(ToyObject) and "close" not in vars(ToyObject)
    with Client(card(), cred=Credential.new(0)) as c:  # GEM_INFO is ROOT_ONLY
        h = c.call(*create, size=8192).handle
        info = c.call(lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info", handle=h)
        assert info.size == 8192
        c.ioctl(lib.DRM_IOCTL_GEM_CLOSE, pack_struct("struct drm_gem_close", handle=h))
        assert errno_of(c.ioctl, lib.DRM_IOCTL_GEM_CLOSE,
                        pack_struct("struct drm_gem_close", handle=h)) == code.EINVAL


def test_lock_free_lookups_keep_their_errors(toy: Any) -> None:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

    bogus = ffi.cast("void *", 0x1000)
    assert errno_of(Device.from_raw, bogus) == code.ENODEV
    assert errno_of(File.from_raw, bogus) == code.EBADF
    assert errno_of(gem.Object.from_raw, bogus) == code.EINVAL
    with Client(card()) as c:
        assert File.from_raw(c.file.as_raw()) is c.file
        assert Device.from_raw(lib.pfl_drm_file_device(c.file.as_raw())) is c.file.dev
