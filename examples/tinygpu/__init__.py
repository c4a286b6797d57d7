"""tinygpu: a small DRM driver written outside pyforlinux.

Run it with ``pyforlinux run path/to/tinygpu`` (this directory, anywhere).
"""

from pyforlinux.driver_package import DriverPackage

DRIVER = DriverPackage(
    name="tinygpu",
    modules=["vdev", "tinygpu"],  # the stand-in device first, then the driver
    uapi=["include/uapi/drm/tinygpu_drm.h"],
    session="session:run",
    description="a tiny GPU: device memory from the kernel's buddy allocator",
)
