"""Real processes against Nova through the device-node bridge
(umockdev's preload + FUSE): a libdrm client, drmdevice, EFAULT, SIGKILL,
concurrent clients, dup/fork, mmap, sysfs attributes; PRIME dma-buf fds
between two real processes through the launcher (tools/pfl-launch,
pyforlinux.devnode.fds); and the socket-only way without FUSE."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux import auxiliary, faux, module, run, sysfs
from pyforlinux._bindings import lib
from pyforlinux.devnode import Bridge, fds, umockdev
from pyforlinux.drivers import nova_core
from pyforlinux.drm.client import Client
from pyforlinux.drm.driver import lookup_node
from pyforlinux.error import Error, code
from pyforlinux.module import ModuleInfo, ThisModule

TOOL = run.client_tool()
PRIME = run.client_tool("prime-client")


@pytest.fixture
def nova() -> Iterator[nova_core.VirtualGpu]:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=64M"])
    module.load("pyforlinux.drivers.nova")
    try:
        yield nova_core.gpu_of(lookup_node("/dev/dri/card0").bound_parent())
    finally:
        module.unload("Nova")
        module.unload("NovaCore")


@pytest.fixture
def bridge(nova: nova_core.VirtualGpu, tmp_path: pathlib.Path) -> Iterator[Bridge]:
    with Bridge(str(tmp_path / "tb")) as b:
        assert b.fuse
        yield b


def real(b: Bridge, *argv: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as a real process under the bridge."""
    p = subprocess.run(list(argv), env=dict(os.environ, **b.environment()), text=True,
                       capture_output=True, timeout=120, check=False, **kw)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def wait_for(cond: Any, what: str, timeout: float = 30) -> None:
    # Bounded wait for an asynchronous release (not a timing assertion).
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_the_libdrm_client_runs_its_session(bridge: Bridge, nova: nova_core.VirtualGpu) -> None:
    assert TOOL is not None, "make tools"
    out = real(bridge, TOOL).stdout
    assert "drmGetDevices2 -> /dev/dri/card0 (PCI 10de:2684)" in out
    assert 'drmGetVersion -> nova 0.0.0 (Nvidia Graphics, date "0")' in out
    assert "NOVA_GETPARAM(VRAM_BAR_SIZE) -> 256 MiB" in out
    assert "NOVA_GEM_CREATE(12388) -> handle 1; GEM_INFO -> size 16384" in out
    assert "wrote 16384 bytes, msync, read back: ok" in out
    wait_for(lambda: bridge.open_files() == 0, "the client's file to be released")
    assert nova.buddy.avail() == nova.buddy.size()


def test_drmdevice_lists_the_device(bridge: Bridge) -> None:
    out = real(bridge, "drmdevice").stdout
    assert "Devices reported 1" in out
    assert "nodes[0] /dev/dri/card0" in out and "nodes[2] /dev/dri/renderD128" in out
    assert "vendor_id     10de" in out and "device_id     2684" in out


def test_bad_pointers_get_efault_and_the_client_survives(bridge: Bridge) -> None:
    assert TOOL is not None
    out = real(bridge, TOOL, "efault").stdout
    assert "VERSION with a bad name pointer -> EFAULT" in out
    assert "GETPARAM(NULL) -> EFAULT" in out
    assert "still alive, GETPARAM -> 268435456" in out


def test_sigkill_mid_session_releases_everything(bridge: Bridge,
                                                 nova: nova_core.VirtualGpu) -> None:
    assert TOOL is not None
    base = nova.buddy.avail()
    p = subprocess.Popen([TOOL, "hold"], env=dict(os.environ, **bridge.environment()),
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "holding handle" in line:
                break
        assert nova.buddy.avail() == base - 16384  # the object is alive
        # The C core's file was opened as the client's task: drm_file->pid
        # (task_tgid(current) in drm_file_alloc()) is the client's pid.
        assert [lib.pid_nr(f.file.as_raw().pid) for f in bridge.core._files] == [p.pid]
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(60)
    wait_for(lambda: bridge.open_files() == 0, "the killed client's file to be released")
    assert nova.buddy.avail() == base


def test_closing_the_bridge_under_a_live_client_releases_its_files(
    nova: nova_core.VirtualGpu, tmp_path: pathlib.Path,
) -> None:
    assert TOOL is not None
    b = Bridge(str(tmp_path / "tb"))
    p = subprocess.Popen([TOOL, "hold"], env=dict(os.environ, **b.environment()),
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "holding handle" in line:
                break
        assert nova.buddy.avail() == nova.buddy.size() - 16384
        b.close()  # the client is still alive and holds the node open
        assert nova.buddy.avail() == nova.buddy.size()
        assert not os.path.ismount(tmp_path / "tb")
    finally:
        p.kill()
        p.wait(60)


def test_four_clients_at_once(bridge: Bridge, nova: nova_core.VirtualGpu) -> None:
    assert TOOL is not None
    env = dict(os.environ, **bridge.environment())
    # On the render node: one primary-node client at a time is the DRM master
    # (the others would get EACCES for AUTH ioctls, as from the kernel).
    procs = [subprocess.Popen([TOOL, "bench", "300"], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    assert all("ns/ioctl" in o for o in outs)
    wait_for(lambda: bridge.open_files() == 0, "the clients' files to be released")
    assert nova.buddy.avail() == nova.buddy.size()


CLIENT = textwrap.dedent("""
    import fcntl, os, struct, sys
    GETPARAM = {getparam}
    fd = os.open("/dev/dri/renderD128", os.O_RDWR)
    def bar(f):
        buf = bytearray(struct.pack("<QQ", 1, 0))
        fcntl.ioctl(f, GETPARAM, buf)
        return struct.unpack("<QQ", buf)[1]
    d = os.dup(fd)
    print("dup", bar(d))
    pid = os.fork()
    if pid == 0:
        print("child", bar(fd), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    print("parent", bar(fd))
""")


def test_dup_and_fork_share_the_open_file(bridge: Bridge) -> None:
    script = CLIENT.format(getparam=int(lib.DRM_IOCTL_NOVA_GETPARAM) & 0xFFFFFFFF)
    out = real(bridge, sys.executable, "-c", script).stdout.split("\n")
    assert out[:3] == ["dup 268435456", "child 268435456", "parent 268435456"]


def test_mmap_bytes_reach_the_object(bridge: Bridge) -> None:
    # A real process writes through its mapping; this process reads the
    # object through the driver (not through the page cache).
    with Client("/dev/dri/card0"):
        pass
    script = textwrap.dedent(f"""
        import fcntl, mmap, os, struct, time
        fd = os.open("/dev/dri/card0", os.O_RDWR)
        buf = bytearray(struct.pack("<IIQ", 0, 0, 8192))
        fcntl.ioctl(fd, {int(lib.DRM_IOCTL_NOVA_GEM_CREATE) & 0xFFFFFFFF}, buf)
        handle = struct.unpack("<IIQ", buf)[0]
        m = bytearray(struct.pack("<IIQ", handle, 0, 0))
        fcntl.ioctl(fd, {int(lib.DRM_IOCTL_MODE_MAP_DUMB) & 0xFFFFFFFF}, m)
        off = struct.unpack("<IIQ", m)[2]
        mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED, offset=off)
        mm[100:113] = b"from a client"
        mm.flush()
        print(off, flush=True)
        input()
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                         env=dict(os.environ, **bridge.environment()),
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdin is not None
        off = int(p.stdout.readline())
        # The object itself, through a mapping by the client's own file
        # (drm_gem_mmap() on the C core), not the page cache.
        (file,) = bridge.core._files
        with file.mmap(off, 8192) as m:
            assert m.read(100, 13) == b"from a client"
        p.stdin.write("\n")
        p.stdin.flush()
    finally:
        p.wait(60)
    assert p.returncode == 0


def test_sysfs_attributes_are_live(bridge: Bridge, nova: nova_core.VirtualGpu) -> None:
    attrs = "/sys/bus/auxiliary/devices/NovaCore.nova-drm.0/"
    out = real(bridge, "cat", attrs + "vram_total", attrs + "vram_used").stdout
    assert out == f"{64 << 20}\n0\n"
    with Client("/dev/dri/card0") as c:
        c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=1 << 20)
        assert real(bridge, "cat", attrs + "vram_used").stdout == f"{1 << 20}\n"
    out = real(bridge, "cat", "/sys/class/drm/card0/device/vendor",
               "/sys/class/drm/card0/device/device", "/sys/dev/char/226:128/dev").stdout
    assert out == "0x10de\n0x2684\n226:128\n"
    # Read-only: a write is refused, whatever the caller.
    p = real(bridge, "sh", "-c", f"echo 1 > {attrs}vram_used", check=False)
    assert p.returncode != 0 and "Permission denied" in p.stderr


def test_a_store_with_bad_input_gets_the_errno_and_changes_nothing(
    nova: nova_core.VirtualGpu, tmp_path: pathlib.Path,
) -> None:
    value = [7]

    def store(dev: Any, text: str) -> None:
        try:
            n = int(text.strip())
        except ValueError:
            raise Error(code.EINVAL, f"not a number: {text!r}") from None
        if not 0 <= n <= 100:
            raise Error(code.ERANGE, f"{n} out of range")
        value[0] = n

    knob = sysfs.DeviceAttribute.rw("knob", lambda dev: f"{value[0]}\n", store)
    gpu_dev = lookup_node("/dev/dri/card0").bound_parent().bound_parent()
    sysfs.devm_device_add_group(gpu_dev, sysfs.AttributeGroup([knob], name="test"))
    path = "/sys/bus/pci/devices/0000:01:00.0/test/knob"
    with Bridge(str(tmp_path / "tb")) as b:
        # coreutils' echo reports the write's errno (dash's builtin does not).
        p = real(b, "sh", "-c", f"/bin/echo banana > {path}", check=False)
        assert p.returncode != 0 and "Invalid argument" in p.stderr
        p = real(b, "sh", "-c", f"/bin/echo 1000 > {path}", check=False)
        assert p.returncode != 0 and "Numerical result out of range" in p.stderr
        assert real(b, "cat", path).stdout == "7\n"
        real(b, "sh", "-c", f"/bin/echo 42 > {path}")
        assert real(b, "cat", path).stdout == "42\n"
    assert value == [42]


def test_attribute_definitions_are_checked() -> None:
    def show(dev: Any) -> str:
        return ""

    with pytest.raises(Error) as e:
        sysfs.DeviceAttribute("x", 0o666, show, lambda d, t: None)  # world-writable
    assert e.value.errno == code.EINVAL
    with pytest.raises(Error):
        sysfs.DeviceAttribute("x", 0o644, show)  # writable without store
    with pytest.raises(Error):
        sysfs.DeviceAttribute("a/b", 0o444, show)
    with pytest.raises(Error):
        sysfs.AttributeGroup([sysfs.DeviceAttribute.ro("x", show)] * 2)


def test_without_fuse_ioctls_are_served_and_mmap_fails_with_enodev(
    nova: nova_core.VirtualGpu, tmp_path: pathlib.Path,
) -> None:
    assert TOOL is not None
    with Bridge(str(tmp_path / "tb"), fuse=False) as b:
        assert b.mmap_unavailable
        assert "ns/ioctl" in real(b, TOOL, "bench", "10").stdout
        out = real(b, TOOL, "efault").stdout
        assert "GETPARAM(NULL) -> EFAULT" in out and "still alive" in out
        p = real(b, TOOL, check=False)
        assert "NOVA_GEM_CREATE(12388) -> handle 1" in p.stdout
        assert "mmap: FAILED (No such device)" in p.stdout
        assert real(b, "cat", "/sys/class/drm/card0/device/vendor").stdout == "0x10de\n"
    assert nova.buddy.avail() == nova.buddy.size()  # the sockets' files were released
    assert os.listdir(tmp_path / "tb") == []  # the snapshot is gone


def test_another_umockdev_version_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, nova: nova_core.VirtualGpu, tmp_path: pathlib.Path,
) -> None:
    monkeypatch.setattr(umockdev, "version", lambda: (0, 20, 1))
    with pytest.raises(Error) as e:
        Bridge(str(tmp_path / "tb"))
    assert e.value.errno == code.EPROTO
    assert "umockdev 0.20.1" in str(e.value) and "\n" not in str(e.value)


def test_run_exec_returns_the_program_status(capfd: pytest.CaptureFixture[str]) -> None:
    status = run.run_exec("nova", [], ["/bin/sh", "-c",
                                       "cat /sys/class/drm/card0/device/vendor; exit 3"])
    assert status == 3
    assert "0x10de\n" in capfd.readouterr().out


def test_serve_keeps_serving_until_sigterm(tmp_path: pathlib.Path) -> None:
    testbed = tmp_path / "dev"
    p = subprocess.Popen([sys.executable, "-m", "pyforlinux", "serve", "nova", "--dev",
                          str(testbed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    try:
        assert p.stdout is not None
        env_line = ""
        for line in p.stdout:
            if line.startswith("  env "):
                env_line = line
                break
        assert f"UMOCKDEV_DIR={testbed}" in env_line
        launch_line = ""
        for line in p.stdout:
            if line.startswith("  env "):
                launch_line = line
                break
        assert PRIME is not None and fds.launcher() is not None
        assert f"{fds.launcher()} PROGRAM" in launch_line
        env = dict(os.environ, UMOCKDEV_DIR=str(testbed),
                   LD_PRELOAD=f"{os.environ.get('LD_PRELOAD', '')} {umockdev.PRELOAD}".strip())
        out = subprocess.run(["cat", "/sys/class/drm/renderD128/device/vendor"], env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
        assert out == "0x10de\n"
        # The printed launcher command serves PRIME fds to a program of the user's.
        prime = subprocess.run([fds.launcher() or "", PRIME], env=env, capture_output=True,
                               text=True, timeout=120, check=False)
        assert prime.returncode == 0 and "prime: ok" in prime.stdout, prime.stdout + prime.stderr
        p.send_signal(signal.SIGTERM)
        rest = p.communicate(timeout=120)[0]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(30)
    assert p.returncode == 0, rest
    assert rest.rstrip().endswith("live kernel objects after unload: 0")
    assert not os.path.ismount(testbed)


def test_the_sysfs_view_is_the_driver_core_tree(nova: nova_core.VirtualGpu,
                                                tmp_path: pathlib.Path) -> None:
    # A device registered with the real driver core shows up at its kobject
    # path, with its attributes; nothing in the view is written by hand.
    from pyforlinux import faux

    with faux.Registration("pfl-test0") as reg:
        sysfs.devm_device_add_group(reg.as_bound(), sysfs.AttributeGroup(
            [sysfs.DeviceAttribute.ro("hello", lambda dev: f"{dev.name()}\n")]))
        with Bridge(str(tmp_path / "tb")) as b:
            out = real(b, "sh", "-c", "cat /sys/devices/faux/pfl-test0/hello; "
                       "readlink /sys/devices/faux/pfl-test0/subsystem; "
                       "ls /sys/bus/faux/devices").stdout
    assert out.split("\n")[:2] == ["pfl-test0", "../../../bus/faux"]
    assert "pfl-test0" in out.split("\n")[2:]


def test_mmap_object_at_finds_the_object_covering_a_page(nova: nova_core.VirtualGpu) -> None:
    # What a page-cache fill at any page of a node needs: the object's start
    # (drm_gem_mmap() only maps from there) and size, from the C vma manager.
    with Client("/dev/dri/card0") as c:
        h = int(c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create",
                       size=3 * 4096).handle)
        off = int(c.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb",
                         handle=h).offset)
        for at in (off, off + 4096, off + 3 * 4096 - 1):
            assert c.fd.mmap_object_at(at) == (off, 3 * 4096)
        assert c.fd.mmap_object_at(off + 3 * 4096) is None
        assert c.fd.mmap_object_at(0) is None
        with pytest.raises(Error) as e:  # the lookup finds it; the mapping checks
            c.fd.mmap(off + 4096, 4096)
        assert e.value.errno == code.EINVAL
    with pytest.raises(Error) as e:
        c.fd.mmap_object_at(off)
    assert e.value.errno == code.EBADF


# -- file descriptors: PRIME between real processes (pyforlinux.devnode.fds) ------

def _released(b: Bridge) -> bool:
    return b.open_files() == 0 and b.client_fds() == (0, 0)


def test_prime_fds_pass_between_two_real_processes(bridge: Bridge,
                                                   nova: nova_core.VirtualGpu) -> None:
    assert PRIME is not None, "make tools"
    base = nova.buddy.avail()
    p = bridge.launch([PRIME], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.communicate(timeout=120)[0]
    assert p.returncode == 0, out
    # The exporter got a real fd (O_CLOEXEC as asked) that maps the object,
    # and the dma-buf's own ioctls reach dma_buf_ioctl() through it.
    assert "drmPrimeHandleToFD(handle 1) -> fd 5 (cloexec), its mmap: same bytes" in out
    assert "DMA_BUF_IOCTL_SYNC -> 0; with bad flags -> Invalid argument" in out
    # The dma-buf's fences as a sync_file fd, merged (SYNC_IOC_MERGE), imported back.
    assert 'EXPORT_SYNC_FILE -> fd 6 (cloexec); SYNC_IOC_MERGE -> fd 7: "merged", status 1; ' \
        "IMPORT_SYNC_FILE -> 0" in out
    assert "IMPORT_SYNC_FILE(a pipe) -> Invalid argument" in out
    assert "drmPrimeFDToHandle(fd 5) -> handle 1 (the same)" in out
    # What the unmodified dma_buf_get() answers for files that are not dma-bufs.
    assert "drmPrimeFDToHandle(a pipe) -> Invalid argument" in out
    assert "drmPrimeFDToHandle(fd 999, not open) -> Bad file descriptor" in out
    # Passed over SCM_RIGHTS to a forked process with its own DRM file.
    assert "drmPrimeFDToHandle -> handle 1, mapped: same bytes" in out
    assert "after the exporter closed: wrote, read back ok, via the dma-buf fd ok" in out
    assert "wrote through the dma-buf fd, read through the node: ok" in out
    wait_for(lambda: _released(bridge), "the clients' files, dma-bufs and listener")
    assert nova.buddy.avail() == base  # the last dma-buf fput freed the object


def test_prime_fds_without_the_launcher_fail_with_eopnotsupp(
    bridge: Bridge, nova: nova_core.VirtualGpu, caplog: pytest.LogCaptureFixture,
) -> None:
    assert PRIME is not None
    with caplog.at_level("WARNING", logger="pyforlinux.devnode"):
        out = real(bridge, PRIME, check=False).stdout
    assert "drmPrimeHandleToFD: FAILED (Operation not supported)" in out
    lines = [r.getMessage() for r in caplog.records if "launcher" in r.getMessage()]
    assert len(lines) == 1 and f"{fds.launcher()} PROGRAM" in lines[0]
    wait_for(lambda: _released(bridge), "the client's file")
    assert nova.buddy.avail() == nova.buddy.size()


def test_a_killed_client_holding_a_dma_buf_fd_releases_it(bridge: Bridge,
                                                         nova: nova_core.VirtualGpu) -> None:
    assert PRIME is not None
    base = nova.buddy.avail()
    p = bridge.launch([PRIME, "hold"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "holding fd" in line:
                break
        assert bridge.client_fds() == (1, 1)  # the dma-buf, the process tree
        assert nova.buddy.avail() < base
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(60)
    wait_for(lambda: _released(bridge), "the killed client's files and dma-buf")
    assert nova.buddy.avail() == base


def test_the_launcher_refuses_to_start_without_a_bridge(tmp_path: pathlib.Path) -> None:
    tool = fds.launcher()
    assert tool is not None
    (tmp_path / "ioctl").mkdir()
    p = subprocess.run([tool, "/bin/echo", "started"], capture_output=True, text=True,
                       env=dict(os.environ, UMOCKDEV_DIR=str(tmp_path)), timeout=60,
                       check=False)
    assert p.returncode == 126 and "started" not in p.stdout
    assert p.stderr.startswith("pfl-launch: connect to the bridge") and p.stderr.count("\n") == 1


def test_what_is_not_a_seccomp_listener_is_dropped(bridge: Bridge) -> None:
    import socket

    r, w = os.pipe()
    os.write(w, b"x")  # readable: a RECV on it must not be retried forever
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(bridge.environment()["UMOCKDEV_DIR"], "ioctl", fds.SOCKET_NAME))
        socket.send_fds(s, [b"L"], [r])
        assert s.recv(1) == b"K"
    os.close(r)
    os.close(w)
    wait_for(lambda: bridge.client_fds() == (0, 0), "the bogus listener to be dropped")


def test_run_exec_starts_programs_through_the_launcher() -> None:
    assert PRIME is not None
    assert run.run_exec("nova", [], [PRIME]) == 0


def test_syncobj_and_sync_file_fds_pass_between_two_real_processes(
    tmp_path: pathlib.Path,
) -> None:
    from tests.test_syncobj import SyncAux, SyncDrm

    assert PRIME is not None
    this = ThisModule(ModuleInfo("syncdrm", ("t",), "syncdrm", "GPL"))
    SyncDrm.THIS_MODULE = this
    parent = faux.Registration("sync-parent")
    drv = auxiliary.register_driver(SyncAux(), "syncdrm")
    aux = auxiliary.Registration(parent.as_bound(), "drm", 0, "Sync")
    try:
        with Bridge(str(tmp_path / "tb")) as b:
            p = b.launch([PRIME, "syncobj"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
            out = p.communicate(timeout=120)[0]
            assert p.returncode == 0, out
            assert "-> syncobj fd 5, sync_file fd 6" in out  # real fds of the exporter
            assert "drmSyncobjFDToHandle(a pipe) -> Invalid argument" in out
            assert "imported handle 1 and the sync_file into 2; wait for both -> signalled" \
                in out
            wait_for(lambda: _released(b), "the clients' files, syncobj and sync_file fds")
    finally:
        aux.close()
        drv.close()
        parent.close()
        SyncDrm.THIS_MODULE = None
    assert this.refcount() == 0


def test_tgid_of_is_cached_per_live_thread_only() -> None:
    # The bridge asks for the process of the calling thread on every ioctl:
    # answered from a cache pinned to the thread's /proc entry, which a dead
    # thread's entry leaves (its id may be reused by another process).
    import threading

    from pyforlinux.devnode import adapter

    me = os.getpid()
    got: list[tuple[int, int]] = []

    def worker() -> None:
        tid = threading.get_native_id()
        got.append((tid, adapter.tgid_of(tid)))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    tid, tgid = got[0]
    assert tid != me and tgid == me  # a thread's process, not the thread
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert adapter.tgid_of(child.pid) == child.pid
        assert child.pid in adapter._tgids and adapter.tgid_of(child.pid) == child.pid
    finally:
        child.kill()
        child.wait()
    assert adapter.tgid_of(child.pid) == child.pid  # gone: the id itself, not the cache
    assert child.pid not in adapter._tgids  # (and its pin closed)
