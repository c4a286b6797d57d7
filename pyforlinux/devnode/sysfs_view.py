"""The ``/dev`` and ``/sys`` that real processes see, made from the device model.

:func:`build` walks the driver core's devices (the real kobject tree of
``drivers/base``, :func:`pyforlinux.device.devices`), with the attribute
groups and bus identities of :mod:`pyforlinux.sysfs`, and returns the
tree umockdev's preload shows as ``/sys`` and ``/dev``: nothing is written
by hand. Every device is at its kobject path (``/sys/devices/faux/...``);
the DRM minors ``cardN`` and ``renderD(128+N)`` are the devices the real
``drm_sysfs_minor_alloc()`` added (class ``drm``, their ``dev_t``):

- ``/sys/devices/pci0000:00/<slot>/``: the PCI function its nearest
  PCI-presenting ancestor is (the nova-core stand-in's GPU), with that
  device's attribute files (``vendor``, ``device``, ...), ``uevent``
  (``PCI_SLOT_NAME``...) and ``subsystem -> bus/pci``;
- ``.../<slot>/<aux device>/``: each device between it and the DRM device
  (``NovaCore.nova-drm.0``), with its attribute groups (Nova's ``vram_*``);
- ``.../<slot>/drm/cardN``, ``renderD(128+N)``: ``dev`` (``226:N``),
  ``uevent``, ``subsystem -> class/drm``, ``device -> <slot>``;
- ``/sys/class/drm/<minor>``, ``/sys/dev/char/226:<n>``,
  ``/sys/bus/<bus>/devices/<name>``: links, as the kernel makes them;
- ``/dev/dri/<minor>`` and umockdev's ``/dev/.node/dri_<minor>`` (its
  record of the node's ``major:minor``, which its ``stat()`` reports).

One difference from the kernel, on purpose: upstream Nova's minors hang
from the auxiliary device, whose bus libdrm (2.4.114) does not know, so
``drmGetDevices2()`` would skip them; here they hang from the PCI function
(``card0/device`` is the GPU), which is what libdrm and Mesa enumerate.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyforlinux import device as device_mod
from pyforlinux import sysfs
from pyforlinux.device import Bound, Device


@dataclass
class Dir:
    """A directory."""


@dataclass
class Link:
    """A symbolic link to ``target`` (relative, as sysfs makes them)."""

    target: str


@dataclass
class Attr:
    """A sysfs file: ``read()`` its contents; ``write(data)`` (or None: read-only)."""

    read: Callable[[], bytes]
    write: Callable[[bytes], int] | None
    mode: int


@dataclass
class DevNode:
    """A DRM device node: ``node`` (``/dev/dri/card0``), ``major:minor``."""

    node: str
    major: int
    minor: int


Node = Dir | Link | Attr | DevNode
Tree = dict[str, Node]


def _const(text: str) -> Attr:
    data = text.encode()
    return Attr(lambda: data, None, 0o444)


def _attr(core: Any, a: sysfs.DeviceAttribute) -> Attr:
    def view() -> Device[Any]:
        return Device(core, Bound, core.bind_gen)  # groups live only while bound

    write = (lambda data: a.write(view(), data)) if a.store is not None else None
    return Attr(lambda: a.read(view()), write, a.mode)


class _Builder:
    def __init__(self) -> None:
        self.tree: Tree = {}

    def add(self, path: str, node: Node) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            self.tree.setdefault("/".join(parts[:i]), Dir())
        self.tree[path] = node

    def link(self, path: str, target: str) -> None:
        self.add(path, Link(os.path.relpath(target, os.path.dirname(path))))


def _safe_cores() -> dict[str, Any]:
    """The safe layer's side of each live device, by name (for attribute groups)."""
    with device_mod._cores_lock:
        return {c.name: c for c in device_mod._cores.values() if c.alive}


def build() -> Tree:
    """The tree (paths relative to the testbed root, no leading slash).

    Every device of the driver core's ``devices_kset`` (the real kobject
    tree, :func:`pyforlinux.device.devices`) gets its directory at its kobject
    path, with ``uevent``, ``subsystem`` and its attribute groups; a device
    presenting itself on PCI (:func:`pyforlinux.sysfs.set_bus_identity`) is
    placed at ``/sys/devices/pci0000:00/<slot>`` with its children; then the
    DRM minors and their links.
    """
    b = _Builder()
    b.add("dev/dri", Dir())
    b.add("dev/.node", Dir())
    b.add("sys/class/drm", Dir())
    b.add("sys/dev/char", Dir())
    cores = _safe_cores()
    where: dict[str, str] = {}  # device name -> its directory in the view
    parent_of: dict[str, str | None] = {}
    minors: list[device_mod.DeviceInfo] = []
    for info in device_mod.devices():  # parents before children
        parent_of[info.name] = info.parent
        if info.class_name == "drm" and info.devt is not None:
            minors.append(info)  # placed below, under their PCI ancestor
            continue
        core = cores.get(info.name)
        ident = sysfs.bus_identity_of(core) if core is not None else None
        if ident is not None and ident.bus == "pci":
            path = f"sys/devices/pci0000:00/{ident.name}"
        elif info.parent is not None and info.parent in where:
            path = f"{where[info.parent]}/{info.name}"
        else:
            path = f"sys{info.path}"
        where[info.name] = path
        b.add(path, Dir())
        uevent = dict(ident.uevent) if ident else {}
        if info.driver and "DRIVER" not in uevent:
            uevent = {"DRIVER": info.driver, **uevent}
        b.add(f"{path}/uevent", _const("".join(f"{k}={v}\n" for k, v in uevent.items())))
        bus = ident.bus if ident else info.bus
        name = ident.name if ident else info.name
        if bus:
            b.link(f"{path}/subsystem", f"sys/bus/{bus}")
            b.link(f"sys/bus/{bus}/devices/{name}", path)
        elif info.class_name:
            b.link(f"{path}/subsystem", f"sys/class/{info.class_name}")
            b.link(f"sys/class/{info.class_name}/{info.name}", path)
        if info.devt is not None:
            b.add(f"{path}/dev", _const(f"{info.devt[0]}:{info.devt[1]}\n"))
            b.link(f"sys/dev/char/{info.devt[0]}:{info.devt[1]}", path)
        if core is not None:
            for group in sysfs.groups_of(core):
                base = f"{path}/{group.name}" if group.name else path
                for a in group.attrs:
                    b.add(f"{base}/{a.name}", _attr(core, a))
    for info in minors:
        assert info.devt is not None
        # The minor hangs from its nearest PCI ancestor (see the module doc),
        # else from its parent, as the kernel places it.
        anchor = where.get(info.parent or "", "sys/devices/virtual")
        up = info.parent
        while up is not None:
            ident = sysfs.bus_identity_of(cores[up]) if up in cores else None
            if ident is not None and ident.bus == "pci" and up in where:
                anchor = where[up]
                break
            up = parent_of.get(up)
        major, minor = info.devt
        mdir = f"{anchor}/drm/{info.name}"
        b.add(mdir, Dir())
        b.add(f"{mdir}/dev", _const(f"{major}:{minor}\n"))
        b.add(f"{mdir}/uevent", _const(f"MAJOR={major}\nMINOR={minor}\n"
                                       f"DEVNAME=dri/{info.name}\nDEVTYPE=drm_minor\n"))
        b.link(f"{mdir}/subsystem", "sys/class/drm")
        b.link(f"{mdir}/device", anchor)
        b.link(f"sys/class/drm/{info.name}", mdir)
        b.link(f"sys/dev/char/{major}:{minor}", mdir)
        b.add(f"dev/dri/{info.name}", DevNode(f"/dev/dri/{info.name}", major, minor))
        b.add(f"dev/.node/dri_{info.name}", Link(f"{major}:{minor}"))
    return b.tree


def write_snapshot(tree: Tree, root: str, node_dev: Callable[[str], None]) -> None:
    """Write ``tree`` under the directory ``root`` (no FUSE): attribute files
    hold the value read now; ``node_dev(path)`` makes each device node."""
    for path in sorted(tree):
        full = os.path.join(root, path)
        node = tree[path]
        if isinstance(node, Dir):
            os.makedirs(full, exist_ok=True)
        elif isinstance(node, Link):
            os.symlink(node.target, full)
        elif isinstance(node, Attr):
            try:
                data = node.read()
            except OSError:
                data = b""
            with open(full, "wb") as f:
                f.write(data)
            os.chmod(full, node.mode)
        else:
            node_dev(full)
