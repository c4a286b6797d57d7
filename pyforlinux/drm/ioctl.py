"""DRM ioctl numbers, permission flags and a driver's ioctl table.

Mirrors ``rust/kernel/drm/ioctl.rs``: :func:`IOWR` and friends build
numbers from the tree's uapi (``DRM_IOCTL_BASE``, ``_IOC_*``);
:func:`declare_drm_ioctls` builds a driver's table and checks, as the Rust
macro does at build time, that the commands are numbered consecutively
from ``DRM_COMMAND_BASE`` and that each argument struct's size equals
``_IOC_SIZE`` of its command.

The table becomes the driver's C ``struct drm_ioctl_desc[]`` (built by
:mod:`pyforlinux.drm.driver`), whose ``.func`` are C trampolines
(``csrc/helpers/drm_driver.c``) into :func:`_call_handler`. Decoding,
size handling (short arguments zero-filled, long ones truncated), the
permission check (``drm_ioctl_permit()``), copying from and to user
memory and the core ioctls are the real ``drm_ioctl()`` of
drivers/gpu/drm/drm_ioctl.c: nothing of it is in Python.

A handler is ``fn(dev, data, file) -> int`` (``data`` the cffi struct,
``file`` the :class:`~pyforlinux.drm.file.File`). What the C receives:

* a non-negative ``int`` up to ``INT_MAX``: that result;
* a larger ``int``: ``-ERANGE`` (the Rust macro's ``try_into()``);
* an :class:`~pyforlinux.error.Error` (or ``OSError``) raised: its errno;
* any other exception: ``-EIO``, logged to dmesg with its traceback and the
  errno the client got (:func:`pyforlinux.printk.report_ioctl_bug`);
* ``None`` (a forgotten ``return 0``), a negative ``int`` or anything not an
  ``int``: ``-EINVAL``, logged to dmesg as a driver bug (Rust's
  ``Result<u32>`` cannot express these).

A driver's own UAPI (:func:`pyforlinux.uapi.load`) supplies its numbers and
structs: ``declare_drm_ioctls(entries, uapi=...)``.

Rust: rust/kernel/drm/ioctl.rs. C: include/drm/drm_ioctl.h,
drivers/gpu/drm/drm_ioctl.c, include/uapi/drm/drm.h
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux.drm.device import Device
from pyforlinux.drm.file import File
from pyforlinux.error import Error, code
from pyforlinux.printk import report_ioctl_bug

log = logging.getLogger("pyforlinux.drm")

#: Permission flags (``enum drm_ioctl_flags``).
AUTH: int = lib.DRM_AUTH
MASTER: int = lib.DRM_MASTER
ROOT_ONLY: int = lib.DRM_ROOT_ONLY
RENDER_ALLOW: int = lib.DRM_RENDER_ALLOW

BASE: int = lib.DRM_IOCTL_BASE
COMMAND_BASE: int = lib.DRM_COMMAND_BASE
COMMAND_END: int = lib.DRM_COMMAND_END

_IOC_NRSHIFT, _IOC_TYPESHIFT, _IOC_SIZESHIFT, _IOC_DIRSHIFT = 0, 8, 16, 30
INT_MAX = 2**31 - 1


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << _IOC_DIRSHIFT) | (BASE << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) | (
        size << _IOC_SIZESHIFT
    )


def IO(nr: int) -> int:
    """A DRM ioctl number with no argument (``DRM_IO``)."""
    return _ioc(lib._IOC_NONE, nr, 0)


def IOR(nr: int, struct: str) -> int:
    """A DRM ioctl number whose ``struct`` argument is read by userspace (``DRM_IOR``)."""
    return _ioc(lib._IOC_READ, nr, ffi.sizeof(struct))


def IOW(nr: int, struct: str) -> int:
    """A DRM ioctl number whose ``struct`` argument is written by userspace (``DRM_IOW``)."""
    return _ioc(lib._IOC_WRITE, nr, ffi.sizeof(struct))


def IOWR(nr: int, struct: str) -> int:
    """A DRM ioctl number with a read-write ``struct`` argument (``DRM_IOWR``)."""
    return _ioc(lib._IOC_READ | lib._IOC_WRITE, nr, ffi.sizeof(struct))


def ioc_nr(cmd: int) -> int:
    """``_IOC_NR(cmd)``."""
    return int(lib._IOC_NR(cmd & 0xFFFFFFFF))


def ioc_size(cmd: int) -> int:
    """``_IOC_SIZE(cmd)``, bytes."""
    return int(lib._IOC_SIZE(cmd & 0xFFFFFFFF))


def ioc_dir(cmd: int) -> int:
    """``_IOC_DIR(cmd)``."""
    return int(lib._IOC_DIR(cmd & 0xFFFFFFFF))


#: A handler: ``fn(dev, data, file) -> int`` with ``data`` the cffi struct.
Handler = Callable[[Any, Any, Any], int]


@dataclass(frozen=True)
class IoctlDesc:
    """One table entry (``struct drm_ioctl_desc``, ``DrmIoctlDescriptor``).

    ``ptr_type`` (the cffi ``struct ... *`` of the argument) is derived from
    ``struct`` once, not per call.
    """

    cmd: int
    struct: str  # C type of the argument, e.g. "struct drm_nova_gem_create"
    flags: int
    func: Handler
    name: str
    types: Any = field(default=ffi, repr=False, compare=False)
    """The cffi ``FFI`` that knows ``struct``: the project's, or a driver's
    UAPI (:attr:`pyforlinux.uapi.Uapi.ffi`, which includes the project's)."""
    size: int = field(init=False, repr=False, compare=False)
    ptr_type: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", self.types.sizeof(self.struct))
        object.__setattr__(self, "ptr_type", self.types.typeof(f"{self.struct} *"))


def declare_drm_ioctls(entries: Sequence[tuple[str, str, int, Handler]],
                       uapi: Any = None) -> tuple[IoctlDesc, ...]:
    """Build a driver's ioctl table (``declare_drm_ioctls!``).

    Each entry is ``(NAME, struct_name, flags, handler)``: the command is
    the uapi's ``DRM_IOCTL_<NAME>`` and the argument ``struct <struct_name>``.
    ``uapi`` is the driver's own UAPI header, compiled
    (:func:`pyforlinux.uapi.load`): its numbers and structs are looked up
    first, then the project's (``include/uapi/drm``).

    Raises:
        Error: ``EINVAL`` if a command is unknown, in the DRM core's number
            range, out of sequence from ``DRM_COMMAND_BASE``, if a struct is
            unknown, or if the struct's size differs from ``_IOC_SIZE`` of
            the command (the Rust macro's build-time asserts).
    """
    types = ffi if uapi is None else uapi.ffi
    where = "the uapi" if uapi is None else str(uapi.header)
    table = []
    expect = COMMAND_BASE
    for name, struct, flags, func in entries:
        cmd = None if uapi is None else getattr(uapi.lib, f"DRM_IOCTL_{name}", None)
        if cmd is None:
            cmd = getattr(lib, f"DRM_IOCTL_{name}", None)
        if cmd is None:
            raise Error(code.EINVAL, f"no DRM_IOCTL_{name} in {where}")
        cmd = int(cmd) & 0xFFFFFFFF
        if not COMMAND_BASE <= ioc_nr(cmd) < COMMAND_END:
            raise Error(code.EINVAL, f"DRM_IOCTL_{name} is number {ioc_nr(cmd):#04x}, in the "
                                     f"DRM core's range: driver ioctls are DRM_COMMAND_BASE "
                                     f"({COMMAND_BASE:#x}) + n")
        if ioc_nr(cmd) != expect or expect >= COMMAND_END:
            raise Error(code.EINVAL, f"DRM_IOCTL_{name} is number {ioc_nr(cmd):#x}, "
                                     f"expected {expect:#x}: ioctls must be consecutive")
        ctype = f"struct {struct}"
        try:
            size = types.sizeof(ctype)
        except (types.error, TypeError):
            raise Error(code.EINVAL, f"DRM_IOCTL_{name}: no {ctype} in {where}") from None
        if size != ioc_size(cmd):
            raise Error(code.EINVAL, f"sizeof({ctype}) = {size} but "
                                     f"_IOC_SIZE(DRM_IOCTL_{name}) = {ioc_size(cmd)}")
        table.append(IoctlDesc(cmd, ctype, flags, func, name, types))
        expect += 1
    return tuple(table)


def _call_handler(desc: IoctlDesc, dev: Device[Any], data: Any, file: File[Any]) -> int:
    """Run one handler for the C trampoline; the C return value (see the
    module documentation). Never raises.

    Thread context: the ioctl's caller, inside ``drm_ioctl()`` (no DRM
    locks held) and inside ``drm_dev_enter()``, which the C trampoline
    took (``ENODEV`` once the device is unplugged, without calling here:
    ``drm_dev_unplug()`` waits for handlers in flight).
    """
    dev.stats.count(desc.name)
    try:
        ret = desc.func(dev, desc.types.cast(desc.ptr_type, data), file)
    except Error as e:
        errno = e.errno or code.EINVAL
        log.debug("ioctl %s: %s", desc.name, e)
        dev.stats.error(desc.name, errno)
        return -errno
    except OSError as e:
        errno = e.errno or code.EIO
        log.debug("ioctl %s: %s", desc.name, e)
        dev.stats.error(desc.name, errno)
        return -errno
    except Exception as e:
        # A handler bug: report it (dmesg, with the traceback), fail the
        # ioctl, keep serving.
        report_ioctl_bug(dev, desc.name, code.EIO, exc=e)
        dev.stats.error(desc.name, code.EIO)
        return -code.EIO
    if type(ret) is not int or ret < 0:
        report_ioctl_bug(dev, desc.name, code.EINVAL, result=ret)
        dev.stats.error(desc.name, code.EINVAL)
        return -code.EINVAL
    if ret > INT_MAX:
        report_ioctl_bug(dev, desc.name, code.ERANGE, result=ret)
        dev.stats.error(desc.name, code.ERANGE)
        return -code.ERANGE
    return ret


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_drm_py_ioctl(index: int, raw_dev: Any, data: Any, raw_file: Any) -> int:
    """The C trampolines' target: driver ioctl ``DRM_COMMAND_BASE + index``
    of the device ``raw_dev``, for the file ``raw_file`` (``declare_drm_ioctls!``'s
    generated ``extern "C" fn``). ``drm_ioctl()`` has decoded the number,
    checked the permissions and copied the argument into ``data``; the
    trampoline has entered the device (``drm_dev_enter()``)."""
    try:
        dev = Device.from_raw(raw_dev)
        file = File.from_raw(raw_file)
        desc = dev.driver.IOCTLS[index]
    except (Error, IndexError) as e:
        log.error("ioctl trampoline %d: %s", index, e)
        return -code.EINVAL
    return _call_handler(desc, dev, data, file)

