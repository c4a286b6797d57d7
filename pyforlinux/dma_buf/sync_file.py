"""sync_file: a fence handed to userspace as a file descriptor, over the
real ``drivers/dma-buf/sync_file.c``.

:func:`export` is what a driver's ioctl does with an out-fence
(``get_unused_fd_flags`` + ``sync_file_create`` + ``fd_install``): the new
fd is in the client's fd table (a :class:`~pyforlinux.uaccess.UserSpace`),
holds its own reference to the fence and serves the kernel's
``SYNC_IOC_*`` ioctls, ``poll`` and ``sync_file_get_fence()`` (which
``DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`` with ``IMPORT_SYNC_FILE`` uses).

Upstream Rust for Linux has no sync_file abstraction yet; the C API is
followed. C header: include/linux/sync_file.h
"""

from __future__ import annotations

from pyforlinux._bindings import lib
from pyforlinux.dma_buf.dma_fence import Fence
from pyforlinux.error import Error, code
from pyforlinux.uaccess import UserSpace

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
