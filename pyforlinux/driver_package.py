"""Driver packages: a driver written outside the tree, and the tools pointed at it.

A driver package is a directory with an ``__init__.py`` (or an importable
Python package) that declares, in a module-level ``DRIVER``, what the
project's tools need to run it::

    from pyforlinux.driver_package import DriverPackage

    DRIVER = DriverPackage(
        name="toy",
        modules=["vdev", "toy"],                    # load order
        uapi=["include/uapi/drm/toy_drm.h"],        # compiled on first use
        session="session:run",                     # what `pyforlinux run` does
        scenarios=["session:Scenarios"],            # extra fault-sweep scenarios
    )

``pyforlinux run PATH``, ``serve PATH``, ``client PATH``, ``faultsweep
PATH`` and ``fuzz PATH`` take such a package (a path, a dotted name, or a
built-in short name: ``nova`` is :mod:`pyforlinux.drivers.nova`, declared
the same way). :func:`resolve` finds and checks it: the package imports,
its UAPI headers compile (:func:`pyforlinux.uapi.load`, cached by content
hash) and define no ioctl in the DRM core's number range, its modules
exist. Each problem is one :class:`~pyforlinux.error.Error` whose message
is one line naming the file (and line) at fault.

There is no kernel equivalent: upstream, an out-of-tree module is a
directory with a Kbuild file (``make -C /lib/modules/... M=$PWD``) and
``modprobe`` loads its modules in dependency order.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pathlib
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pyforlinux.error import Error, code

__all__ = ["BUILTIN", "DriverPackage", "describe_exception", "resolve"]

#: Built-in short names: ``pyforlinux run nova``.
BUILTIN: dict[str, str] = {"nova": "pyforlinux.drivers.nova"}

#: A client session: ``session(out, client, dev)`` with ``client`` a
#: :class:`~pyforlinux.drm.client.Client` (or a socket client) and ``dev``
#: the DRM device when in-process (else ``None``); returns what it saw.
Session = Callable[[Any, Any, Any], Any]


@dataclass
class DriverPackage:
    """What a driver package declares (its ``DRIVER``).

    ``modules``: the modules to load, in order (unloaded in reverse): names
    relative to the package (``"vdev"``), absolute dotted names, or
    ``.py`` paths relative to the package directory. ``uapi``: header paths
    relative to the package directory. ``session``: a callable or
    ``"module:function"`` (relative module names allowed), see
    :data:`Session`. ``scenarios``: fault-sweep scenario classes
    (:class:`pyforlinux.faultsweep.Scenario` subclasses) or
    ``"module:NAME"`` strings naming a class or a sequence of classes; a
    session and a load/bind scenario are always generated.
    ``description``: one line for humans.
    """

    name: str
    modules: Sequence[str]
    uapi: Sequence[str] = ()
    session: Session | str | None = None
    scenarios: Sequence[Any] = ()
    description: str = ""
    root: pathlib.Path | None = field(default=None, compare=False)
    """The package directory (set by :func:`resolve`)."""
    package: str = field(default="", compare=False)
    """The package's import name (set by :func:`resolve`)."""
    uapis: list[Any] = field(default_factory=list, compare=False)
    """The compiled UAPI headers (:class:`pyforlinux.uapi.Uapi`), by :func:`resolve`."""

    # ------------------------------------------------------------ resolution

    def module_sources(self) -> list[str]:
        """The modules as :func:`pyforlinux.module.load` takes them."""
        out = []
        for m in self.modules:
            if m.endswith(".py"):
                assert self.root is not None
                out.append(str((self.root / m).resolve()))
            elif m.startswith(".") or ("." not in m and self.package):
                out.append(f"{self.package}.{m.lstrip('.')}")
            else:
                out.append(m)
        return out

    def _attr(self, spec: str, what: str) -> Any:
        mod_name, sep, attr = spec.partition(":")
        if not sep:
            raise Error(code.EINVAL, f"{self.name}: {what} {spec!r} is not 'module:name'")
        if mod_name.startswith(".") or ("." not in mod_name and self.package):
            mod_name = f"{self.package}.{mod_name.lstrip('.')}"
        mod = _import_reporting(mod_name, self)
        try:
            return getattr(mod, attr)
        except AttributeError:
            raise Error(code.EINVAL, f"{_file_of(mod)}: no {attr!r} (the {what} "
                                     f"{spec!r} of driver {self.name})") from None

    def session_fn(self) -> Session:
        """The client session (``ENOENT`` if the package declares none)."""
        if self.session is None:
            raise Error(code.ENOENT, f"driver {self.name} declares no client session")
        fn = self._attr(self.session, "session") if isinstance(self.session, str) \
            else self.session
        if not callable(fn):
            raise Error(code.EINVAL, f"driver {self.name}: session {self.session!r} "
                                     "is not callable")
        return fn

    def scenario_classes(self) -> list[type[Any]]:
        """The declared fault-sweep scenario classes (strings resolved)."""
        out: list[type[Any]] = []
        for s in self.scenarios:
            got = self._attr(s, "scenario") if isinstance(s, str) else s
            out.extend(got if isinstance(got, (list, tuple)) else [got])
        return out

    def forget(self) -> None:
        """Drop the package's Python modules from ``sys.modules`` (after an
        unload, so that a later run imports its current code)."""
        if not self.package or self.package.startswith("pyforlinux."):
            return
        for name in [n for n in sys.modules
                     if n == self.package or n.startswith(self.package + ".")]:
            del sys.modules[name]


def _file_of(mod: ModuleType) -> str:
    return str(getattr(mod, "__file__", None) or mod.__name__)


def describe_exception(e: BaseException, root: pathlib.Path | None = None) -> str:
    """One line for an exception raised by a driver's code: ``file:line:
    Type: message``, at the innermost frame inside ``root`` (else the
    innermost frame); for a SyntaxError, its own file and line."""
    if isinstance(e, Error):
        return e.strerror or str(e)
    if isinstance(e, SyntaxError):
        return f"{e.filename}:{e.lineno}: SyntaxError: {e.msg}"
    frames = traceback.extract_tb(e.__traceback__)
    inside = [f for f in frames if root is not None and f.filename.startswith(str(root))]
    msg = f"{type(e).__name__}: {e}"
    if not inside and not frames:
        return msg
    where = (inside or frames)[-1]
    return f"{where.filename}:{where.lineno}: {msg}"


def _import_reporting(name: str, pkg: DriverPackage | None) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Error:
        raise
    except ModuleNotFoundError as e:
        if e.name and (e.name == name or name.startswith(e.name + ".")):
            raise Error(code.ENOENT, f"no module {name}"
                        f"{f' in driver {pkg.name}' if pkg else ''}") from None
        raise Error(code.ENOEXEC, describe_exception(e, pkg.root if pkg else None)) from None
    except Exception as e:
        raise Error(code.ENOEXEC, describe_exception(e, pkg.root if pkg else None)) from None


def _import_dir(path: pathlib.Path) -> ModuleType:
    init = path / "__init__.py"
    if not init.is_file():
        raise Error(code.ENOEXEC, f"{path}: not a driver package (no __init__.py)")
    stem = "".join(c if c.isalnum() else "_" for c in path.name)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    name = f"pfl_driver_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, init,
                                                  submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException as e:
        del sys.modules[name]
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise Error(code.ENOEXEC, describe_exception(e, path)) from None
    return mod


def resolve(target: str) -> DriverPackage:
    """The driver package ``target`` names: a built-in short name
    (:data:`BUILTIN`), a directory (absolute or relative), or a dotted
    import name. Imports its ``__init__``, compiles its UAPI headers and
    checks their ioctl numbers; does not load its modules.

    Raises:
        Error: ``ENOENT`` nothing by that name; ``ENOEXEC`` not a driver
            package, or its code raises on import (the message is
            ``file:line: Type: message``); ``EINVAL`` a UAPI header that
            does not compile (``file:line: error``) or whose ioctl numbers
            clash with the DRM core's.
    """
    path = pathlib.Path(target).expanduser()
    if target in BUILTIN:
        mod = _import_reporting(BUILTIN[target], None)
        root = pathlib.Path(_file_of(mod)).parent
    elif path.is_dir():
        root = path.resolve()
        mod = _import_dir(root)
    elif "/" in target or target.endswith(".py") or path.exists():
        raise Error(code.ENOENT, f"{target}: no such driver package (not a directory)")
    else:
        try:
            found = importlib.util.find_spec(target)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise Error(code.ENOENT, f"{target}: no such driver package (not a directory, "
                                     f"not an importable package, not one of: "
                                     f"{', '.join(BUILTIN)})")
        mod = _import_reporting(target, None)
        root = pathlib.Path(_file_of(mod)).parent
    pkg = getattr(mod, "DRIVER", None)
    if not isinstance(pkg, DriverPackage):
        raise Error(code.ENOEXEC, f"{_file_of(mod)}: declares no DRIVER = DriverPackage(...): "
                                  "not a driver package")
    if not pkg.modules:
        raise Error(code.EINVAL, f"{_file_of(mod)}: driver {pkg.name} declares no modules")
    pkg.root = root
    pkg.package = mod.__name__
    pkg.uapis = [_load_uapi(pkg, h) for h in pkg.uapi]
    return pkg


def _load_uapi(pkg: DriverPackage, header: str) -> Any:
    from pyforlinux import uapi
    from pyforlinux.drm import ioctl

    assert pkg.root is not None
    path = (pkg.root / header).resolve()
    if not path.is_file():
        raise Error(code.ENOENT, f"{path}: no such UAPI header (declared by driver {pkg.name})")
    u = uapi.load(path)
    for name in u.constants:
        if not name.startswith("DRM_IOCTL_"):
            continue
        cmd = int(getattr(u.lib, name)) & 0xFFFFFFFF
        if (cmd >> 8) & 0xFF != ioctl.BASE:
            continue
        nr = cmd & 0xFF
        if not ioctl.COMMAND_BASE <= nr < ioctl.COMMAND_END:
            raise Error(code.EINVAL, f"{path}: {name} is ioctl number {nr:#04x}, in the DRM "
                                     f"core's range: driver ioctls are DRM_COMMAND_BASE "
                                     f"({ioctl.COMMAND_BASE:#x}) + n, below DRM_COMMAND_END "
                                     f"({ioctl.COMMAND_END:#x})")
    return u
