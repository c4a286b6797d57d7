"""Nova end to end: the main job, the UAPI, and every bad input of issue 6."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from pyforlinux import alloc, drm, module, run
from pyforlinux._bindings import lib
from pyforlinux.drivers import nova_core
from pyforlinux.drm.client import Client
from pyforlinux.drm.ioctl import IOWR
from pyforlinux.error import Error, code

CREATE = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
INFO = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
GETPARAM = (lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam")
MAP = (lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb")


def errno_of(fn, *args, **kw) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(Error) as e:
        fn(*args, **kw)
    return int(e.value.errno or 0)


@pytest.fixture
def nova() -> Iterator[None]:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=64M", "bar1_size=32M"])
    module.load("pyforlinux.drivers.nova")
    yield
    for m in reversed(module.loaded()):
        module.unload(m.name)


def card() -> str:
    return next(n for n in drm.driver.nodes() if "card" in n)


def test_the_main_job_serves_a_session_and_leaves_nothing_behind() -> None:
    out = io.StringIO()
    assert run.run("nova", ["vram_size=128M"], out=out) == 0
    text = out.getvalue()
    assert "client: VERSION -> nova 0.0.0 (Nvidia Graphics)" in text
    assert "GETPARAM(VRAM_BAR_SIZE) -> 256.00 MiB" in text
    assert "VRAM: 128.00 MiB total" in text
    assert text.count("wrote and read back") == len(run.SIZES)
    assert "MISMATCH" not in text
    # The real processes: the libdrm client and drmdevice, through the bridge ...
    assert "client(C): mmap at 0x" in text and "read back: ok" in text
    assert "drmdevice: Devices reported 1" in text
    assert "drmdevice: nodes[2] /dev/dri/renderD128" in text
    # ... and the PRIME client through the launcher: a dma-buf between two processes.
    assert "prime(importer): after the exporter closed: wrote, read back ok" in text
    assert "prime: ok" in text
    assert "NOVA_GEM_CREATE    7 call(s), no errors" in text  # 5 in-process + 2 real
    assert text.rstrip().endswith("live kernel objects after unload: 0")
    assert module.loaded() == []


def test_unknown_target_and_bad_parameter() -> None:
    out = io.StringIO()
    with pytest.raises(Error) as e:  # resolved as a driver package: none by that name
        run.run("nouveau", [], out=out)
    assert e.value.errno == code.ENOENT and "no such driver package" in str(e.value)
    with pytest.raises(Error) as e:
        run.run("nova", ["vram_size=lots"], out=out)
    assert e.value.errno == code.EINVAL
    assert module.loaded() == []


def test_getparam_answers_the_bar1_size(nova: None) -> None:
    with Client(card()) as c:
        assert c.call(*GETPARAM, param=lib.NOVA_GETPARAM_VRAM_BAR_SIZE).value == 32 << 20
        assert errno_of(c.call, *GETPARAM, param=2) == code.EINVAL


def test_gem_sizes(nova: None) -> None:
    with Client(card()) as c:
        h = c.call(*CREATE, size=1).handle
        assert c.call(*INFO, handle=h).size == 4096
        assert errno_of(c.call, *CREATE, size=0) == code.EINVAL
        assert errno_of(c.call, *CREATE, size=2**64 - 1) == code.EINVAL  # overflows when rounded
        # More than all VRAM: the buddy allocator's EINVAL; more than what is
        # left: its ENOSPC.
        assert errno_of(c.call, *CREATE, size=1 << 40) == code.EINVAL
        big = c.call(*CREATE, size=40 << 20).handle
        assert errno_of(c.call, *CREATE, size=32 << 20) == code.ENOSPC
        c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=big)
        gpu = nova_core.gpu_of(c.file.dev.bound_parent())
        used = gpu.buddy.size() - gpu.buddy.avail()
        assert used == 4096  # the failed requests gave everything back


def test_bad_handles_commands_and_sizes(nova: None) -> None:
    with Client(card()) as c:
        assert errno_of(c.call, *INFO, handle=99) == code.ENOENT
        assert errno_of(c.call, lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close",
                        handle=99) == code.EINVAL
        assert errno_of(c.call, *MAP, handle=99) == code.ENOENT
        assert errno_of(c.ioctl, IOWR(0x43, "struct drm_nova_gem_info"), bytes(16)) == \
            code.EINVAL  # past Nova's table
        # drm_ioctl() reads _IOC_SIZE(cmd) bytes: a shorter argument is a fault.
        assert errno_of(c.ioctl, lib.DRM_IOCTL_NOVA_GEM_CREATE, bytes(8)) == code.EFAULT


def test_vram_is_accounted_and_returned(nova: None) -> None:
    with Client(card()) as c:
        gpu = nova_core.gpu_of(c.file.dev.bound_parent())
        before = gpu.buddy.avail()
        hs = [c.call(*CREATE, size=s).handle for s in (4096, 1 << 20, 5 << 20)]
        assert gpu.buddy.avail() == before - (4096 + (1 << 20) + (5 << 20))
        for h in hs[:2]:
            c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
        assert gpu.buddy.avail() == before - (5 << 20)
    assert gpu.buddy.avail() == before  # close released the last handle


def test_unload_in_use_is_refused(nova: None) -> None:
    c = Client(card())
    assert errno_of(module.unload, "Nova") == code.EBUSY
    c.close()
    module.unload("Nova")
    assert [m.name for m in module.loaded()] == ["NovaCore"]


def test_unbind_under_a_client_revokes_vram_and_fails_cleanly() -> None:
    base = alloc.live_objects().total
    module.load("pyforlinux.drivers.nova_core", ["vram_size=16M"])
    module.load("pyforlinux.drivers.nova")
    c = Client(card())
    h = c.call(*CREATE, size=8192).handle
    off = c.call(*MAP, handle=h).offset
    mapping = c.mmap(int(off), 8192)
    mapping.write(0, b"before unbind")
    module.unload("NovaCore")  # removes the GPU: Nova unbinds under the client
    assert errno_of(mapping.read, 0, 13) == code.ENODEV  # VRAM revoked
    assert errno_of(c.call, *INFO, handle=h) == code.ENODEV  # device unplugged
    assert not drm.driver.nodes()
    assert errno_of(Client, "/dev/dri/card0") == code.ENODEV  # drm_stub_open(): no minor
    mapping.close()
    c.close()
    module.unload("Nova")
    assert alloc.live_objects().total == base
