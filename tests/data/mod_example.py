"""A module for tests/test_module.py, loaded from its path."""

from pyforlinux.module import Param, Size, ThisModule, module

EVENTS: list[str] = []


@module(
    name="example",
    authors=["pyforlinux tests"],
    description="An example module",
    license="GPL",
    alias=["example-alias"],
    params={
        "count": Param(int, 3, "how many"),
        "verbose": Param(bool, False, "chatty"),
        "size": Param(Size, Size(4096), "a size in bytes"),
    },
)
class Example:
    def __init__(self, this_module: ThisModule) -> None:
        if this_module.param("count").value < 0:
            raise ValueError("count must be >= 0")
        self.this = this_module
        EVENTS.append(f"init count={this_module.param('count').value}")

    def close(self) -> None:
        EVENTS.append("exit")
