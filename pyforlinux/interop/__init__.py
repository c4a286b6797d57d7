"""Interoperation with data structures that C owns.

Mirrors ``rust/kernel/interop.rs``: :mod:`pyforlinux.interop.list` reads
C ``list_head`` rings (:class:`~pyforlinux.interop.list.CList`).

Rust: rust/kernel/interop.rs
"""

from __future__ import annotations

from pyforlinux.interop.list import CList, CListHead, clist_create

__all__ = ["CList", "CListHead", "clist_create"]
