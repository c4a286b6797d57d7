"""The raw bindings: cffi's ``ffi`` and ``lib`` over the kernel C.

The extension ``_pyforlinux`` is built by ``make`` (scripts/build_ext.py)
into ``$PYFORLINUX_BUILD_DIR/cffi`` (default: ``build/`` at the top of the
source tree; ``build-san/`` for the sanitizer build). This is the layer
``rust/bindings`` is in Rust for Linux: everything here is unsafe, and only
the pyforlinux modules use it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import pathlib
import sys
from typing import Any

_ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_dir() -> pathlib.Path:
    """The build directory whose extension is loaded."""
    return pathlib.Path(os.environ.get("PYFORLINUX_BUILD_DIR", _ROOT / "build")).resolve()


def _load() -> Any:
    if "_pyforlinux" in sys.modules:
        return sys.modules["_pyforlinux"]
    cffi_dir = build_dir() / "cffi"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = cffi_dir / f"_pyforlinux{suffix}"
        if path.exists():
            spec = importlib.util.spec_from_file_location("_pyforlinux", path)
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            sys.modules["_pyforlinux"] = mod
            spec.loader.exec_module(mod)
            return mod
    raise ImportError(
        f"pyforlinux: the C extension is not built in {cffi_dir}; run 'make build' "
        "(or set PYFORLINUX_BUILD_DIR)"
    )


_mod = _load()
ffi: Any = _mod.ffi
lib: Any = _mod.lib

# The kernel log's Python side: the WARN call-site hook and the bridge from
# the ``pyforlinux`` logging tree (imported last: it uses ffi and lib).
from pyforlinux import printk as _printk  # noqa: E402,F401
