"""sync_file: a fence handed to userspace as a file descriptor, over the
real ``drivers/dma-buf/sync_file.c``.

:func:`export` is what a driver's ioctl does with an out-fence
(``get_unused_fd_flags`` + ``sync_file_create`` + ``fd_install``): the new
fd is in the client's fd table (a :class:`~pyforlinux.uaccess.UserSpace`),
holds its own reference to the fence and serves the kernel's
``SYNC_IOC_*`` ioctls, ``poll`` and ``sync_file_get_fence()`` (which
``DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`` with ``IMPORT_SYNC_FILE`` uses).
:func:`get_fence` is the import a driver's ioctl does with an in-fence fd
(``sync_file_get_fence``): the fence behind a client's sync_file fd.

Upstream Rust for Linux has no sync_file abstraction yet; the C API is
followed. C header: include/linux/sync_file.h
"""

from __future__ import annotations

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import arg_int
from pyforlinux.dma_buf.dma_fence import Fence
from pyforlinux.error import Error, code
from pyforlinux.sync.aref import ARef
from pyforlinux.uaccess import ProcessMemory, UserSpace

O_CLOEXEC = 0o2000000
"""``O_CLOEXEC`` (the kernel's value)."""


def export(fence: Fence, space: UserSpace, cloexec: bool = True) -> int:
    """Install a new sync_file for ``fence`` as a file descriptor of ``space``.

    Args:
        fence: the fence (the sync_file takes its own reference).
        space: the client whose fd table gets the fd.
        cloexec: ``O_CLOEXEC`` on the fd.

    Returns:
        The fd (``int``, >= 0), closed by the client (``close_fd``) or with
        its address space.

    Raises:
        Error: ``EMFILE`` when the client's fd table is full; ``ENOMEM``;
            ``EINVAL`` for a fence with no reference left or arguments of
            the wrong type.

    Thread context: process context (allocates with ``GFP_KERNEL``).
    C header: include/linux/sync_file.h (``sync_file_create``).
    """
    if not isinstance(fence, Fence):
        raise Error(code.EINVAL, f"export() takes a Fence, not {fence!r}")
    if not isinstance(space, UserSpace):
        raise Error(code.EINVAL, f"export() needs a UserSpace, not {space!r}")
    flags = O_CLOEXEC if cloexec else 0
    raw = fence._pin("export as a sync_file")
    try:
        with space.use():
            fd = int(lib.pfl_sync_file_export(raw, flags))
    finally:
        Fence._unpin(raw)
    if fd < 0:
        raise Error(-fd)
    return fd


def get_fence(fd: int, space: UserSpace | ProcessMemory) -> ARef[Fence]:
    """The fence of the sync_file at ``fd`` of ``space``'s fd table
    (``sync_file_get_fence()``): a new reference, which the caller owns
    (``ARef.close()`` drops it). The fence may be one this process made
    (a :class:`~pyforlinux.dma_buf.dma_fence.DriverFence`'s) or any C fence
    (a merge's ``dma_fence_array``); its context, seqno and names are the C
    fence's.

    Args:
        fd: the client's descriptor (``int``).
        space: the client (a :class:`~pyforlinux.uaccess.UserSpace`, or the
            :class:`~pyforlinux.uaccess.ProcessMemory` of a bridge client).

    Raises:
        Error: ``EINVAL`` if ``fd`` is not open, not a sync_file, not an
            integer, or ``space`` is not a client -- what the kernel's
            callers answer for a NULL ``sync_file_get_fence()``.

    Thread context: any; takes no sleeping lock.
    C header: include/linux/sync_file.h (``sync_file_get_fence``).
    """
    fd = arg_int(fd, "sync_file fd", -(1 << 31), (1 << 31) - 1)
    if not isinstance(space, (UserSpace, ProcessMemory)):
        raise Error(code.EINVAL, f"get_fence() needs a UserSpace, not {space!r}")
    with space.use():
        raw = lib.sync_file_get_fence(fd)
    if raw == ffi.NULL:
        raise Error(code.EINVAL, f"fd {fd} is not a sync_file")
    # SAFETY: sync_file_get_fence() returned a reference that is ours to adopt.
    return Fence.from_c_ref(raw)
