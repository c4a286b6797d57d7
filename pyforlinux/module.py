"""Loadable modules: declaration, typed parameters, load and unload.

Mirrors the ``module!`` macro and ``kernel::Module``/``ThisModule`` of
``rust/kernel/lib.rs``. A module is a class decorated with :func:`module`,
giving its name, authors, description, license, aliases and typed
parameters; its constructor is ``init(this_module)`` and its ``close()`` is
the teardown (``Drop``). :func:`load` imports a module from a Python file
or dotted name, sets its parameters from ``name=value`` strings (as
``modprobe`` does) and runs its init; :func:`unload` refuses a module in
use (``EBUSY``: its :class:`ThisModule` count is held, e.g. by an open
DRM file) and otherwise tears it down.

Rust: rust/kernel/lib.rs (Module, ThisModule), rust/macros/module.rs.
C header: include/linux/module.h, include/linux/moduleparam.h
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pathlib
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pyforlinux._owner import drop_in_place, live_owners
from pyforlinux.error import Error, code

T = TypeVar("T")

GPL_COMPATIBLE = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
                  "Dual MPL/GPL"}

_SIZE = re.compile(r"^(0x[0-9a-fA-F]+|\d+)([kKmMgGtT]?)$")


def parse_size(text: str) -> int:
    """``memparse()``: ``4096``, ``0x1000``, ``64K``, ``512M``, ``1G`` -> bytes.

    Raises:
        Error: ``EINVAL`` if it is not a size.
    """
    m = _SIZE.match(text.strip())
    if not m:
        raise Error(code.EINVAL, f"{text!r} is not a size (e.g. 4096, 64K, 512M, 1G)")
    n = int(m.group(1), 0)
    return n << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2).lower()]


def parse_bool(text: str) -> bool:
    """``kstrtobool()``: y/n, 1/0, on/off, true/false."""
    t = text.strip().lower()
    if t in ("y", "yes", "1", "on", "true"):
        return True
    if t in ("n", "no", "0", "off", "false"):
        return False
    raise Error(code.EINVAL, f"{text!r} is not a boolean")


class Size(int):
    """A parameter type: a size in bytes, written with memparse suffixes."""


_PARSERS: dict[type[Any], Callable[[str], Any]] = {
    int: lambda s: int(s, 0),
    bool: parse_bool,
    str: str,
    Size: lambda s: Size(parse_size(s)),
}


@dataclass
class Param(Generic[T]):
    """A typed module parameter (``module_param``); read ``.value``.

    ``kind`` is ``int``, ``bool``, ``str`` or :class:`Size`.
    """

    kind: type[T]
    default: T
    description: str = ""
    name: str = ""
    _value: T | None = None

    @property
    def value(self) -> T:
        """The parameter's value (the default unless set at load)."""
        return self.default if self._value is None else self._value

    def set(self, text: str) -> None:
        """Set from its text form (``param_set_*``).

        Raises:
            Error: ``EINVAL`` if ``text`` does not parse as ``kind``.
        """
        try:
            self._value = _PARSERS[self.kind](text)
        except (ValueError, KeyError) as e:
            raise Error(code.EINVAL, f"parameter {self.name}: bad value {text!r}") from e


@dataclass(frozen=True)
class ModuleInfo:
    """What ``module!`` declares (the ``.modinfo`` section)."""

    name: str
    authors: tuple[str, ...]
    description: str
    license: str
    alias: tuple[str, ...] = ()
    params: dict[str, Param[Any]] = field(default_factory=dict)


class ThisModule:
    """The module's handle (``THIS_MODULE``): its name, parameters and use count.

    Rust: ``kernel::ThisModule``
    """

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self._uses = 0
        self._lock = threading.Lock()
        self.live = True

    @property
    def name(self) -> str:
        """The module name."""
        return self.info.name

    def param(self, name: str) -> Param[Any]:
        """The parameter ``name``.

        Raises:
            Error: ``ENOENT`` if the module has no such parameter.
        """
        try:
            return self.info.params[name]
        except KeyError:
            raise Error(code.ENOENT, f"module {self.name} has no parameter {name}") from None

    def try_module_get(self) -> bool:
        """Take a use (``try_module_get()``); False once the module is going."""
        with self._lock:
            if not self.live:
                return False
            self._uses += 1
            return True

    def module_put(self) -> None:
        """Drop a use (``module_put()``).

        Raises:
            Error: ``EINVAL`` if no use is held.
        """
        with self._lock:
            if self._uses == 0:
                raise Error(code.EINVAL, f"module_put() of {self.name} with no use held")
            self._uses -= 1

    def refcount(self) -> int:
        """Uses held (``module_refcount()``)."""
        return self._uses


class Module(Protocol):
    """A module instance: made by ``init(this_module)``, torn down by ``close()``.

    Rust: ``kernel::Module``
    """

    MODULE_INFO: ClassVar[ModuleInfo]

    def close(self) -> None:
        """Teardown, on unload (the Rust ``Drop``)."""


M = TypeVar("M")


def module(*, name: str, authors: Iterable[str], description: str, license: str,
           alias: Iterable[str] = (), params: dict[str, Param[Any]] | None = None,
           ) -> Callable[[type[M]], type[M]]:
    """Declare a module class (the ``module!`` macro).

    The class's ``__init__(self, this_module)`` is the module init; its
    ``close()`` the exit. ``params`` maps names to :class:`Param`.
    """
    ps = dict(params or {})
    for pname, p in ps.items():
        p.name = pname

    def wrap(cls: type[M]) -> type[M]:
        cls.MODULE_INFO = ModuleInfo(name, tuple(authors), description, license,  # type: ignore[attr-defined]
                                     tuple(alias), ps)
        return cls

    return wrap


@dataclass
class LoadedModule:
    """A loaded module: its handle and instance."""

    this: ThisModule
    instance: Any
    source: str
    owners: set[int] = field(default_factory=set)
    """The Python owners alive when it was loaded (a kmemleak mark)."""
    code: str = ""
    """Its code: the module's file, or its package directory."""


_loaded: dict[str, LoadedModule] = {}
_order: list[str] = []
_lock = threading.RLock()


def _import(source: str) -> ModuleType:
    path = pathlib.Path(source)
    if source.endswith(".py") or path.exists():
        if not path.exists():
            raise Error(code.ENOENT, f"no module file {source}")
        spec = importlib.util.spec_from_file_location(f"pyforlinux_mod_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise Error(code.ENOEXEC, f"cannot load {source}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as e:
        raise Error(code.ENOENT, f"no module {source}") from e


def _find_module_class(mod: ModuleType) -> type[Any]:
    found = [v for v in vars(mod).values()
             if isinstance(v, type) and isinstance(getattr(v, "MODULE_INFO", None), ModuleInfo)
             and v.__module__ == mod.__name__]
    if len(found) != 1:
        raise Error(code.ENOEXEC, f"{mod.__name__} declares {len(found)} modules, not one")
    return found[0]


def load(source: str, args: Iterable[str] = ()) -> ThisModule:
    """Load the module declared in ``source`` (a ``.py`` path or dotted name).

    ``args`` are ``name=value`` parameter settings. Returns its handle.

    Raises:
        Error: ``ENOENT`` no such module; ``ENOEXEC`` not exactly one
            declaration; ``EEXIST`` already loaded; ``EINVAL`` an unknown
            parameter or a bad value; or whatever the init raises (then
            nothing stays loaded).
    """
    with _lock:
        for lm in _loaded.values():
            if lm.source == source:
                raise Error(code.EEXIST, f"module {lm.this.name} is already loaded from {source}")
    cls = _find_module_class(_import(source))
    info: ModuleInfo = cls.MODULE_INFO
    with _lock:
        if info.name in _loaded:
            raise Error(code.EEXIST, f"module {info.name} is already loaded")
        for p in info.params.values():
            p._value = None
        for arg in args:
            pname, sep, value = arg.partition("=")
            if not sep:
                raise Error(code.EINVAL, f"parameter {arg!r} is not name=value")
            if pname not in info.params:
                raise Error(code.EINVAL, f"{info.name}: unknown parameter '{pname}'")
            info.params[pname].set(value)
        this = ThisModule(info)
        owners = set(live_owners())
        instance = cls(this)
        _loaded[info.name] = LoadedModule(this, instance, source, owners, _code_of(cls))
        _order.append(info.name)
        return this


def unload(name: str) -> None:
    """Unload a module (``delete_module()``).

    Raises:
        Error: ``ENOENT`` not loaded; ``EBUSY`` in use (its use count is
            held, e.g. by an open device file).
    """
    with _lock:
        lm = _loaded.get(name)
        if lm is None:
            raise Error(code.ENOENT, f"module {name} is not loaded")
        with lm.this._lock:
            if lm.this._uses:
                raise Error(code.EBUSY, f"module {name} is in use ({lm.this._uses} user(s))")
            lm.this.live = False
        del _loaded[name]
        _order.remove(name)
    drop_in_place(lm.instance)
    _warn_leaks(lm)


def _code_of(cls: type[Any]) -> str:
    file = getattr(sys.modules.get(cls.__module__), "__file__", None) or ""
    if file.endswith("__init__.py"):
        return os.path.dirname(file) + os.sep
    return file


def _warn_leaks(lm: LoadedModule) -> None:
    """A module whose code created Python owners that are still alive after
    its exit leaked them: a kernel WARN (into dmesg), with the sites. Only
    owners with a recorded site (site tracking on) can be attributed."""
    if not lm.code:
        return
    mine = [(what, site) for key, (what, site) in live_owners().items()
            if key not in lm.owners and site is not None and site.file.startswith(lm.code)]
    if mine:
        from pyforlinux import printk
        lines = "\n".join(f"  {what}, created at {site}" for what, site in mine[:20])
        printk.WARN(True, f"module {lm.this.name}: {len(mine)} object(s) it created are "
                          f"still alive after its exit (leaked):\n{lines}")


def loaded() -> list[ThisModule]:
    """Loaded modules, in load order (``lsmod``)."""
    with _lock:
        return [_loaded[n].this for n in _order]


def get(name: str) -> Any:
    """The instance of loaded module ``name``.

    Raises:
        Error: ``ENOENT`` if it is not loaded.
    """
    with _lock:
        lm = _loaded.get(name)
    if lm is None:
        raise Error(code.ENOENT, f"module {name} is not loaded")
    return lm.instance
