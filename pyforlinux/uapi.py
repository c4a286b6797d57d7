"""A driver's own UAPI header, compiled on first use, no edit of the project.

A driver written outside the tree has its ioctl structs and numbers in a
UAPI header (``include/uapi/drm/<driver>_drm.h`` upstream). :func:`load`
turns such a header into cffi types the driver and its tests use, the way
``rust/bindings`` gives a Rust driver its UAPI through bindgen
(``rust/uapi``): the header is preprocessed with the project's include path,
its own declarations (structs, enums, typedefs and integer ``#define``\\ s)
become a cffi cdef, and an out-of-line API-mode module is compiled against
the header itself, so layouts and values come from the compiler, never from
a hand copy. The module includes the project's ffi (``ffi.include``): a
``struct drm_*`` of the core and the driver's own types live in one type
system.

Modules are cached in ``<build dir>/uapi/`` by a hash of the header's
preprocessed text, the compiler flags and the cffi version, and rebuilt
when any of them changes. A header that does not compile is one
:class:`UapiError` naming the file and line.

C: include/uapi/ (UAPI rules: Documentation/driver-api/ioctl.rst).
Rust: rust/uapi/lib.rs, rust/uapi/uapi_helper.h
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import cffi

from pyforlinux._bindings import build_dir
from pyforlinux.error import Error, code

__all__ = ["Uapi", "UapiError", "ffi_for", "load"]

_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Integer types a UAPI header uses (include/uapi/asm-generic/int-ll64.h);
# the project's own cdef does not declare them.
_UAPI_TYPES = ("__u8", "__s8", "__u16", "__s16", "__u32", "__s32", "__u64", "__s64",
               "__le16", "__le32", "__le64", "__be16", "__be32", "__be64", "__kernel_size_t")


class UapiError(Error):
    """A UAPI header that cannot be used: ``EINVAL``, with ``path:line: what``."""

    def __init__(self, message: str) -> None:
        super().__init__(code.EINVAL, message)


@dataclass(frozen=True)
class Uapi:
    """A compiled UAPI header.

    ``ffi`` knows the header's types (and, through ``ffi.include``, the
    project's); ``lib`` has its constants (``lib.DRM_IOCTL_FOO``, enum
    members, integer ``#define``\\ s); ``header`` is the resolved path;
    ``types`` the struct/union/typedef names it declares; ``constants``
    the names of its integer constants.
    """

    header: pathlib.Path
    ffi: Any
    lib: Any
    types: tuple[str, ...]
    constants: tuple[str, ...]

    def sizeof(self, ctype: str) -> int:
        """``sizeof(ctype)`` in bytes; ``EINVAL`` for a type the header lacks."""
        try:
            return int(self.ffi.sizeof(ctype))
        except (self.ffi.error, TypeError) as e:
            raise Error(code.EINVAL, f"{self.header.name}: no type {ctype!r}") from e


def _cflags() -> list[str]:
    path = build_dir() / "cflags"
    if not path.exists():
        raise Error(code.ENOENT, f"{path} is missing: build the project first (make build)")
    flags = shlex.split(path.read_text())
    kernel = build_dir() / "kernel"
    # Userspace spells the UAPI include path <drm/drm.h>, <linux/types.h>.
    return [*flags, "-idirafter", str(kernel / "include" / "uapi"),
            "-idirafter", str(kernel / "arch" / "x86" / "include" / "uapi")]


def _run_cpp(header: pathlib.Path, flags: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as tu:
        tu.write(f'#include "{header}"\n')
    try:
        proc = subprocess.run(["gcc", "-E", "-dD", *flags, tu.name], capture_output=True,
                              text=True, check=False)
        if proc.returncode == 0:
            # A preprocessed header can still be bad C: compile it too.
            check = subprocess.run(["gcc", "-fsyntax-only", *flags, tu.name],
                                   capture_output=True, text=True, check=False)
            if check.returncode != 0:
                proc = check
    finally:
        os.unlink(tu.name)
    if proc.returncode != 0:
        raise UapiError(_first_error(proc.stderr, header))
    # The temporary file's name must not change the content hash.
    return proc.stdout.replace(tu.name, "<uapi>")


def _first_error(stderr: str, header: pathlib.Path) -> str:
    for line in stderr.splitlines():
        if ": error: " in line or ": fatal error: " in line:
            where, _, what = line.partition(" error: ")
            parts = where.removesuffix(" fatal").split(":")
            if len(parts) >= 2 and parts[1].isdigit():
                return f"{parts[0]}:{parts[1]}: {what.strip()}"
            return line.strip()
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "?"
    return f"{header}: does not compile: {last}"


_MARKER = re.compile(r'^# (\d+) "([^"]*)"')
_DEFINE = re.compile(r"^#define\s+([A-Za-z_]\w*)(\(?)\s*(.*)$")


def _own_text(preprocessed: str, header: pathlib.Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The header's own code lines and object-like macros (name, value)."""
    own = False
    code_lines: list[str] = []
    macros: list[tuple[str, str]] = []
    target = str(header)
    for line in preprocessed.splitlines():
        m = _MARKER.match(line)
        if m:
            own = m.group(2) == target
            continue
        if not own:
            continue
        if line.startswith("#define"):
            d = _DEFINE.match(line)
            if d and not d.group(2) and d.group(3).strip():
                macros.append((d.group(1), d.group(3).strip()))
            continue
        if line.startswith("#"):
            continue  # #undef, pragmas
        code_lines.append(line)
    return code_lines, macros


_ENUM = re.compile(r"\benum\s*(\w*)\s*\{(.*?)\}", re.S)


def _enum_without_values(m: re.Match[str]) -> str:
    names = []
    for item in m.group(2).split(","):
        name = item.split("=")[0].strip()
        if name:
            names.append(name)
    # cffi computes the values with the compiler ("..." in API mode).
    return f"enum {m.group(1)} {{ {', '.join(names)}, ... }}"


def _cdef(code_lines: list[str], macros: list[tuple[str, str]],
          header: pathlib.Path) -> tuple[str, list[str], list[str]]:
    text = "\n".join(code_lines)
    if re.search(r"\)\s*\{", text):
        raise UapiError(f"{header}: function bodies (static inline) are not UAPI; "
                        "move them out of the header")
    text = _ENUM.sub(_enum_without_values, text)
    text = re.sub(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)", "", text)
    constants = [n for n, v in macros
                 if not v.startswith('"') and n not in _UAPI_TYPES and not n.startswith("__")]
    constants += [name.strip() for m in _ENUM.finditer(text)
                  for name in m.group(2).split(",") if name.strip() and name.strip() != "..."]
    types = re.findall(r"\b(?:struct|union)\s+(\w+)\s*\{", text)
    types = [f"struct {t}" for t in types] + re.findall(r"typedef[^;]*?(\w+)\s*;", text)
    prelude = "".join(f"typedef int... {t};\n" for t in _UAPI_TYPES)
    defines = "".join(f"#define {n} ...\n" for n, v in macros
                      if n in constants)
    return prelude + text + "\n" + defines, types, constants


def _main_builder() -> cffi.FFI:
    # The project's build-time FFI (its cdef; no sources are compiled): what
    # ffi.include() needs to share the project's types.
    sys.path.insert(0, str(_ROOT / "scripts"))
    try:
        import build_ext
    finally:
        sys.path.pop(0)
    ffi = cffi.FFI()
    ffi.cdef(build_ext.read_cdef())
    ffi.set_source("_pyforlinux", "")  # C-based, like the real one; never compiled here
    return ffi


def load(header: str | os.PathLike[str]) -> Uapi:
    """Compile (or take from the cache) the UAPI header at ``header``.

    Returns its :class:`Uapi`. The first call for a header version takes a
    compiler run (a few seconds); later calls, in this or another process,
    import the cached module.

    Raises:
        Error: ``ENOENT`` if the header (or the project's build) is missing;
            :class:`UapiError` (``EINVAL``) with ``file:line: message`` if it
            does not compile or declares what a cdef cannot hold.

    Thread context: process context; not reentrant for one header from two
    processes building at once (the last build wins; both are identical).
    """
    path = pathlib.Path(os.fspath(header)).resolve()
    if not path.is_file():
        raise Error(code.ENOENT, f"UAPI header {path} does not exist")
    flags = _cflags()
    pre = _run_cpp(path, flags)
    code_lines, macros = _own_text(pre, path)
    cdef, types, constants = _cdef(code_lines, macros, path)
    digest = hashlib.sha256("\0".join([pre, *flags, cffi.__version__]).encode()).hexdigest()[:16]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_pfl_uapi_{stem}_{digest}"
    out = build_dir() / "uapi"
    mod = _import(name, out)
    if mod is None:
        ffi = cffi.FFI()
        ffi.include(_main_builder())
        try:
            ffi.cdef(cdef)
        except cffi.CDefError as e:
            raise UapiError(f"{path}: cannot declare to cffi: "
                            f"{' '.join(str(e).split())}") from e
        ffi.set_source(name, f'#include "bindings_helper.h"\n#include "{path}"\n',
                       include_dirs=[str(_ROOT / "csrc" / "bindings")],
                       extra_compile_args=[*flags, "-w"],
                       extra_link_args=[f for f in flags if f.startswith("-fsanitize")])
        out.mkdir(parents=True, exist_ok=True)
        try:
            ffi.compile(tmpdir=str(out), verbose=False)
        except Exception as e:  # distutils' CompileError and friends
            raise UapiError(f"{path}: the generated module does not compile: {e}") from e
        mod = _import(name, out)
        assert mod is not None
    u = Uapi(path, mod.ffi, mod.lib, tuple(types), tuple(constants))
    _LOADED[str(path)] = u
    return u


_LOADED: dict[str, Uapi] = {}


def ffi_for(ctype: str) -> Any:
    """The cffi ``FFI`` that knows the C type ``ctype`` (``"struct drm_foo"``):
    the project's, else the most recently loaded driver UAPI declaring it.
    Clients and the ioctl layer use it to pack a driver's own structs.

    Raises:
        Error: ``EINVAL`` if no loaded header declares ``ctype``.
    """
    from pyforlinux._bindings import ffi

    for candidate in [ffi, *reversed(list(_LOADED.values()))]:
        f = candidate if candidate is ffi else candidate.ffi
        try:
            f.typeof(ctype)
            return f
        except (f.error, TypeError):
            continue
    raise Error(code.EINVAL, f"unknown C type {ctype!r} (not in the project's UAPI nor in "
                             "a loaded driver UAPI header)")


def _import(name: str, where: pathlib.Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        so = where / f"{name}{suffix}"
        if so.exists():
            spec = importlib.util.spec_from_file_location(name, so)
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            return mod
    return None
