"""DRM ioctl numbers, permission flags, the ioctl table and its dispatcher.

Mirrors ``rust/kernel/drm/ioctl.rs``: :func:`IOWR` and friends build
numbers from the tree's uapi (``DRM_IOCTL_BASE``, ``_IOC_*``);
:func:`declare_drm_ioctls` builds a driver's table and checks, as the Rust
macro does at build time, that the commands are numbered consecutively
from ``DRM_COMMAND_BASE`` and that each argument struct's size equals
``_IOC_SIZE`` of its command. :func:`drm_ioctl` is the dispatcher of
``drivers/gpu/drm/drm_ioctl.c``: it looks the command up (core or
driver), checks the size and the caller's permissions
(``drm_ioctl_permit()``), copies the argument in, calls the handler inside
``drm_dev_enter()``/``drm_dev_exit()``, and copies it out. Handler errors
become negative errnos; a result that does not fit a C ``int`` becomes
``-ERANGE``.

Rust: rust/kernel/drm/ioctl.rs. C: include/drm/drm_ioctl.h,
drivers/gpu/drm/drm_ioctl.c, include/uapi/drm/drm.h
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code, syscall_exit_errno

if TYPE_CHECKING:
    from pyforlinux.drm.device import Device
    from pyforlinux.drm.file import File

log = logging.getLogger("pyforlinux.drm")

#: Permission flags (``enum drm_ioctl_flags``).
AUTH: int = lib.DRM_AUTH
MASTER: int = lib.DRM_MASTER
ROOT_ONLY: int = lib.DRM_ROOT_ONLY
RENDER_ALLOW: int = lib.DRM_RENDER_ALLOW

_IOC_READ: int = lib._IOC_READ
_IOC_WRITE: int = lib._IOC_WRITE

BASE: int = lib.DRM_IOCTL_BASE
COMMAND_BASE: int = lib.DRM_COMMAND_BASE
COMMAND_END: int = lib.DRM_COMMAND_END

_IOC_NRSHIFT, _IOC_TYPESHIFT, _IOC_SIZESHIFT, _IOC_DIRSHIFT = 0, 8, 16, 30
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


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
    """One table entry (``struct drm_ioctl_desc``).

    ``size`` and ``ptr_type`` (``sizeof`` and the cffi ``struct ... *``
    type of the argument) are derived from ``struct`` once, not per call.
    """

    cmd: int
    struct: str  # C type of the argument, e.g. "struct drm_nova_gem_create"
    flags: int
    func: Handler
    name: str
    size: int = field(init=False, repr=False, compare=False)
    ptr_type: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", ffi.sizeof(self.struct))
        object.__setattr__(self, "ptr_type", ffi.typeof(f"{self.struct} *"))


def declare_drm_ioctls(entries: Sequence[tuple[str, str, int, Handler]]) -> tuple[IoctlDesc, ...]:
    """Build a driver's ioctl table (``declare_drm_ioctls!``).

    Each entry is ``(NAME, struct_name, flags, handler)``: the command is
    the uapi's ``DRM_IOCTL_<NAME>`` and the argument ``struct <struct_name>``.

    Raises:
        Error: ``EINVAL`` if a command is unknown, out of sequence from
            ``DRM_COMMAND_BASE``, or if the struct's size differs from
            ``_IOC_SIZE`` of the command (the Rust macro's build-time asserts).
    """
    table = []
    expect = COMMAND_BASE
    for name, struct, flags, func in entries:
        cmd = getattr(lib, f"DRM_IOCTL_{name}", None)
        if cmd is None:
            raise Error(code.EINVAL, f"no DRM_IOCTL_{name} in the uapi")
        cmd = int(cmd) & 0xFFFFFFFF
        if ioc_nr(cmd) != expect:
            raise Error(code.EINVAL, f"DRM_IOCTL_{name} is number {ioc_nr(cmd):#x}, "
                                     f"expected {expect:#x}: ioctls must be consecutive")
        ctype = f"struct {struct}"
        if ffi.sizeof(ctype) != ioc_size(cmd):
            raise Error(code.EINVAL, f"sizeof({ctype}) = {ffi.sizeof(ctype)} but "
                                     f"_IOC_SIZE(DRM_IOCTL_{name}) = {ioc_size(cmd)}")
        table.append(IoctlDesc(cmd, ctype, flags, func, name))
        expect += 1
    return tuple(table)


def drm_ioctl_permit(flags: int, file: File[Any]) -> None:
    """``drm_ioctl_permit()``.

    Raises:
        Error: ``EACCES`` when the file may not issue an ioctl with ``flags``.
    """
    if flags & ROOT_ONLY and not file.cred.capable_sys_admin():
        raise Error(code.EACCES, "root-only ioctl")
    if flags & AUTH and not file.is_render_client() and not file.authenticated:
        raise Error(code.EACCES, "ioctl needs an authenticated client")
    if flags & MASTER and not file.is_master():
        raise Error(code.EACCES, "ioctl needs the DRM master")
    if not flags & RENDER_ALLOW and file.is_render_client():
        raise Error(code.EACCES, "ioctl not allowed on a render node")


def drm_ioctl(dev: Device[Any], file: File[Any], cmd: int, arg: bytearray) -> int:
    """Dispatch one ioctl; returns its (non-negative) result or ``-errno``.

    ``arg`` is the argument struct's bytes, exactly ``_IOC_SIZE(cmd)`` long;
    it is updated in place with what the handler wrote, for commands that
    read back (``_IOC_READ``).

    A handler's interruptible wait ended by a signal (``ERESTARTSYS`` and
    the other restart codes) reaches the caller as ``-EINTR``, with the
    signal consumed, as the kernel's syscall exit delivers it
    (:func:`pyforlinux.error.syscall_exit_errno`): 512 never reaches
    userspace.

    Thread context: any thread, no locks held; handlers may sleep.
    """
    try:
        return _drm_ioctl(dev, file, cmd, arg)
    except Error as e:
        return -syscall_exit_errno(-e.to_errno())


# _IOC_NR/_IOC_SIZE/_IOC_DIR decoded in Python, with the shifts _ioc() encodes
# with (asm-generic/ioctl.h); tests check they agree with the C macros.
_NR_MASK, _SIZE_MASK, _DIR_MASK = 0xFF, (1 << 14) - 1, 3


def _drm_ioctl(dev: Device[Any], file: File[Any], cmd: int, arg: bytearray) -> int:
    if not isinstance(cmd, int) or not 0 <= cmd <= 0xFFFFFFFF:
        raise Error(code.EINVAL, "ioctl command out of range")
    nr = (cmd >> _IOC_NRSHIFT) & _NR_MASK
    cmd_size = (cmd >> _IOC_SIZESHIFT) & _SIZE_MASK
    cmd_dir = (cmd >> _IOC_DIRSHIFT) & _DIR_MASK
    if (cmd >> _IOC_TYPESHIFT) & 0xFF != BASE:
        raise Error(code.ENOTTY, "not a DRM ioctl")
    if COMMAND_BASE <= nr < COMMAND_END:
        table = dev.driver_ioctls()
        i = nr - COMMAND_BASE
        desc = table[i] if i < len(table) else None
    else:
        desc = dev.core_ioctls().get(nr)
    if desc is None:
        raise Error(code.EINVAL, f"unknown ioctl {cmd:#x}")
    size = desc.size
    if cmd_size != size or len(arg) != size:
        raise Error(code.EINVAL, f"{desc.name}: argument of {len(arg)} bytes, "
                                 f"command size {cmd_size}, struct size {size}")
    drm_ioctl_permit(desc.flags, file)
    data = ffi.new(desc.ptr_type)
    if cmd_dir & _IOC_WRITE:
        ffi.memmove(data, arg, size)
    dev.stats.count(desc.name)
    with dev.enter():  # drm_dev_enter(): ENODEV once the device is unplugged
        try:
            ret = desc.func(dev, data, file)
        except Error as e:
            dev.stats.error(desc.name, e.errno or 0)
            raise
        except Exception:
            # A handler bug: report it, fail the ioctl, keep serving.
            log.exception("ioctl %s: handler raised", desc.name)
            dev.stats.error(desc.name, code.EIO)
            raise Error(code.EIO, f"{desc.name}: driver bug") from None
    if not isinstance(ret, int) or not INT_MIN <= ret <= INT_MAX:
        dev.stats.error(desc.name, code.ERANGE)
        raise Error(code.ERANGE, f"{desc.name} returned {ret!r}, not a C int")
    if cmd_dir & _IOC_READ:
        arg[:] = ffi.buffer(data, size)
    return ret
