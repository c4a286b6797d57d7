"""Drivers written against pyforlinux, as they would be against Rust for Linux.

``nova`` is the Nova DRM driver (drivers/gpu/drm/nova upstream);
``nova_core`` is a stand-in for nova-core that owns a virtual GPU.
"""
