"""The sample render driver (examples/tinyrender): its session in-process,
its libdrm client as a real process through the device-node bridge, job
timeouts, per-file cleanup and unbind with jobs in flight."""

from __future__ import annotations

import io
import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_bridge import real, wait_for

from pyforlinux import drm, module, run, uapi
from pyforlinux._bindings import build_dir
from pyforlinux.devnode import Bridge
from pyforlinux.dma_buf.dma_resv import Usage
from pyforlinux.drm.client import Client
from pyforlinux.drm.gem import shmem
from pyforlinux.drm.syncobj import Syncobj
from pyforlinux.error import Error, code

PKG = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tinyrender"
UAPI = uapi.load(PKG / "include/uapi/drm/tinyrender_drm.h")
TOOL = build_dir() / "tools" / "tinyrender-client"
L = UAPI.lib


def load(*engine_params: str, driver_params: tuple[str, ...] = ()) -> None:
    module.load(str(PKG / "engine.py"), list(engine_params))
    try:
        module.load(str(PKG / "tinyrender.py"), list(driver_params))
    except BaseException:
        module.unload("TinyEngine")
        raise


def unload() -> None:
    try:
        module.unload("tinyrender")
    finally:
        module.unload("TinyEngine")


@pytest.fixture
def render() -> Iterator[str]:
    load()
    try:
        yield next(n for n in drm.driver.nodes() if "render" in n)
    finally:
        unload()


def session_mod() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tinyrender_session", PKG / "session.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


S = session_mod()


def new_syncobj(c: Client) -> int:
    return int(c.call(L.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create").handle)


def bo(c: Client, size: int = 8192) -> int:
    return int(c.call(L.DRM_IOCTL_TINYRENDER_BO_CREATE, "struct drm_tinyrender_bo_create",
                      size=size).handle)


def fence_error(c: Client, handle: int) -> int:
    with Syncobj.lookup_handle(c.file, handle) as s:
        f = s.fence()
    assert f is not None
    with f:
        assert f.deref().wait(None)
        return f.deref().error


def test_pyforlinux_run_shows_the_session() -> None:
    out = io.StringIO()
    assert run.run(str(PKG), [], out) == 0, out.getvalue()
    text = out.getvalue()
    assert "client: SYNCOBJ_WAIT(s2) ok; B through mmap: zeros, 4096 x 0x5a, zeros: ok" in text
    assert "TINYRENDER_SUBMIT   2 call(s), no errors" in text
    assert "live kernel objects after unload: 0" in text


def test_the_libdrm_client_through_the_bridge(render: str, tmp_path: pathlib.Path) -> None:
    assert TOOL.exists(), "make tools"
    with Bridge(str(tmp_path / "tb")) as b:
        assert b.fuse
        out = real(b, str(TOOL)).stdout
        assert "client(C): mmap(B): zeros, 4096 x 0xa5, zeros" in out
        assert out.rstrip().endswith("client(C): all checks passed")
        out = real(b, str(TOOL), "misuse").stdout
        assert "client(C): drmSyncobjWait(s3, 10 ms, WAIT_FOR_SUBMIT): ETIME" in out
        assert "client(C): SUBMIT with a bad in_syncobjs pointer: EFAULT" in out
        assert out.rstrip().endswith("client(C): all checks passed")
        out = real(b, str(TOOL), "loop", "25").stdout
        assert "client(C): 25 rounds: ok" in out
        assert real(b, str(TOOL), "nonsense", check=False).returncode == 2


def launched(b: Bridge, *argv: str) -> str:
    """Run the client through the launcher (its dma-buf fds are real); its output."""
    p = b.launch([str(TOOL), *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.communicate(timeout=120)[0]
    assert p.returncode == 0, out
    return str(out)


def test_prime_through_the_bridge_in_one_process_and_across_two(
    render: str, tmp_path: pathlib.Path,
) -> None:
    assert TOOL.exists(), "make tools"
    dev = drm.driver.lookup_node(render)
    with Bridge(str(tmp_path / "tb")) as b:
        out = launched(b, "prime")
        assert "client(C): drmPrimeFDToHandle: the same handle" in out
        assert "client(C): mmap(A): 0x3c everywhere" in out  # a job on the imported handle
        assert "client(C): drmPrimeFDToHandle(a pipe: not a dma-buf): EINVAL" in out
        out = launched(b, "prime2")
        assert "client(C): child: drmPrimeFDToHandle: a handle" in out
        # The exporter's file closed while the importer mapped the buffer.
        assert "client(C): child: the mapping after the exporter closed: the parent's 0x11" in out
        assert "client(C): child: mmap(imported): 0x11, 0x77" in out
        assert out.rstrip().endswith("client(C): all checks passed")
        wait_for(lambda: b.open_files() == 0 and b.client_fds() == (0, 0),
                 "the clients' files and dma-buf fds")
    assert not dev.gem_objects  # the last dma-buf reference freed the objects


def test_submit_errors_are_the_kernels(render: str) -> None:
    with Client(render) as c:
        a = bo(c)
        s = new_syncobj(c)
        for fields, errno in [
            ({"op": 9, "dst_handle": a, "size": 1}, code.EINVAL),
            ({"op": L.TINYRENDER_OP_FILL, "dst_handle": a, "size": 0}, code.EINVAL),
            ({"op": L.TINYRENDER_OP_FILL, "dst_handle": a, "size": 1, "value": 256},
             code.EINVAL),
            ({"op": L.TINYRENDER_OP_FILL, "dst_handle": 77, "size": 1}, code.ENOENT),
            ({"op": L.TINYRENDER_OP_COPY, "dst_handle": a, "src_handle": a, "size": 4096,
              "src_offset": 8000}, code.EINVAL),
            ({"op": L.TINYRENDER_OP_FILL, "dst_handle": a, "size": 1, "out_syncobj": 55},
             code.ENOENT),
            ({"op": L.TINYRENDER_OP_FILL, "dst_handle": a, "size": 1,
              "in_syncobj_count": 65}, code.EINVAL),
        ]:
            with pytest.raises(Error) as e:
                S.submit(c, **fields)
            assert e.value.errno == errno, fields
        # A copy within one object, behind nothing: the job's fence is fine.
        S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=4096, value=7, out_syncobj=s)
        S.submit(c, op=L.TINYRENDER_OP_COPY, dst_handle=a, dst_offset=4096, src_handle=a,
                 size=4096, in_syncobjs=(s,), out_syncobj=s)
        assert fence_error(c, s) == 0
        info = c.call(L.DRM_IOCTL_TINYRENDER_BO_INFO, "struct drm_tinyrender_bo_info", handle=a)
        with c.mmap(int(info.mmap_offset), 8192) as m:
            assert m.read(0, 8192) == b"\x07" * 8192


def test_a_hung_engine_times_the_job_out_and_its_dependants_fail() -> None:
    load("hang=1", driver_params=("job_timeout_ms=30",))
    try:
        node = next(n for n in drm.driver.nodes() if "render" in n)
        with Client(node) as c:
            a, s1, s2 = bo(c), new_syncobj(c), new_syncobj(c)
            S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1, out_syncobj=s1)
            S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1, in_syncobjs=(s1,),
                     out_syncobj=s2)
            assert fence_error(c, s1) == -code.ETIMEDOUT
            assert fence_error(c, s2) == -code.ETIMEDOUT  # never ran: its input failed
    finally:
        unload()


def test_closing_the_file_cancels_its_jobs_and_frees_everything() -> None:
    load("hang=1", driver_params=("job_timeout_ms=20",))
    try:
        node = next(n for n in drm.driver.nodes() if "render" in n)
        dev = drm.driver.lookup_node(node)
        c = Client(node)
        a, s = bo(c), new_syncobj(c)
        for _ in range(3):
            S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1, in_syncobjs=(),
                     out_syncobj=s)
        c.close()  # postclose: drain (the engine hangs: the jobs time out), close the queue
        assert dev.open_count() == 0 and not dev.gem_objects
    finally:
        unload()


def test_unbind_with_jobs_in_flight() -> None:
    load("hang=1")
    node = next(n for n in drm.driver.nodes() if "render" in n)
    jq = next(iter(drm.driver.lookup_node(node).data.queues), None)
    c = Client(node)
    engine_loaded = True
    try:
        a, s_run, s_wait = bo(c), new_syncobj(c), new_syncobj(c)
        S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1, out_syncobj=s_run)
        S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1, in_syncobjs=(s_run,),
                 out_syncobj=s_wait)  # queued behind the first, which never finishes
        with Syncobj.lookup_handle(c.file, s_run) as s:
            run_fence = s.fence()
        with Syncobj.lookup_handle(c.file, s_wait) as s:
            wait_fence = s.fence()
        assert run_fence is not None and wait_fence is not None
        jq = c.file.inner().jq
        end = time.monotonic() + 30  # a bound for the worker to start the job, not a timing
        while jq.in_flight() != (1, 1) and time.monotonic() < end:
            time.sleep(0.01)
        assert jq.in_flight() == (1, 1)
        # SUBMIT published the jobs' fence in the object's reservation (implicit sync).
        with shmem.Object.lookup_handle(c.file, a) as obj:
            assert obj.deref().resv_test_signaled(Usage.WRITE) is False
            module.unload("TinyEngine")  # the device goes: the driver unbinds under the client
            engine_loaded = False
            assert obj.deref().resv_test_signaled(Usage.WRITE) is True
        assert run_fence.deref().error == -code.ENODEV  # on the engine when the device went
        assert wait_fence.deref().error == -code.ECANCELED  # still queued
        run_fence.close()
        wait_fence.close()
        with pytest.raises(Error) as e:  # the file outlives its device: ENODEV
            S.submit(c, op=L.TINYRENDER_OP_FILL, dst_handle=a, size=1)
        assert e.value.errno == code.ENODEV
    finally:
        c.close()
        module.unload("tinyrender")
        if engine_loaded:
            module.unload("TinyEngine")
