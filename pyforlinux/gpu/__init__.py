"""GPU support: the buddy allocator.

Mirrors ``rust/kernel/gpu.rs``; see :mod:`pyforlinux.gpu.buddy`.

Rust: rust/kernel/gpu.rs
"""

from __future__ import annotations

from pyforlinux.gpu.buddy import (
    AllocatedBlock,
    AllocatedBlocks,
    GpuBuddy,
    GpuBuddyAllocFlag,
    GpuBuddyAllocFlags,
    GpuBuddyAllocMode,
    GpuBuddyParams,
)

__all__ = [
    "AllocatedBlock",
    "AllocatedBlocks",
    "GpuBuddy",
    "GpuBuddyAllocFlag",
    "GpuBuddyAllocFlags",
    "GpuBuddyAllocMode",
    "GpuBuddyParams",
]
