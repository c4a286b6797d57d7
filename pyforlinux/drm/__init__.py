"""DRM: devices, drivers, files, GEM objects and ioctls.

Mirrors ``rust/kernel/drm``: :mod:`.device`, :mod:`.driver`, :mod:`.file`,
:mod:`.gem`, :mod:`.ioctl`; :mod:`.client` is the userspace side (what a
client process does: open a node, issue ioctl-encoded requests, mmap).

Rust: rust/kernel/drm/mod.rs
"""

from pyforlinux.drm.device import Device
from pyforlinux.drm.driver import Driver, DriverInfo, Registration
from pyforlinux.drm.file import DriverFile, File

__all__ = ["Device", "Driver", "DriverFile", "DriverInfo", "File", "Registration"]
