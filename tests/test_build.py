"""The build's bad input: one clear line and a non-zero exit, never a
compiler traceback (issue: wrong KERNEL_SRC, another kernel version, an
unwritable build directory)."""

from __future__ import annotations

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def kernel_src(tree: str, out: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KERNEL_SRC=tree)
    return subprocess.run(["sh", str(ROOT / "scripts" / "kernel-src.sh"), str(out)],
                          capture_output=True, text=True, env=env, check=False)


def fake_tree(root: pathlib.Path, version: str) -> pathlib.Path:
    """A tree with every file pyforlinux extracts, of ``version`` (e.g. "6.1")."""
    major, minor = version.split(".")
    for line in (ROOT / "scripts" / "kernel-files.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        path = root / line
        if line.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    (root / "Makefile").write_text(f"VERSION = {major}\nPATCHLEVEL = {minor}\nSUBLEVEL = 0\n")
    return root


def test_missing_tree_is_one_line(tmp_path: pathlib.Path) -> None:
    p = kernel_src(str(tmp_path / "nowhere"), tmp_path / "b")
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1 and "is not a directory" in p.stderr


def test_not_a_kernel_tree_is_one_line(tmp_path: pathlib.Path) -> None:
    p = kernel_src(str(tmp_path), tmp_path / "b")
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1 and "is not a Linux source tree" in p.stderr


def test_another_major_version_is_refused(tmp_path: pathlib.Path) -> None:
    tree = fake_tree(tmp_path / "linux-6.1", "6.1")
    p = kernel_src(str(tree), tmp_path / "b")
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1
    assert "kernel 6.1.0 is not supported: pyforlinux needs Linux 6.12" in p.stderr
    assert not (tmp_path / "b" / "kernel").exists()


def test_unwritable_build_dir_stops_make_with_one_line() -> None:
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "build", "BUILD_DIR=/proc/pyforlinux"],
                       capture_output=True, text=True, check=False)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1
    assert "build directory /proc/pyforlinux is not writable" in p.stderr
