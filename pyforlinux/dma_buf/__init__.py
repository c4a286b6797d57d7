"""DMA buffer sharing primitives: fences and reservation objects.

Mirrors ``rust/kernel/dma_buf`` (Philipp Stanner's series, v2), which
re-exports its fence types; see :mod:`pyforlinux.dma_buf.dma_fence`.

Rust: rust/kernel/dma_buf/mod.rs
"""

from __future__ import annotations

from pyforlinux.dma_buf import sync_file
from pyforlinux.dma_buf.dma_fence import (
    CallbackError,
    DriverFence,
    DriverFenceAllocation,
    DriverFenceBorrow,
    Fence,
    FenceCb,
    FenceCbRegistration,
    FenceCtx,
    FenceCtxOps,
    SignallingGuard,
    begin_signalling,
    in_fence_callback,
)
from pyforlinux.dma_buf.dma_resv import DmaResv, DmaResvGuard, Usage

__all__ = [
    "CallbackError",
    "DmaResv",
    "DmaResvGuard",
    "DriverFence",
    "DriverFenceAllocation",
    "DriverFenceBorrow",
    "Fence",
    "FenceCb",
    "FenceCbRegistration",
    "FenceCtx",
    "FenceCtxOps",
    "SignallingGuard",
    "Usage",
    "begin_signalling",
    "in_fence_callback",
    "sync_file",
]
