"""``pyforlinux run nova``: the main job.

Loads the nova-core stand-in and Nova as modules (parameters as
``name=value``, e.g. ``vram_size=512M``), which binds Nova to the virtual
GPU's auxiliary device and registers its DRM device; then drives a client
session exactly as a userspace client would, with ioctl-encoded requests
(command number + struct bytes) on the device node: open, VERSION,
GETPARAM, GEM_CREATE of several sizes, GEM_INFO, MODE_MAP_DUMB and a
write/read-back through each object's mmap offset, GEM_CLOSE, close. It
prints a report (driver, VRAM used and free from the buddy allocator,
objects and their blocks, ioctl counts and errors), unloads the modules in
reverse order, and checks that no kernel object is left alive.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from pyforlinux import alloc, auxiliary, drm, kmemleak, module
from pyforlinux._bindings import lib
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code

MODULES = {
    "nova": ["pyforlinux.drivers.nova_core", "pyforlinux.drivers.nova"],
}

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
    """One client's session through ``c`` (a :class:`Client` in this process
    or a :class:`~pyforlinux.drm.server.SocketClient`); returns what it saw.
    With ``dev`` (in-process), the device report is printed mid-session."""
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


def run(target: str, params: Sequence[str], out: TextIO = sys.stdout) -> int:
    """Load ``target``'s modules, run the session, unload; returns an exit status."""

    def session() -> None:
        client = Client("/dev/dri/card0")
        dev = client.file.dev
        nova_session(out, client, dev)
        out.write(_ioctl_report(dev))

    return with_modules(target, params, session, out)


def serve(target: str, params: Sequence[str], path: str, sessions: int,
          out: TextIO = sys.stdout) -> int:
    """Load ``target``'s modules and serve ``/dev/dri/card0`` on the Unix
    socket ``path`` until ``sessions`` clients have come and gone (0: until
    interrupted); unload. Returns an exit status."""
    from pyforlinux.drm.server import Server
    from pyforlinux.time.delay import msleep

    def session() -> None:
        dev = drm.driver.lookup_node("/dev/dri/card0")
        server = Server("/dev/dri/card0", path)
        out.write(f"serving /dev/dri/card0 on {path}\n")
        out.flush()
        try:
            while not sessions or server.sessions < sessions:
                msleep(50)
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        out.write(f"served {server.sessions} client session(s)\n")
        out.write(_ioctl_report(dev))

    return with_modules(target, params, session, out)


def with_modules(target: str, params: Sequence[str], body: Any, out: TextIO) -> int:
    """Load ``target``'s modules, run ``body()``, unload in reverse, check
    that no kernel object is left; returns an exit status."""
    if target not in MODULES:
        out.write(f"pyforlinux run: unknown target {target!r} (have: {', '.join(MODULES)})\n")
        return 2
    baseline = alloc.live_objects().total
    before = kmemleak.scan()  # addresses only: sites are named if something leaks
    warn_base = int(lib.pfl_warn_count())  # WARNs of this run only, not the process's
    sources = MODULES[target]
    routed = _split_params(sources, params)
    loaded: list[str] = []
    try:
        for src in sources:
            this = module.load(src, routed[src])
            loaded.append(this.name)
            ps = ", ".join(f"{k}={v.value}" for k, v in this.info.params.items())
            out.write(f"module: loaded {this.name} ({this.info.description}; "
                      f"{this.info.license}){'; ' + ps if ps else ''}\n")
        for adev in auxiliary.devices():
            state = "bound" if adev.is_bound() else "unbound"
            parent = adev.parent()
            out.write(f"bus: auxiliary device {adev.name()} ({state}) under "
                      f"{parent.name() if parent else '-'}\n")
        out.write(f"drm: registered nodes {', '.join(drm.driver.nodes())}\n\n")
        body()
    finally:
        for name in reversed(loaded):
            module.unload(name)
            out.write(f"module: unloaded {name}\n")
    live = alloc.live_objects().total - baseline
    out.write(f"live kernel objects after unload: {live}\n")
    if live:
        out.write(kmemleak.report(kmemleak.since(before)) + "\n")
    warnings = int(lib.pfl_warn_count()) - warn_base
    if warnings:
        out.write(f"kernel warnings: {warnings}\n")
    return 0 if live == 0 and warnings == 0 else 1
