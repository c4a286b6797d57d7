"""tinyrender: a small render driver -- buffer objects, a job queue, syncobjs
and PRIME -- driven by the in-process session and by a real libdrm program
(client.c).

Run it with ``pyforlinux run examples/tinyrender`` (or ``--exec --
build/tools/tinyrender-client`` for the C client). docs/render-driver.md
walks through it from the UAPI header to the C client.
"""

from pyforlinux.driver_package import DriverPackage

DRIVER = DriverPackage(
    name="tinyrender",
    modules=["engine", "tinyrender"],  # the stand-in engine first, then the driver
    uapi=["include/uapi/drm/tinyrender_drm.h"],
    session="session:run",
    scenarios=["pyforlinux.faultsweep:TinyRenderUnbind"],
    description="a tiny render engine: fill/copy jobs on a job queue, syncobjs, PRIME",
)
