"""The cdef cannot drift from the kernel headers: the build checks every
declared prototype against its header (scripts/build_ext.py)."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shlex
import subprocess
import sysconfig

import pytest

from pyforlinux._bindings import build_dir, ffi, lib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_ext_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_ext", ROOT / "scripts" / "build_ext.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compiles(cdef: str, tmp_path: pathlib.Path) -> tuple[bool, str]:
    """Emit the extension's C for the whole ``cdef`` and compile it (syntax only)."""
    be = build_ext_module()
    cflags = shlex.split((build_dir() / "cflags").read_text())
    mod_ffi = be.make_ffi(cflags, build_dir() / "libpfl.a", cdef)
    src = tmp_path / "_check.c"
    mod_ffi.emit_c_code(str(src))
    p = subprocess.run(
        ["gcc", "-fsyntax-only", *cflags, f"-I{ROOT / 'csrc' / 'bindings'}",
         f"-I{sysconfig.get_paths()['include']}", str(src)],
        capture_output=True, text=True, check=False,
    )
    return p.returncode == 0, p.stderr


def test_real_cdef_passes_the_check(tmp_path: pathlib.Path) -> None:
    ok, err = compiles(build_ext_module().read_cdef(), tmp_path)
    assert ok, err


@pytest.mark.parametrize(
    "wrong",
    [
        "int sg_nents(struct scatterlist *sg, int extra);",  # an extra parameter
        "void *xa_load(struct xarray *xa, unsigned int index);",  # a narrower type
        "int rb_first_postorder(const struct rb_root *root);",  # wrong return type
    ],
)
def test_a_drifted_prototype_fails_the_build(tmp_path: pathlib.Path, wrong: str) -> None:
    name = wrong.split("(")[0].split()[-1].lstrip("*")
    real = build_ext_module().read_cdef()
    # The real declaration of that function (if any) replaced by the wrong one.
    decl = re.compile(rf"\b{name}\(")
    cdef = "\n".join(line for line in real.splitlines() if not decl.search(line))
    if "struct rb_root" not in cdef:
        cdef += "\nstruct rb_root { ...; };"
    ok, err = compiles(cdef + "\n" + wrong, tmp_path)
    assert not ok
    assert f"cdef of {name}() does not match the kernel header" in err


def test_struct_layouts_come_from_the_compiler() -> None:
    # cffi filled these from the real headers (cdef uses "...;").
    assert ffi.sizeof("struct list_head") == 16
    assert ffi.offsetof("struct gpu_buddy_block", "link") > 0
    assert ffi.sizeof("struct scatterlist") >= 24
    assert lib.PAGE_SIZE == 4096
