"""DRM: devices, drivers, files, GEM objects and ioctls.

Mirrors ``rust/kernel/drm``: :mod:`.device`, :mod:`.driver`, :mod:`.file`,
:mod:`.gem` (with :mod:`.gem.shmem`), :mod:`.ioctl` -- each a thin safe
layer over the unmodified C DRM core of Linux 6.12 (drivers/gpu/drm:
drm_drv, drm_file, drm_ioctl, drm_gem, drm_vma_manager, drm_mm, drm_auth,
drm_gem_shmem_helper...), with only the driver's callbacks in Python;
:mod:`.exec` (drm_exec) and :mod:`.syncobj` follow the C where upstream
Rust has nothing yet; :mod:`.client` is the userspace side (what a client
process does: open a node, issue ioctls, mmap).

Rust: rust/kernel/drm/mod.rs
"""

from pyforlinux.drm import gem, ioctl  # noqa: F401  (their C callbacks must be defined)
from pyforlinux.drm.device import Device
from pyforlinux.drm.driver import Driver, DriverInfo, Registration
from pyforlinux.drm.file import DriverFile, File

__all__ = ["Device", "Driver", "DriverFile", "DriverInfo", "File", "Registration"]
