"""Modules: declaration, typed parameters, load/unload, in-use refusal."""

from __future__ import annotations

import pathlib
import sys

import pytest

from pyforlinux import module
from pyforlinux.error import Error, code
from pyforlinux.module import parse_size

EXAMPLE = str(pathlib.Path(__file__).parent / "data" / "mod_example.py")


def events() -> list[str]:
    return sys.modules["pyforlinux_mod_mod_example"].EVENTS  # type: ignore[no-any-return]


def test_load_with_params_and_unload() -> None:
    this = module.load(EXAMPLE, ["count=7", "verbose=y", "size=64K"])
    try:
        assert this.name == "example"
        assert this.info.license == "GPL" and this.info.alias == ("example-alias",)
        assert this.param("count").value == 7
        assert this.param("verbose").value is True
        assert this.param("size").value == 65536
        assert [m.name for m in module.loaded()] == ["example"]
        assert events()[-1] == "init count=7"
        with pytest.raises(Error) as e:
            module.load(EXAMPLE)
        assert e.value.errno == code.EEXIST
    finally:
        module.unload("example")
    assert events()[-1] == "exit"
    assert module.loaded() == []


def test_defaults_apply_on_a_fresh_load() -> None:
    this = module.load(EXAMPLE)
    module.unload("example")
    assert this.param("count").value == 3 and this.param("size").value == 4096


@pytest.mark.parametrize("arg", ["nope=1", "count=abc", "verbose=maybe", "size=12Q", "count"])
def test_bad_parameters_are_einval_and_nothing_loads(arg: str) -> None:
    with pytest.raises(Error) as e:
        module.load(EXAMPLE, [arg])
    assert e.value.errno == code.EINVAL
    assert module.loaded() == []


def test_unload_in_use_is_ebusy_and_unknown_is_enoent() -> None:
    this = module.load(EXAMPLE)
    assert this.try_module_get()
    with pytest.raises(Error) as e:
        module.unload("example")
    assert e.value.errno == code.EBUSY
    this.module_put()
    module.unload("example")
    assert not this.try_module_get()  # gone: no new users
    with pytest.raises(Error) as e:
        module.unload("example")
    assert e.value.errno == code.ENOENT
    with pytest.raises(Error) as e:
        this.module_put()
    assert e.value.errno == code.EINVAL


def test_missing_module_is_enoent() -> None:
    with pytest.raises(Error) as e:
        module.load("/no/such/module.py")
    assert e.value.errno == code.ENOENT


@pytest.mark.parametrize(
    ("text", "value"), [("4096", 4096), ("0x1000", 4096), ("64K", 65536), ("512M", 512 << 20),
                        ("1g", 1 << 30)])
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value
