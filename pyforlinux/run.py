"""``pyforlinux run nova``: the main job.

Loads the nova-core stand-in and Nova as modules (parameters as
``name=value``, e.g. ``vram_size=512M``), which binds Nova to the virtual
GPU's auxiliary device and registers its DRM device; then drives a client
session exactly as a userspace client would, with ioctl-encoded requests
(command number + struct bytes) on the device node: open, VERSION,
GETPARAM, GEM_CREATE of several sizes, GEM_INFO, MODE_MAP_DUMB and a
write/read-back through each object's mmap offset, GEM_CLOSE, close. It
prints a report (driver, VRAM used and free from the buddy allocator,
objects and their blocks), then (for Nova) runs real processes against the
same driver through the device-node bridge (:mod:`pyforlinux.devnode`): the
libdrm client tools/nova-drm-client, ``drmdevice`` and the two-process
PRIME client tools/prime-client (started through the launcher
tools/pfl-launch, so its dma-buf fds are real); then the ioctl
counts, unloads the modules in reverse order, and checks that no kernel
object is left alive.

Any driver package runs the same way (``pyforlinux run PATH``): its
modules are loaded in its declared order and its own client session is
driven (:mod:`pyforlinux.driver_package`); Nova is the built-in package
``nova``. With ``dmesg=True`` the kernel log's new lines are printed as
they come; at unload, what is left alive is reported with allocation
sites (:mod:`pyforlinux.kmemleak`), and each problem is one line.

``run --exec`` (:func:`run_exec`) runs any program against any driver
package that way instead; ``serve`` (:func:`serve`) keeps serving
``/dev/dri`` and ``/sys`` under a directory until interrupted.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from pyforlinux import alloc, auxiliary, drm, kmemleak, module, printk
from pyforlinux._bindings import lib
from pyforlinux.driver_package import DriverPackage, describe_exception, resolve
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code
from pyforlinux.sync import rcu

SIZES = [4096, 10_000, 1 << 20, 3 * (1 << 20) + 123, 16 << 20]


def _split_params(sources: list[str], params: Sequence[str]) -> dict[str, list[str]]:
    """Route ``name=value`` (or ``module.name=value``) to the module declaring ``name``."""
    from pyforlinux.module import _find_module_class, _import

    infos = {src: _find_module_class(_import(src)).MODULE_INFO for src in sources}
    out: dict[str, list[str]] = {src: [] for src in sources}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep:
            raise Error(code.EINVAL, f"parameter {p!r} is not name=value")
        mod, _, pname = name.rpartition(".")
        owners = [s for s, i in infos.items() if pname in i.params
                  and (not mod or mod.lower() in (i.name.lower(), s.rsplit(".", 1)[-1]))]
        if not owners:
            raise Error(code.EINVAL, f"no module takes a parameter '{name}'")
        out[owners[0]].append(f"{pname}={value}")
    return out


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.2f} MiB"


def nova_session(out: TextIO, c: Any, dev: drm.Device[Any] | None = None) -> dict[str, Any]:
    """One client's session through ``c`` (a :class:`Client`); returns what
    it saw. With ``dev``, the device report is printed mid-session."""
    seen: dict[str, Any] = {"objects": []}
    with c:
        # DRM_IOCTL_VERSION, with user buffers for the strings.
        bufs = {k: (c.mm.alloc(64), 64) for k in ("name", "date", "desc")}
        v = c.call(lib.DRM_IOCTL_VERSION, "struct drm_version",
                   name=bufs["name"][0], name_len=64, date=bufs["date"][0], date_len=64,
                   desc=bufs["desc"][0], desc_len=64)
        name = c.mm.read(bufs["name"][0], v.name_len).decode()
        desc = c.mm.read(bufs["desc"][0], v.desc_len).decode()
        seen["version"] = (name, desc, v.version_major, v.version_minor, v.version_patchlevel)
        out.write(f"client: VERSION -> {name} {v.version_major}.{v.version_minor}."
                  f"{v.version_patchlevel} ({desc})\n")

        p = c.call(lib.DRM_IOCTL_NOVA_GETPARAM, "struct drm_nova_getparam",
                   param=lib.NOVA_GETPARAM_VRAM_BAR_SIZE)
        seen["bar1"] = int(p.value)
        out.write(f"client: GETPARAM(VRAM_BAR_SIZE) -> {_mib(int(p.value))}\n")

        handles = []
        for size in SIZES:
            g = c.call(lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create", size=size)
            i = c.call(lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info", handle=g.handle)
            handles.append((int(g.handle), size, int(i.size)))
            out.write(f"client: GEM_CREATE({size}) -> handle {g.handle}; "
                      f"GEM_INFO -> size {i.size}\n")

        for h, size, _ in handles:
            m = c.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb", handle=h)
            pattern = bytes((h * 31 + k) & 0xFF for k in range(256)) * (size // 256 + 1)
            pattern = pattern[:size]
            with c.mmap(int(m.offset), size) as mapping:
                mapping.write(0, pattern)
                back = mapping.read(0, size)
            ok = back == pattern
            seen["objects"].append((h, size, ok))
            out.write(f"client: mmap handle {h} at {int(m.offset):#x}: wrote and read back "
                      f"{size} bytes: {'ok' if ok else 'MISMATCH'}\n")
            if not ok:
                raise Error(code.EIO, f"VRAM read-back mismatch for handle {h}")

        if dev is not None:
            seen["report"] = _device_report(dev)
            out.write(seen["report"])

        for h, _, _ in handles:
            c.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
        out.write(f"client: GEM_CLOSE x{len(handles)}; close\n")
    return seen


def _device_report(dev: drm.Device[Any]) -> str:
    from pyforlinux.drivers import nova_core

    gpu = nova_core.gpu_of(dev.bound_parent())
    lines = ["", "== Nova device report =="]
    info = dev.driver.INFO
    lines.append(f"driver: {info.name} {info.major}.{info.minor}.{info.patchlevel} "
                 f"\"{info.desc}\" on {dev.parent.name()}, nodes {', '.join(dev.nodes)}")
    b = gpu.buddy
    used = b.size() - b.avail()
    lines.append(f"VRAM: {_mib(b.size())} total, {_mib(used)} used, {_mib(b.avail())} free "
                 f"(gpu_buddy, chunk {b.chunk_size()} bytes); BAR1 {_mib(gpu.bar1_size)}")
    lines.append("objects:")
    for obj in sorted(dev.gem_objects.values(), key=lambda o: o.mmap_offset or 0):
        blocks = obj.inner.blocks()
        desc = ", ".join(f"{off:#x}+{size // 1024}K(o{order})" for off, order, size in blocks)
        lines.append(f"  {obj.size():>9} bytes, {obj.handle_count} handle(s): {desc}")
    return "\n".join(lines) + "\n\n"


def _ioctl_report(dev: drm.Device[Any]) -> str:
    lines = ["ioctls served:"]
    for name, n in sorted(dev.stats.calls.items()):
        errs = {e: k for (nm, e), k in dev.stats.errors.items() if nm == name}
        etxt = ", ".join(f"{Error(e).name()} x{k}" for e, k in errs.items()) or "no errors"
        lines.append(f"  {name:<16} {n:>3} call(s), {etxt}")
    return "\n".join(lines) + "\n"


def card_node() -> str:
    """The first primary node registered (``/dev/dri/cardN``).

    Raises:
        Error: ``ENODEV`` when no driver registered one (e.g. its probe failed).
    """
    nodes = [n for n in drm.driver.nodes() if "card" in n]
    if not nodes:
        raise Error(code.ENODEV, "no DRM node was registered (did the driver's probe fail? "
                                 "see the kernel log)")
    return nodes[0]


def run(target: str, params: Sequence[str], out: TextIO | None = None, *,
        dmesg: bool = False, real: bool | None = None) -> int:
    """Load the driver package ``target``'s modules, run its client session,
    then (``real``; default: for Nova, whose libdrm client is in tools/) the
    libdrm client and ``drmdevice`` as real processes through the device-node
    bridge; unload. Returns an exit status."""
    stream: TextIO = sys.stdout if out is None else out
    pkg = resolve(target)
    session_fn = pkg.session_fn()
    if real is None:
        real = pkg.name == "nova"
    status = [0]

    def session() -> None:
        client = Client(card_node())
        dev = client.file.dev
        session_fn(stream, client, dev)
        client.close()
        if real:
            stream.write("\n")
            status[0] = real_clients(stream)
        stream.write(_ioctl_report(dev))

    return with_modules(pkg, params, session, stream, dmesg=dmesg) or status[0]


def client_tool(name: str = "nova-drm-client") -> str | None:
    """A built libdrm client of tools/ (``make tools``), or None."""
    from pyforlinux._bindings import build_dir

    path = build_dir() / "tools" / name
    return str(path) if path.exists() else None


def _run_real(bridge: Any, argv: list[str], timeout: float = 300,
              launch: bool = False) -> tuple[int, str]:
    """Run ``argv`` as a real process against ``bridge`` (``launch``: through
    the launcher, so fds reach it): its status and output."""
    env = dict(os.environ, **bridge.environment())
    prefix = bridge.launch_command() if launch else []
    try:
        proc = subprocess.run([*prefix, *argv], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, f"{argv[0]}: {e}\n"
    return proc.returncode, proc.stdout


#: The lines of ``drmdevice``'s report that ``make run`` shows.
_DRMDEVICE_LINE = re.compile(r"Devices reported|nodes\[\d\] |(vendor|device)_id ")


def real_clients(out: TextIO) -> int:
    """The libdrm client, ``drmdevice`` and (with FUSE and the launcher
    built) the two-process PRIME client as real processes through the
    device-node bridge; returns 0 if all succeeded."""
    from pyforlinux.devnode import Bridge, fds

    tool = client_tool()
    if tool is None:
        out.write("real clients: tools/nova-drm-client is not built (make tools)\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="pfl-dev-") as tmp, \
            Bridge(os.path.join(tmp, "testbed")) as bridge:
        out.write(f"bridge: /dev/dri and /sys served under {bridge.testbed} "
                  f"(umockdev {'.'.join(map(str, bridge.umockdev_version))}, "
                  f"{'FUSE' if bridge.fuse else 'no FUSE: ' + str(bridge.mmap_unavailable)})\n")
        status, text = _run_real(bridge, [tool])
        out.write(text)
        dd, text = _run_real(bridge, ["drmdevice"])
        for line in text.splitlines():
            if _DRMDEVICE_LINE.search(line) or dd:
                out.write(f"drmdevice: {line.lstrip(' |+->').strip(' -')}\n")
        prime = client_tool("prime-client")
        pr = 0
        if bridge.fuse and prime is not None and fds.launcher() is not None:
            pr, text = _run_real(bridge, [prime], launch=True)
            out.write(text)
    return status or dd or pr


def run_exec(target: str, params: Sequence[str], argv: list[str],
             out: TextIO | None = None, *, dmesg: bool = False) -> int:
    """Load the driver package ``target``'s modules, run ``argv`` as a real
    process against the device-node bridge, unload. With FUSE and the
    launcher built, the program is started through the launcher
    (:meth:`~pyforlinux.devnode.Bridge.launch`: its PRIME, syncobj and
    sync_file fds are real). Returns the program's exit status, or 1 if it
    succeeded but a kernel object was left alive or a WARN fired."""
    from pyforlinux.devnode import Bridge, fds

    stream: TextIO = sys.stdout if out is None else out
    pkg = resolve(target)
    status = [0]

    def session() -> None:
        with tempfile.TemporaryDirectory(prefix="pfl-dev-") as tmp, \
                Bridge(os.path.join(tmp, "testbed")) as bridge:
            stream.flush()
            try:
                if bridge.fuse and fds.launcher() is not None:
                    status[0] = bridge.launch(argv).wait()
                else:
                    env = dict(os.environ, **bridge.environment())
                    status[0] = subprocess.run(argv, env=env, check=False).returncode
            except OSError as e:
                stream.write(f"pyforlinux run: {argv[0]}: {e.strerror}\n")
                status[0] = 127

    rc = with_modules(pkg, params, session, stream, dmesg=dmesg, quiet=True)
    if status[0] < 0:  # killed by a signal: as a shell reports it
        return 128 - status[0]
    return status[0] or rc


def serve(target: str, params: Sequence[str], dev_dir: str, out: TextIO | None = None, *,
          dmesg: bool = False) -> int:
    """Load the driver package ``target``'s modules and serve ``/dev/dri`` and
    ``/sys`` to real processes under ``dev_dir`` until interrupted (SIGINT or
    SIGTERM); prints the environment to run programs with. Returns an exit
    status."""
    from pyforlinux.devnode import Bridge

    stream: TextIO = sys.stdout if out is None else out
    pkg = resolve(target)

    def session() -> None:
        dev = drm.driver.lookup_node(card_node())
        stop = threading.Event()
        olds = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with Bridge(dev_dir) as bridge:
                env = " ".join(f"{k}={shlex.quote(v)}" for k, v in bridge.environment().items())
                stream.write(f"serving {', '.join(bridge.nodes)} and /sys under "
                             f"{bridge.testbed}\nrun programs with:\n  env {env} "
                             f"PROGRAM [ARGS...]\n")
                try:
                    launch = " ".join(map(shlex.quote, bridge.launch_command()))
                    stream.write(f"programs that pass PRIME/syncobj fds (drmPrimeHandleToFD...) "
                                 f"must be started through the launcher:\n  env {env} "
                                 f"{launch} PROGRAM [ARGS...]\n")
                except Error as e:
                    stream.write(f"PRIME/syncobj fds will fail with EOPNOTSUPP: {e.strerror}\n")
                stream.flush()
                while not stop.wait(0.2):
                    pass
        finally:
            for sig, old in olds.items():
                signal.signal(sig, old)
        stream.write(_ioctl_report(dev))

    return with_modules(pkg, params, session, stream, dmesg=dmesg)


def load_modules(pkg: DriverPackage, params: Sequence[str], out: TextIO) -> list[str]:
    """Load ``pkg``'s modules in order with ``params`` routed to them;
    returns their names. On a failure, unloads what was loaded and raises
    one :class:`~pyforlinux.error.Error` whose message names the module and
    the file and line at fault.
    """
    sources = pkg.module_sources()
    try:
        routed = _split_params(sources, params)
    except Error:
        raise
    except Exception as e:
        raise Error(code.ENOEXEC, describe_exception(e, pkg.root)) from None
    loaded: list[str] = []
    try:
        for src in sources:
            try:
                this = module.load(src, routed[src])
            except Error as e:
                raise Error(e.errno or code.EINVAL,
                            f"loading {src.rsplit('.', 1)[-1]}: {e.strerror}") from None
            except Exception as e:
                raise Error(code.ENOEXEC, f"loading {src.rsplit('.', 1)[-1]}: "
                                          f"{describe_exception(e, pkg.root)}") from None
            loaded.append(this.name)
            ps = ", ".join(f"{k}={v.value}" for k, v in this.info.params.items())
            out.write(f"module: loaded {this.name} ({this.info.description}; "
                      f"{this.info.license}){'; ' + ps if ps else ''}\n")
    except BaseException:
        unload_modules(loaded, out)
        raise
    return loaded


def unload_modules(names: Sequence[str], out: TextIO) -> None:
    """Unload ``names`` in reverse order (each one attempted)."""
    first: BaseException | None = None
    for name in reversed(names):
        try:
            module.unload(name)
            out.write(f"module: unloaded {name}\n")
        except BaseException as e:  # the others still unload
            first = first or e
    if first is not None:
        raise first


def with_modules(target: DriverPackage | str, params: Sequence[str], body: Any, out: TextIO,
                 *, dmesg: bool = False, quiet: bool = False) -> int:
    """Load the package's modules, run ``body()``, unload in reverse, check
    that no kernel object is left; returns an exit status. With ``dmesg``,
    the kernel log's new lines are written to ``out`` as they come.
    ``quiet``: only problems are reported (for ``--exec``: the program's
    output is the user's)."""
    problems = out
    if quiet:
        out = io.StringIO()
    pkg = resolve(target) if isinstance(target, str) else target
    baseline = alloc.live_objects().total
    before = kmemleak.scan()  # addresses only: sites are named if something leaks
    owners = kmemleak.owner_scan()
    warn_base = int(lib.pfl_warn_count())  # WARNs of this run only, not the process's
    follower = None
    stop = threading.Event()
    console = printk.console_loglevel()
    tracking = kmemleak.track_owner_sites(True)  # leaked owners are named by site
    if dmesg:
        printk.set_console_loglevel(0)  # the lines go to out instead
        follower = printk.follow(problems, printk.next_seq(), stop, lambda r: "dmesg: " + r.line())
    try:
        loaded = load_modules(pkg, params, out)
        try:
            for adev in auxiliary.devices():
                state = "bound" if adev.is_bound() else "unbound"
                parent = adev.parent()
                out.write(f"bus: auxiliary device {adev.name()} ({state}) under "
                          f"{parent.name() if parent else '-'}\n")
            out.write(f"drm: registered nodes {', '.join(drm.driver.nodes())}\n\n")
            body()
        finally:
            unload_modules(loaded, out)
            pkg.forget()
    finally:
        if follower is not None:
            stop.set()
            follower.join()
        printk.set_console_loglevel(console)
        kmemleak.track_owner_sites(tracking)
    rcu.rcu_barrier()  # Python RCU callbacks (a signalled fence's data, then its reference)
    live = alloc.live_objects().total - baseline
    left = kmemleak.owners_since(owners)
    warnings = int(lib.pfl_warn_count()) - warn_base
    if quiet and (live or warnings or left):
        out = problems
    out.write(f"live kernel objects after unload: {live}\n")
    if live:
        out.write(kmemleak.report(kmemleak.since(before)) + "\n")
    if left:
        out.write(kmemleak.owner_report(left) + "\n")
    if warnings:
        out.write(f"kernel warnings: {warnings}\n")
    return 0 if live == 0 and warnings == 0 and not left else 1
