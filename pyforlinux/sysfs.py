"""Device attributes in sysfs: show/store files grouped on a device.

A driver publishes values (VRAM totals, clocks, state) as files under its
device's sysfs directory rather than in ``/proc`` (the kernel's rule). Each
file is a :class:`DeviceAttribute` (``struct device_attribute``): a name,
mode bits, a ``show`` that formats the value and, for writable ones, a
``store`` that parses and applies input -- raising an :class:`Error` (the
``write(2)`` errno) and changing nothing when the input is bad. Files come
in an :class:`AttributeGroup` (``struct attribute_group``, optionally a
subdirectory) added to a bound device with :func:`devm_device_add_group`:
removed when the driver unbinds.

The attribute tree is what :mod:`pyforlinux.devnode`'s sysfs view shows to
real processes (``cat /sys/.../vram_total``). How it hooks the device:
groups are kept here per device (``_DeviceCore``), added and removed
through the device's devres (the only device-model hook used), so
:mod:`pyforlinux.device` is unchanged.

:func:`set_bus_identity` lets a stand-in device appear on a bus it models
(the nova-core stand-in's virtual GPU presents itself as a PCI function),
which is what libdrm needs to enumerate a DRM device.

C header: include/linux/device.h (DEVICE_ATTR_RO/RW, device_add_group,
devm_device_add_group), include/linux/sysfs.h (struct attribute_group,
VERIFY_OCTAL_PERMISSIONS), fs/sysfs/file.c (sysfs_kf_read/write)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyforlinux.device import Bound, Device
from pyforlinux.error import Error, code

PAGE_SIZE = 4096

#: ``show(dev) -> str``: the file's contents (at most a page).
Show = Callable[[Device[Any]], str]
#: ``store(dev, text) -> None``: apply ``text``; raise :class:`Error` on bad input.
Store = Callable[[Device[Any], str], None]


@dataclass(frozen=True)
class DeviceAttribute:
    """One sysfs file of a device (``struct device_attribute``).

    ``mode`` is the permission bits (``0o444`` read-only, ``0o644``
    read-write). A readable mode needs ``show``, a writable one ``store``;
    world-writable modes are refused, as ``VERIFY_OCTAL_PERMISSIONS`` does.

    Raises:
        Error: ``EINVAL`` for a bad name, a mode outside ``0o775`` (or
            world-writable), or a missing ``show``/``store``.
    """

    name: str
    mode: int
    show: Show | None = None
    store: Store | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise Error(code.EINVAL, f"bad attribute name {self.name!r}")
        if self.mode & ~0o777 or self.mode & 0o002:
            raise Error(code.EINVAL, f"attribute {self.name}: mode {self.mode:#o} "
                                     "(world-writable or not permission bits)")
        if self.mode & 0o444 and self.show is None:
            raise Error(code.EINVAL, f"attribute {self.name}: readable mode without show")
        if self.mode & 0o222 and self.store is None:
            raise Error(code.EINVAL, f"attribute {self.name}: writable mode without store")

    @classmethod
    def ro(cls, name: str, show: Show) -> DeviceAttribute:
        """``DEVICE_ATTR_RO(name)``: mode 0444."""
        return cls(name, 0o444, show)

    @classmethod
    def rw(cls, name: str, show: Show, store: Store) -> DeviceAttribute:
        """``DEVICE_ATTR_RW(name)``: mode 0644."""
        return cls(name, 0o644, show, store)

    def read(self, dev: Device[Any]) -> bytes:
        """``read(2)`` of the file: ``show``'s text, at most a page.

        Raises:
            Error: ``EACCES`` if not readable; ``EIO`` if ``show`` fails
                with something that is not an :class:`Error` (a driver bug)
                or returns more than a page; its own errno otherwise.
        """
        if self.show is None or not self.mode & 0o444:
            raise Error(code.EACCES, f"{self.name} is not readable")
        try:
            text = self.show(dev)
        except Error:
            raise
        except Exception as e:
            raise Error(code.EIO, f"{self.name}: show failed: {e!r}") from None
        data = str(text).encode()
        if len(data) > PAGE_SIZE:
            raise Error(code.EIO, f"{self.name}: show returned {len(data)} bytes (> a page)")
        return data

    def write(self, dev: Device[Any], data: bytes) -> int:
        """``write(2)`` to the file: ``store`` of the text; returns its length.

        Raises:
            Error: ``EACCES`` not writable; ``EINVAL`` input that is not
                UTF-8 or longer than a page; ``store``'s errno (nothing changed).
        """
        if self.store is None or not self.mode & 0o222:
            raise Error(code.EACCES, f"{self.name} is not writable")
        if len(data) > PAGE_SIZE:
            raise Error(code.EINVAL, f"{self.name}: {len(data)} bytes (> a page)")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise Error(code.EINVAL, f"{self.name}: input is not text") from None
        try:
            self.store(dev, text)
        except Error:
            raise
        except Exception as e:
            raise Error(code.EIO, f"{self.name}: store failed: {e!r}") from None
        return len(data)


@dataclass(frozen=True)
class AttributeGroup:
    """Attributes added together (``struct attribute_group``); ``name`` makes
    them a subdirectory, ``None`` puts them in the device's directory.

    Raises:
        Error: ``EINVAL`` for two attributes of one name.
    """

    attrs: Sequence[DeviceAttribute]
    name: str | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [a.name for a in self.attrs]
        if len(set(names)) != len(names):
            raise Error(code.EINVAL, f"attribute group {self.name}: duplicate names")
        object.__setattr__(self, "_names", frozenset(names))


@dataclass(frozen=True)
class BusIdentity:
    """How a device appears on its bus in sysfs: the bus name (``"pci"``),
    its name there (``"0000:01:00.0"``) and its ``uevent`` variables."""

    bus: str
    name: str
    uevent: dict[str, str]


_lock = threading.Lock()
_groups: dict[int, tuple[Any, list[AttributeGroup]]] = {}  # id(device core) -> (core, groups)
_identity: dict[int, BusIdentity] = {}


def _remove(arg: tuple[int, AttributeGroup]) -> None:
    dev_id, group = arg
    with _lock:
        entry = _groups.get(dev_id)
        if entry is not None and group in entry[1]:
            entry[1].remove(group)
            if not entry[1]:
                del _groups[dev_id]


def devm_device_add_group(dev: Device[Bound], group: AttributeGroup) -> None:
    """Add ``group`` to ``dev`` until the driver unbinds (``devm_device_add_group()``).

    Raises:
        Error: ``EEXIST`` a file of that name is already on the device;
            ``ENODEV`` the view is stale.
    """
    core = dev._check()
    with _lock:
        _, groups = _groups.setdefault(id(core), (core, []))
        for g in groups:
            if g.name == group.name and g._names & group._names:
                raise Error(code.EEXIST, f"{dev.name()}: attribute "
                                         f"{sorted(g._names & group._names)[0]} exists")
        groups.append(group)
    try:
        dev.devm_add_action(_remove, (id(core), group))
    except BaseException:
        _remove((id(core), group))
        raise


def _forget_identity(dev_id: int) -> None:
    with _lock:
        _identity.pop(dev_id, None)


def set_bus_identity(dev: Device[Bound], identity: BusIdentity) -> None:
    """Present ``dev`` on ``identity.bus`` in sysfs until it unbinds.

    Raises:
        Error: ``ENODEV`` the view is stale.
    """
    core = dev._check()
    with _lock:
        _identity[id(core)] = identity
    dev.devm_add_action(_forget_identity, id(core))


def groups_of(core: Any) -> list[AttributeGroup]:
    """The groups on a device (its ``_DeviceCore``), in the order added."""
    with _lock:
        entry = _groups.get(id(core))
        return list(entry[1]) if entry else []


def bus_identity_of(core: Any) -> BusIdentity | None:
    """The bus identity a device presents, if any."""
    with _lock:
        return _identity.get(id(core))
