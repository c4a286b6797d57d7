"""What ``pyforlinux run examples/tinyrender`` does: one client's session
through the ioctls a userspace program issues -- two buffer objects, a FILL
job then a COPY job chained by syncobjs, the core's SYNCOBJ_WAIT, and a
read-back through mmap."""

from __future__ import annotations

import pathlib
import time
from typing import Any, TextIO

from pyforlinux import uapi

UAPI = uapi.load(pathlib.Path(__file__).parent / "include/uapi/drm/tinyrender_drm.h")
SIZE = 3 * 4096


def syncobj_wait(client: Any, handle: int, timeout_ns: int = 5_000_000_000) -> None:
    """DRM_IOCTL_SYNCOBJ_WAIT (the core's) on one syncobj; absolute timeout."""
    lib = UAPI.lib
    handles = client.mm.alloc(4)
    try:
        client.mm.write(handles, handle.to_bytes(4, "little"))
        deadline = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + timeout_ns
        client.call(lib.DRM_IOCTL_SYNCOBJ_WAIT, "struct drm_syncobj_wait", handles=handles,
                    count_handles=1, timeout_nsec=deadline)
    finally:
        client.mm.free(handles)


def submit(client: Any, *, in_syncobjs: tuple[int, ...] = (), **fields: int) -> None:
    """DRM_IOCTL_TINYRENDER_SUBMIT with the in-syncobj handles in user memory
    (``in_syncobj_count`` may be given to lie about their number)."""
    lib = UAPI.lib
    arr = client.mm.alloc(max(4 * len(in_syncobjs), 4))
    try:
        client.mm.write(arr, b"".join(h.to_bytes(4, "little") for h in in_syncobjs) or b"\0" * 4)
        fields.setdefault("in_syncobj_count", len(in_syncobjs))
        client.call(lib.DRM_IOCTL_TINYRENDER_SUBMIT, "struct drm_tinyrender_submit",
                    in_syncobjs=arr, **fields)
    finally:
        client.mm.free(arr)


def run(out: TextIO, client: Any, dev: Any) -> dict[str, Any]:
    """Fill object A with 0x5a, copy it into object B behind a syncobj, wait, read B."""
    lib = UAPI.lib
    seen: dict[str, Any] = {}
    with client:
        a = client.call(lib.DRM_IOCTL_TINYRENDER_BO_CREATE, "struct drm_tinyrender_bo_create",
                        size=SIZE).handle
        b = client.call(lib.DRM_IOCTL_TINYRENDER_BO_CREATE, "struct drm_tinyrender_bo_create",
                        size=SIZE).handle
        s1 = client.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create").handle
        s2 = client.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create").handle
        out.write(f"client: objects {a}, {b} ({SIZE} bytes); syncobjs {s1}, {s2}\n")
        submit(client, op=lib.TINYRENDER_OP_FILL, dst_handle=a, size=SIZE, value=0x5A,
               out_syncobj=s1)
        submit(client, op=lib.TINYRENDER_OP_COPY, dst_handle=b, dst_offset=4096, src_handle=a,
               size=4096, in_syncobjs=(s1,), out_syncobj=s2)
        out.write("client: SUBMIT fill(A, 0x5a) -> s1; SUBMIT copy(A -> B+4096) after s1 -> s2\n")
        syncobj_wait(client, s2)
        info = client.call(lib.DRM_IOCTL_TINYRENDER_BO_INFO, "struct drm_tinyrender_bo_info",
                           handle=b)
        with client.mmap(int(info.mmap_offset), SIZE) as m:
            got = m.read(0, SIZE)
        ok = got == bytes(4096) + b"\x5a" * 4096 + bytes(4096)
        out.write(f"client: SYNCOBJ_WAIT(s2) ok; B through mmap: "
                  f"{'zeros, 4096 x 0x5a, zeros: ok' if ok else 'MISMATCH'}\n")
        seen["copy"] = ok
        for h in (s1, s2):
            client.call(lib.DRM_IOCTL_SYNCOBJ_DESTROY, "struct drm_syncobj_destroy", handle=h)
        for h in (a, b):
            client.call(lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close", handle=h)
        out.write("client: SYNCOBJ_DESTROY x2, GEM_CLOSE x2; close\n")
    return seen
