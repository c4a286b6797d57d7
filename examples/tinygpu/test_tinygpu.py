"""tinygpu's own tests: pytest, in-process, against the real kernel C."""

import pathlib

import pytest

from pyforlinux import drm, module, printk, uapi
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code

HERE = pathlib.Path(__file__).parent
UAPI = uapi.load(HERE / "include/uapi/drm/tinygpu_drm.h")


def test_create_until_full_and_read_the_log() -> None:
    mark = printk.next_seq()
    printk.set_drm_debug(printk.DRM_UT_DRIVER)  # drm.debug=0x2: drm_dbg() on
    module.load(str(HERE / "vdev.py"), ["mem_size=1M"])
    try:
        module.load(str(HERE / "tinygpu.py"))
        try:
            with Client(drm.driver.nodes()[0]) as c:
                g = c.call(UAPI.lib.DRM_IOCTL_TINYGPU_GEM_CREATE,
                           "struct drm_tinygpu_gem_create", size=5000)
                assert g.handle == 1
                with pytest.raises(Error) as e:  # more than the memory left
                    c.call(UAPI.lib.DRM_IOCTL_TINYGPU_GEM_CREATE,
                           "struct drm_tinygpu_gem_create", size=1 << 20)
                assert e.value.errno == code.ENOSPC
        finally:
            module.unload("tinygpu")
    finally:
        module.unload("TinyDev")
        printk.set_drm_debug(0)
    log = [r.text for r in printk.dmesg(mark)]
    assert any("created a 8192-byte object, handle 1" in line for line in log), log
