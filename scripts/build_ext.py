#!/usr/bin/env python3
"""Build the cffi extension ``_pyforlinux`` (the raw bindings).

Usage: build_ext.py BUILD_DIR CFLAGS_FILE

API mode, out of line: the glue is compiled against the real kernel
headers through the same include path as the kernel C (csrc/bindings/
bindings_helper.h), so struct layouts come from the compiler, never from
a hand copy. Every function declared in csrc/bindings/*.cdef is checked
against its header with a static assertion: a cdef that drifts from the
kernel fails the build (``cdef_checks``; tests/test_bindings.py shows it
has teeth).
"""
from __future__ import annotations

import pathlib
import shlex
import sys

import cffi

ROOT = pathlib.Path(__file__).resolve().parent.parent
CDEF_ORDER = [
    "runtime", "errno", "list", "scatterlist", "gpu_buddy", "dma_fence", "xarray", "sync",
    "workqueue", "drm", "bench", "device", "drm_driver", "render", "dma_resv", "syncobj",
    "shmem", "drm_exec",
]


def read_cdef() -> str:
    parts = []
    for name in CDEF_ORDER:
        path = ROOT / "csrc" / "bindings" / f"{name}.cdef"
        parts.append(f"/* {path.name} */\n" + path.read_text())
    return "\n".join(parts)


def cdef_checks(ffi: cffi.FFI) -> str:
    """C static assertions that each cdef prototype matches the header.

    Names that are macros in the kernel (``xa_lock``) have no type to
    compare and are skipped (``#ifndef``); cffi still compiles a call.
    """
    lines = []
    decls = ffi._parser._declarations  # cffi's parsed cdef (stable since 1.0)
    for key, (tp, _quals) in sorted(decls.items()):
        if not key.startswith("function "):
            continue
        name = key.split(" ", 1)[1]
        if getattr(tp, "ellipsis", False):
            continue  # variadic: cffi declares it as is
        fptr = tp.as_function_pointer() if hasattr(tp, "as_function_pointer") else tp
        cname = fptr.get_c_name("")
        lines.append(
            f"#ifndef {name}\n"
            f"_Static_assert(__builtin_types_compatible_p(__typeof__(&{name}), {cname}),\n"
            f'\t"cdef of {name}() does not match the kernel header (want {cname})");\n'
            f"#endif"
        )
    return "\n".join(lines)


def make_ffi(cflags: list[str], libpfl: pathlib.Path, cdef: str) -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    source = '#include "bindings_helper.h"\n\n/* cdef drift checks */\n' + cdef_checks(ffi)
    ffi.set_source(
        "_pyforlinux",
        source,
        include_dirs=[str(ROOT / "csrc" / "bindings")],
        extra_compile_args=[*cflags, "-Wno-unused-variable", "-Wno-unused-function"],
        extra_link_args=[
            # The whole archive: the KUnit suites register from constructors.
            "-Wl,--whole-archive", str(libpfl), "-Wl,--no-whole-archive",
            "-lurcu-memb", "-lurcu-common", "-lpthread",
            *[f for f in cflags if f.startswith("-fsanitize")],
        ],
    )
    return ffi


def main() -> int:
    build = pathlib.Path(sys.argv[1]).resolve()
    cflags = shlex.split(pathlib.Path(sys.argv[2]).read_text())
    ffi = make_ffi(cflags, build / "libpfl.a", read_cdef())
    out = ffi.compile(tmpdir=str(build / "cffi"), verbose=False)
    print(f"pyforlinux: built {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
