"""pyforlinux: Rust for Linux's ``kernel`` crate, in Python, over the real Linux C.

The real Linux 6.12 sources for lists, rbtrees, scatterlists, the GPU buddy
allocator, dma-fence and xarray/idr are compiled unmodified into one cffi
extension over a small userspace runtime (csrc/). The modules of this
package mirror ``rust/kernel`` one for one and keep its names.
"""

__version__ = "0.1.0"
