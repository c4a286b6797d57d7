"""pyforlinux.uapi: a driver's own UAPI header compiled on first use, cached by content."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from pyforlinux import uapi
from pyforlinux._bindings import ffi as core_ffi
from pyforlinux._bindings import lib as core_lib
from pyforlinux.error import Error, code

TOY = """\
/* SPDX-License-Identifier: MIT */
#ifndef __TOY_DRM_H__
#define __TOY_DRM_H__
#include <drm/drm.h>
#if defined(__cplusplus)
extern "C" {
#endif
#define TOY_PARAM_ANSWER 42
#define TOY_NAME "toy"
struct drm_toy_fill {
	__u32 handle;
	__u32 value;
	__u64 offset;
	__u64 size;
};
#define DRM_TOY_FILL 0x00
#define DRM_IOCTL_TOY_FILL DRM_IOWR(DRM_COMMAND_BASE + DRM_TOY_FILL, struct drm_toy_fill)
enum drm_toy_op {
	DRM_TOY_OP_NOP = 0,
	DRM_TOY_OP_FILL = 1 << 3,
};
#if defined(__cplusplus)
}
#endif
#endif
"""


@pytest.fixture
def toy(tmp_path: pathlib.Path) -> pathlib.Path:
    h = tmp_path / "toy_drm.h"
    h.write_text(TOY)
    return h


def test_types_and_constants_come_from_the_compiler(toy: pathlib.Path) -> None:
    u = uapi.load(toy)
    assert u.types == ("struct drm_toy_fill",)
    assert u.sizeof("struct drm_toy_fill") == 24
    assert u.lib.TOY_PARAM_ANSWER == 42 and u.lib.DRM_TOY_OP_FILL == 8
    # _IOWR('d', 0x40, 24), computed by the tree's own macros.
    assert u.lib.DRM_IOCTL_TOY_FILL == (3 << 30) | (24 << 16) | (ord("d") << 8) | 0x40
    assert u.lib.DRM_IOCTL_TOY_FILL >> 30 == core_lib._IOC_READ | core_lib._IOC_WRITE
    assert "TOY_NAME" not in u.constants  # a string is not an integer constant
    arg = u.ffi.new("struct drm_toy_fill *", {"handle": 1, "size": 2**40})
    assert arg.size == 2**40
    # One type system with the core: its structs are known to the driver's ffi.
    assert u.ffi.sizeof("struct drm_version") == core_ffi.sizeof("struct drm_version")
    with pytest.raises(Error) as e:
        u.sizeof("struct drm_toy_missing")
    assert e.value.errno == code.EINVAL


def test_cached_by_content_and_rebuilt_when_the_header_changes(toy: pathlib.Path) -> None:
    first = uapi.load(toy)
    assert uapi.load(toy).lib is first.lib
    toy.write_text(TOY.replace("__u64 size;", "__u64 size;\n\t__u64 flags;"))
    second = uapi.load(toy)
    assert second.sizeof("struct drm_toy_fill") == 32
    assert second.lib.DRM_IOCTL_TOY_FILL != first.lib.DRM_IOCTL_TOY_FILL
    # Another process finds the compiled module in the build directory.
    out = subprocess.run([sys.executable, "-c",
                          f"from pyforlinux import uapi; print(uapi.load({str(toy)!r}).sizeof("
                          "'struct drm_toy_fill'))"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "32"


def test_a_header_that_does_not_compile_is_one_line_with_its_line(toy: pathlib.Path) -> None:
    toy.write_text(TOY.replace("__u32 value;", "__u32 value"))
    with pytest.raises(uapi.UapiError) as e:
        uapi.load(toy)
    assert e.value.errno == code.EINVAL
    msg = str(e.value)
    assert f"{toy}:13:" in msg and "\n" not in msg


def test_missing_include_names_the_header(toy: pathlib.Path) -> None:
    toy.write_text(TOY.replace("<drm/drm.h>", "<drm/no_such.h>"))
    with pytest.raises(uapi.UapiError) as e:
        uapi.load(toy)
    assert f"{toy}:4:" in str(e.value) and "no_such.h" in str(e.value)


def test_function_bodies_are_refused(toy: pathlib.Path) -> None:
    body = "static inline int toy_f(void) { return 1; }\n"
    toy.write_text(TOY.replace("#define DRM_TOY_FILL", body + "#define DRM_TOY_FILL"))
    with pytest.raises(uapi.UapiError, match="static inline"):
        uapi.load(toy)


def test_missing_header_is_enoent(tmp_path: pathlib.Path) -> None:
    with pytest.raises(Error) as e:
        uapi.load(tmp_path / "nope.h")
    assert e.value.errno == code.ENOENT
