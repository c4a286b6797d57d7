"""What ``pyforlinux run`` does with tinygpu: one client's session, through
the ioctls a userspace program would issue."""

import pathlib
from typing import Any, TextIO

from pyforlinux import uapi

UAPI = uapi.load(pathlib.Path(__file__).parent / "include/uapi/drm/tinygpu_drm.h")


def run(out: TextIO, client: Any, dev: Any) -> dict[str, Any]:
    """Create objects, write and read them back through mmap, close."""
    lib = UAPI.lib
    seen: dict[str, Any] = {}
    with client:
        p = client.call(lib.DRM_IOCTL_TINYGPU_GETPARAM, "struct drm_tinygpu_getparam",
                        param=lib.TINYGPU_GETPARAM_MEM_SIZE)
        out.write(f"client: memory {p.value} bytes\n")
        handles = []
        for size in (4096, 100_000, 1 << 20):
            g = client.call(lib.DRM_IOCTL_TINYGPU_GEM_CREATE, "struct drm_tinygpu_gem_create",
                            size=size)
            i = client.call(lib.DRM_IOCTL_TINYGPU_GEM_INFO, "struct drm_tinygpu_gem_info",
                            handle=g.handle)
            data = bytes((g.handle + k) % 251 for k in range(size))
            with client.mmap(int(i.mmap_offset), size) as m:
                m.write(0, data)
                ok = m.read(0, size) == data
            out.write(f"client: object {g.handle}: {i.size} bytes, mmap at "
                      f"{int(i.mmap_offset):#x}, read back {'ok' if ok else 'MISMATCH'}\n")
            handles.append(int(g.handle))
            seen[f"object{g.handle}"] = ok
        mine = client.call(lib.DRM_IOCTL_TINYGPU_GETPARAM, "struct drm_tinygpu_getparam",
                           param=lib.TINYGPU_GETPARAM_FILE_OBJECTS)
        free = client.call(lib.DRM_IOCTL_TINYGPU_GETPARAM, "struct drm_tinygpu_getparam",
                           param=lib.TINYGPU_GETPARAM_MEM_FREE)
        out.write(f"client: this file created {mine.value} objects; {free.value} bytes free\n")
        for h in handles:
            client.call(UAPI.lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
        out.write(f"client: GEM_CLOSE x{len(handles)}; close\n")
    return seen
