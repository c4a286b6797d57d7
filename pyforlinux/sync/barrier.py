"""Memory barriers for data shared with kernel C.

Mirrors ``rust/kernel/sync/barrier.rs``: :func:`mb`, :func:`smp_mb` and
:func:`dma_mb` take an ordering, :data:`Full`, :data:`Read` or
:data:`Write` (``mb(Read)`` is the C ``rmb()``, ``smp_mb(Write)`` is
``smp_wmb()``, ...), and order the calling thread's accesses to C memory
(through cffi) as the kernel's barriers do: they are the C macros of the
x86-64 build, called through helpers like rust/helpers/barrier.c. Python
objects need none: the interpreter serialises them.

C header: include/asm-generic/barrier.h, arch/x86/include/asm/barrier.h
Rust: rust/kernel/sync/barrier.rs
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pyforlinux._bindings import lib


class Ordering:
    """A barrier ordering (Rust: ``barrier::ordering``); use the three values."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


Full: Final = Ordering("Full")
"""All preceding accesses before all succeeding ones."""
Read: Final = Ordering("Read")
"""Preceding loads before succeeding loads."""
Write: Final = Ordering("Write")
"""Preceding stores before succeeding stores."""

_MB: Final[dict[Ordering, Callable[[], None]]] = {
    Full: lib.pfl_mb, Read: lib.pfl_rmb, Write: lib.pfl_wmb,
}
_SMP: Final[dict[Ordering, Callable[[], None]]] = {
    Full: lib.pfl_smp_mb, Read: lib.pfl_smp_rmb, Write: lib.pfl_smp_wmb,
}
_DMA: Final[dict[Ordering, Callable[[], None]]] = {
    Full: lib.pfl_dma_mb, Read: lib.pfl_dma_rmb, Write: lib.pfl_dma_wmb,
}


def _run(table: dict[Ordering, Callable[[], None]], ordering: Ordering) -> None:
    try:
        fn = table[ordering]
    except (KeyError, TypeError):
        raise TypeError(f"a barrier ordering is Full, Read or Write, not {ordering!r}") from None
    fn()


def mb(ordering: Ordering) -> None:
    """Memory barrier (``mb()``/``rmb()``/``wmb()``). Rust: ``barrier::mb``"""
    _run(_MB, ordering)


def smp_mb(ordering: Ordering) -> None:
    """Barrier between CPUs (``smp_mb()``/``smp_rmb()``/``smp_wmb()``).
    Rust: ``barrier::smp_mb``"""
    _run(_SMP, ordering)


def dma_mb(ordering: Ordering) -> None:
    """Barrier against bus-mastering devices (``dma_mb()``/``dma_rmb()``/
    ``dma_wmb()``). Rust: ``barrier::dma_mb``"""
    _run(_DMA, ordering)


__all__ = ["Full", "Ordering", "Read", "Write", "dma_mb", "mb", "smp_mb"]
