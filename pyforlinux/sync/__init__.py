"""Synchronisation primitives: reference counting, and (issue 4) locks.

Mirrors ``rust/kernel/sync.rs``, which re-exports the items of its
submodules. This package re-exports the reference-counting types eagerly
(:class:`Arc`, :class:`ArcBorrow`, :class:`UniqueArc` from
:mod:`pyforlinux.sync.arc`; :class:`ARef`, :class:`AlwaysRefCounted` from
:mod:`pyforlinux.sync.aref`). Names of the sibling modules (``lock``,
``condvar``, ``locked_by``, ``rcu``, ``poll``) are resolved lazily on first
access, so that a sibling that is missing or still being written never
breaks ``import pyforlinux.sync``; import them from their own modules for
full static typing.

Rust: rust/kernel/sync.rs
"""

from __future__ import annotations

import importlib
from typing import Any

from pyforlinux.sync.arc import Arc, ArcBorrow, UniqueArc
from pyforlinux.sync.aref import AlwaysRefCounted, ARef

__all__ = ["ARef", "AlwaysRefCounted", "Arc", "ArcBorrow", "UniqueArc"]

# Sibling modules whose public names this package also offers (lazily).
_SIBLINGS = (
    "lock",
    "lock.mutex",
    "lock.spinlock",
    "lock.global_lock",
    "condvar",
    "locked_by",
    "rcu",
    "poll",
    "completion",
    "set_once",
    "barrier",
    "refcount",
)


def __getattr__(name: str) -> Any:
    """Resolve ``pyforlinux.sync.<Name>`` from a sibling module, on demand.

    Raises:
        AttributeError: if no (importable) sibling module defines ``name``.
    """
    if not name.startswith("_"):
        for sub in _SIBLINGS:
            try:
                mod = importlib.import_module(f"{__name__}.{sub}")
            except ImportError:
                continue
            if hasattr(mod, name):
                value = getattr(mod, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
