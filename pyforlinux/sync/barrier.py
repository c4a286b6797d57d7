"""Memory barriers for data shared with kernel C.

Mirrors ``rust/kernel/sync/barrier.rs``: :func:`smp_mb`, :func:`smp_wmb`,
:func:`smp_rmb` order the calling thread's accesses to C memory (through
cffi) as the kernel's ``smp_*()`` do; they are the C macros (x86-64:
``mfence``/compiler barriers), called through helpers like
rust/helpers/barrier.c. Python objects need none: the interpreter
serialises them.

C header: include/asm-generic/barrier.h
Rust: rust/kernel/sync/barrier.rs
"""

from __future__ import annotations

from pyforlinux._bindings import lib


def smp_mb() -> None:
    """Full memory barrier (``smp_mb()``)."""
    lib.pfl_smp_mb()


def smp_wmb() -> None:
    """Write memory barrier (``smp_wmb()``)."""
    lib.pfl_smp_wmb()


def smp_rmb() -> None:
    """Read memory barrier (``smp_rmb()``)."""
    lib.pfl_smp_rmb()


__all__ = ["smp_mb", "smp_rmb", "smp_wmb"]
