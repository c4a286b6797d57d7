"""Nova's per-client file and its ioctls (``drivers/gpu/drm/nova/file.rs``)."""

from __future__ import annotations

from typing import Any

from pyforlinux._bindings import lib
from pyforlinux.drivers import nova_core
from pyforlinux.drivers.nova.gem import NovaObject
from pyforlinux.drm.file import DriverFile
from pyforlinux.drm.file import File as DrmFile
from pyforlinux.error import Error, code


class File(DriverFile):
    """``impl drm::file::DriverFile for File`` (no per-client state)."""

    @staticmethod
    def get_param(dev: Any, getparam: Any, file: DrmFile[Any]) -> int:
        """``DRM_IOCTL_NOVA_GETPARAM``: ``NOVA_GETPARAM_VRAM_BAR_SIZE`` is the
        BAR1 size of the GPU, bytes.

        Raises:
            Error: ``EINVAL`` for any other parameter.
        """
        if getparam.param == lib.NOVA_GETPARAM_VRAM_BAR_SIZE:
            value = nova_core.gpu_of(dev.bound_parent()).bar1_size
        else:
            raise Error(code.EINVAL, f"unknown Nova parameter {int(getparam.param):#x}")
        getparam.value = value
        return 0

    @staticmethod
    def gem_create(dev: Any, req: Any, file: DrmFile[Any]) -> int:
        """``DRM_IOCTL_NOVA_GEM_CREATE``: a new object of ``req.size`` bytes
        (rounded up to 4096) backed by VRAM; ``req.handle`` is its handle.

        Raises:
            Error: ``EINVAL`` for size 0 or one that overflows when rounded;
                ``ENOSPC`` when VRAM is exhausted.
        """
        with NovaObject.create(dev, int(req.size)) as obj:
            req.handle = obj.deref().create_handle(file)
        return 0

    @staticmethod
    def gem_info(dev: Any, req: Any, file: DrmFile[Any]) -> int:
        """``DRM_IOCTL_NOVA_GEM_INFO``: ``req.size`` of the object ``req.handle``.

        Raises:
            Error: ``ENOENT`` for a handle the file does not have.
        """
        with NovaObject.lookup_handle(file, int(req.handle)) as bo:
            req.size = bo.deref().size()
        return 0
