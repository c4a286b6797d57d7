"""Driver packages outside the tree: pyforlinux run/faultsweep/fuzz PATH, and
bad input -- one clear line each, a non-zero exit, nothing left loaded."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from pyforlinux import auxiliary, cli, drm, module
from pyforlinux.driver_package import resolve

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tinygpu"


def pyforlinux(*args: str, cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyforlinux", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600, check=False,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def copy_example(tmp_path: pathlib.Path) -> pathlib.Path:
    dest = tmp_path / "somewhere" / "tinygpu"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_example_runs_through_the_cli() -> None:
    p = pyforlinux("run", "examples/tinygpu", "mem_size=8M", "--dmesg")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("read back ok") == 3
    assert "mem_size=8388608" in p.stdout
    assert "live kernel objects after unload: 0" in p.stdout
    # --dmesg: the driver's drm_info() from probe, on stdout (not the console)
    dm = [line for line in p.stdout.splitlines() if line.startswith("dmesg: [")]
    assert any("[drm] tinygpu on TinyDev.tinygpu.0" in line for line in dm), p.stdout
    assert "[drm] tinygpu on" not in p.stderr


def test_a_copy_anywhere_runs_unchanged(tmp_path: pathlib.Path) -> None:
    dest = copy_example(tmp_path)
    p = pyforlinux("run", str(dest), cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "client: GEM_CLOSE x3; close" in p.stdout


def test_nova_is_a_driver_package_too() -> None:
    pkg = resolve("nova")
    assert pkg.module_sources() == ["pyforlinux.drivers.nova_core", "pyforlinux.drivers.nova"]
    assert [c.name for c in pkg.scenario_classes()] == ["nova-unbind"]
    assert resolve("pyforlinux.drivers.nova").name == "nova"


def test_fuzz_and_faultsweep_take_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fuzz", str(EXAMPLE), "--examples", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "fuzz: 300 ioctls (seed 3)" in out and "fuzz: 0 driver bug(s)" in out
    assert re.search(r"fuzz: 300 ioctls \(seed 3\) on \S.* in \d+\.\d s \(\d+/s\): ", out)
    assert cli.main(["faultsweep", str(EXAMPLE), "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["tinygpu-session", "tinygpu-bind"]
    assert cli.main(["faultsweep", str(EXAMPLE), "tinygpu-bind"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tinygpu-bind") and "NOT CLEAN" not in out
    assert not module.loaded()


def one_line_failure(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = cli.main(list(argv))
    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1, err
    assert not module.loaded() and not drm.driver.nodes() and not auxiliary.devices()
    return err


def test_bad_input_missing_or_broken_path(tmp_path: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_failure(capsys, "run", str(tmp_path / "nope"))
    assert "no such driver package" in err
    err = one_line_failure(capsys, "run", "no_such_driver_pkg")
    assert "no such driver package" in err
    (tmp_path / "empty").mkdir()
    err = one_line_failure(capsys, "run", str(tmp_path / "empty"))
    assert "not a driver package (no __init__.py)" in err
    (tmp_path / "nodecl").mkdir()
    (tmp_path / "nodecl" / "__init__.py").write_text("X = 1\n")
    assert "declares no DRIVER" in one_line_failure(capsys, "run", str(tmp_path / "nodecl"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "__init__.py").write_text("import os\nDRIVER = (\n")
    err = one_line_failure(capsys, "run", str(tmp_path / "broken"))
    assert "__init__.py:2: SyntaxError" in err


def test_bad_input_uapi_that_does_not_compile(tmp_path: pathlib.Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    dest = copy_example(tmp_path)
    header = dest / "include" / "uapi" / "drm" / "tinygpu_drm.h"
    text = header.read_text()
    header.write_text(text.replace("__u64 value;", "__u65 value;"))
    err = one_line_failure(capsys, "run", str(dest))
    line = next(i for i, t in enumerate(header.read_text().splitlines(), 1) if "__u65" in t)
    assert f"tinygpu_drm.h:{line}: " in err and "__u65" in err, err


def test_bad_input_ioctl_in_the_core_range(tmp_path: pathlib.Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    dest = copy_example(tmp_path)
    header = dest / "include" / "uapi" / "drm" / "tinygpu_drm.h"
    header.write_text(header.read_text().replace(
        "DRM_IOWR(DRM_COMMAND_BASE + DRM_TINYGPU_GEM_INFO", "DRM_IOWR(0x02"))
    err = one_line_failure(capsys, "run", str(dest))
    assert "DRM_IOCTL_TINYGPU_GEM_INFO is ioctl number 0x02, in the DRM core's range" in err


def test_bad_input_a_module_raising_in_init(tmp_path: pathlib.Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    dest = copy_example(tmp_path)
    drv = dest / "tinygpu.py"
    hook = "        self.registration = auxiliary.register_driver("
    drv.write_text(drv.read_text().replace(hook, "        raise RuntimeError('boom')\n" + hook))
    err = one_line_failure(capsys, "run", str(dest))
    assert "loading tinygpu: " in err and "tinygpu.py:" in err and "RuntimeError: boom" in err
    # the stand-in device module was loaded first: it is gone again
    assert "module: unloaded TinyDev" in capsys.readouterr().out or not module.loaded()


def test_bad_input_a_bad_module_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_failure(capsys, "run", str(EXAMPLE), "mem_size=lots")
    assert "'lots' is not a size" in err
    err = one_line_failure(capsys, "run", str(EXAMPLE), "nope=1")
    assert "no module takes a parameter 'nope'" in err


_VERSION_CLIENT = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
class Version(ctypes.Structure):  # struct drm_version
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("name_len", ctypes.c_size_t), ("name", ctypes.c_void_p),
                ("date_len", ctypes.c_size_t), ("date", ctypes.c_void_p),
                ("desc_len", ctypes.c_size_t), ("desc", ctypes.c_void_p)]
name, date, desc = (ctypes.create_string_buffer(64) for _ in range(3))
v = Version(0, 0, 0, 64, ctypes.addressof(name), 64, ctypes.addressof(date),
            64, ctypes.addressof(desc))
fd = os.open("/dev/dri/card0", os.O_RDWR)
assert libc.ioctl(fd, 0xC0406400, ctypes.addressof(v)) == 0  # DRM_IOCTL_VERSION
print(f"VERSION {name.value.decode()} {v.major}.{v.minor}.{v.patch} {desc.value.decode()!r}")
print(open("/sys/class/drm/card0/dev").read().strip())
"""


def test_run_exec_takes_the_package() -> None:
    # A real process against the out-of-tree package through the bridge:
    # the C core's VERSION fills the strings behind the struct's pointers
    # in the client's memory; the minor is the driver core's device.
    p = pyforlinux("run", str(EXAMPLE), "--exec", "--", sys.executable, "-c", _VERSION_CLIENT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.splitlines() == ["VERSION tinygpu 1.0.0 'A tiny GPU'", "226:0"], p.stdout


def test_run_exec_returns_the_program_status() -> None:
    p = pyforlinux("run", str(EXAMPLE), "--exec", "--", "/bin/sh", "-c", "exit 7")
    assert p.returncode == 7, p.stdout + p.stderr
    assert p.stdout == ""  # quiet: the program's output is the user's
