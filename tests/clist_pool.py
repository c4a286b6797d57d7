"""Shared by the CList tests: gpu_buddy_blocks that C would own, linked by
``link``, and lists built from them with the real list.h."""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux.interop import CListHead

BLOCK = "struct gpu_buddy_block"
GFP_ZEROED = lib.GFP_KERNEL | lib.__GFP_ZERO  # (not in a class body: name mangling)


def link(p: Any) -> Any:
    """``&p->link`` (a ``struct list_head *``)."""
    return ffi.addressof(p, "link")


class Pool:
    """``n`` kmalloc'ed gpu_buddy_blocks (entries C would own), linked by ``link``."""

    def __init__(self, n: int) -> None:
        size = ffi.sizeof(BLOCK)
        self.entries: list[Any] = [
            ffi.cast(f"{BLOCK} *", lib.pfl_kmalloc(size, GFP_ZEROED, 0)) for _ in range(n)
        ]
        for e in self.entries:
            lib.INIT_LIST_HEAD(link(e))
        self.index = {int(ffi.cast("uintptr_t", e)): i for i, e in enumerate(self.entries)}

    def idx(self, p: Any) -> int:
        """The pool index of entry pointer ``p``."""
        return self.index[int(ffi.cast("uintptr_t", p))]

    def kill(self, i: int) -> None:
        """Free entry ``i`` now (as C would, under a reader's feet)."""
        lib.pfl_kfree(self.entries[i], 0)
        self.entries[i] = None

    def free(self) -> None:
        """Free every entry still allocated."""
        for e in self.entries:
            if e is not None:
                lib.pfl_kfree(e, 0)


def build(pool: Pool, order: list[int]) -> CListHead:
    """A C list of the pool's entries in ``order`` (``list_add_tail``)."""
    head = CListHead.new()
    for i in order:
        lib.list_add_tail(link(pool.entries[i]), head.as_raw())
    return head
