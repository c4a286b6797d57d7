"""Serving Nova to other processes: the wire protocol, and a client that
vanishes mid-session has its file closed and its handles released."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from pyforlinux import module
from pyforlinux._bindings import lib
from pyforlinux.drivers import nova_core
from pyforlinux.drm.driver import lookup_node
from pyforlinux.drm.server import Server, SocketClient
from pyforlinux.error import Error, code

CREATE = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")


@pytest.fixture
def served(tmp_path: pathlib.Path) -> Iterator[tuple[str, nova_core.VirtualGpu]]:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=32M"])
    module.load("pyforlinux.drivers.nova")
    path = str(tmp_path / "nova.sock")
    server = Server("/dev/dri/card0", path)
    gpu = nova_core.gpu_of(lookup_node("/dev/dri/card0").bound_parent())
    yield path, gpu
    server.close()
    module.unload("Nova")
    module.unload("NovaCore")


def test_session_over_the_socket(served: tuple[str, nova_core.VirtualGpu]) -> None:
    path, gpu = served
    with SocketClient(path) as c:
        h = c.call(*CREATE, size=8192).handle
        off = c.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb", handle=h).offset
        with c.mmap(int(off), 8192) as m:
            m.write(100, b"over the wire")
            assert m.read(100, 13) == b"over the wire"
        with pytest.raises(Error) as e:
            c.call(lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info", handle=77)
        assert e.value.errno == code.ENOENT
        addr = c.mm.alloc(16)
        v = c.call(lib.DRM_IOCTL_VERSION, "struct drm_version", name=addr, name_len=16)
        assert c.mm.read(addr, v.name_len) == b"nova"
        assert gpu.buddy.avail() == gpu.buddy.size() - 8192


def test_a_client_that_vanishes_has_its_handles_released(
    served: tuple[str, nova_core.VirtualGpu],
) -> None:
    path, gpu = served
    script = textwrap.dedent(f"""
        import sys, time
        from pyforlinux.drm.server import SocketClient
        from pyforlinux._bindings import lib
        c = SocketClient({path!r})
        for size in (4096, 1 << 20, 3 << 20):
            c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=size)
        print("ready", flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             env=os.environ.copy(), text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert gpu.buddy.avail() == gpu.buddy.size() - (4096 + (1 << 20) + (3 << 20))
    finally:
        child.send_signal(signal.SIGKILL)  # mid-session, without a word
        child.wait(30)
    for _ in range(500):  # the server notices the hang-up (bounded wait)
        if gpu.buddy.avail() == gpu.buddy.size():
            break
        lib.msleep(10)
    assert gpu.buddy.avail() == gpu.buddy.size()
