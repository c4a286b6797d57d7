"""The ``/dev`` and ``/sys`` that real processes see, made from the device model.

:func:`build` walks the driver core's devices (the real kobject tree of
``drivers/base``, :func:`pyforlinux.device.devices`), with the attribute
groups and bus identities of :mod:`pyforlinux.sysfs`, and the registered
DRM minors, and returns the tree umockdev's preload shows as ``/sys`` and
``/dev``: nothing is written by hand. Every device is at its kobject path
(``/sys/devices/faux/...``); for each DRM device with minors ``cardN``
and ``renderD(128+N)``:

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
from pyforlinux.drm import driver as drm_driver

DRM_MAJOR = 226


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
    for info in device_mod.devices():  # parents before children
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
    devices: dict[int, tuple[Any, list[str]]] = {}
    for node in drm_driver.nodes():
        dev = drm_driver.lookup_node(node)
        devices.setdefault(id(dev), (dev, []))[1].append(node)
    for dev, nodes in devices.values():
        # The minors hang from the nearest PCI ancestor (see the module doc).
        core = dev.parent._core
        anchor = where.get(core.name, f"sys/devices/virtual/{core.name}")
        while core is not None:
            ident = sysfs.bus_identity_of(core)
            if ident is not None and ident.bus == "pci" and core.name in where:
                anchor = where[core.name]
                break
            core = core.parent
        for node in sorted(nodes):
            minor_name = os.path.basename(node)
            index = int(minor_name.removeprefix("renderD").removeprefix("card"))
            mdir = f"{anchor}/drm/{minor_name}"
            b.add(mdir, Dir())
            b.add(f"{mdir}/dev", _const(f"{DRM_MAJOR}:{index}\n"))
            b.add(f"{mdir}/uevent", _const(f"MAJOR={DRM_MAJOR}\nMINOR={index}\n"
                                           f"DEVNAME=dri/{minor_name}\nDEVTYPE=drm_minor\n"))
            b.link(f"{mdir}/subsystem", "sys/class/drm")
            b.link(f"{mdir}/device", anchor)
            b.link(f"sys/class/drm/{minor_name}", mdir)
            b.link(f"sys/dev/char/{DRM_MAJOR}:{index}", mdir)
            b.add(f"dev/dri/{minor_name}", DevNode(node, DRM_MAJOR, index))
            b.add(f"dev/.node/dri_{minor_name}", Link(f"{DRM_MAJOR}:{index}"))
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
