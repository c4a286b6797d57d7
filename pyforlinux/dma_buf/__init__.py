"""DMA buffer sharing primitives: fences.

Mirrors ``rust/kernel/dma_buf`` (Philipp Stanner's series), which
re-exports its fence types; see :mod:`pyforlinux.dma_buf.dma_fence`.

Rust: rust/kernel/dma_buf.rs
"""

from __future__ import annotations

from pyforlinux.dma_buf.dma_fence import (
    MAX_SCHEDULE_TIMEOUT,
    CallbackError,
    DmaFence,
    DmaFenceAllocation,
    DmaFenceCtx,
    FenceContext,
    in_fence_callback,
)

__all__ = [
    "MAX_SCHEDULE_TIMEOUT",
    "CallbackError",
    "DmaFence",
    "DmaFenceAllocation",
    "DmaFenceCtx",
    "FenceContext",
    "in_fence_callback",
]
