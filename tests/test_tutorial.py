"""docs/writing-a-driver.md is executed: its file blocks are examples/tinygpu
file for file, written to a fresh directory, and every command of its
console blocks runs there and prints the lines shown."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-a-driver.md"
BLOCK = re.compile(r"^```(\w+)(?: file=(\S+))?\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(DOC.read_text())]


def files() -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for _, name, text in blocks():
        if name:
            out.setdefault(name, []).append(text.rstrip("\n"))
    return {name: "\n\n\n".join(parts) + "\n" for name, parts in out.items()}


def test_the_tutorial_is_the_example_file_for_file() -> None:
    written = files()
    example = {str(p.relative_to(ROOT / "examples")): p.read_text()
               for p in (ROOT / "examples" / "tinygpu").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert set(written) == set(example)
    for name, text in written.items():
        assert text == example[name], f"{name} differs between the tutorial and examples/"


def commands() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for lang, _, text in blocks():
        if lang != "console":
            continue
        for line in text.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif out and line.strip():
                out[-1][1].append(line.strip())
    return out


def test_the_tutorial_has_the_commands_it_promises() -> None:
    ran = [c.split()[:2] for c, _ in commands()]
    assert ["pyforlinux", "run"] in ran and ["pyforlinux", "faultsweep"] in ran
    assert ["pyforlinux", "fuzz"] in ran and ["python", "-m"] in ran


@pytest.fixture(scope="module")
def tutorial_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    top = tmp_path_factory.mktemp("tutorial")  # an empty directory, outside the tree
    for name, text in files().items():
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return top


@pytest.mark.parametrize("command", [c for c, _ in commands()])
def test_each_command_of_the_tutorial_runs_as_shown(tutorial_dir: pathlib.Path,
                                                    command: str) -> None:
    expected = dict(commands())[command]
    argv = shlex.split(command)
    if argv[0] == "pyforlinux":
        argv = [sys.executable, "-m", "pyforlinux", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:], "-p", "no:cacheprovider"]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run(argv, cwd=tutorial_dir, capture_output=True, text=True, env=env,
                       timeout=600, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    for want in expected:
        assert any(want in line for line in lines), f"{want!r} not in:\n{p.stdout}"
