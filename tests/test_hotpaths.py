"""The per-operation fast paths added for ``pyforlinux bench`` keep their meaning.

Each fast path replaces something slower that must give the same answer:
the cheap Finalizer behind the leak safety net, the cached acquisition
site of the lock validator, the ioctl number encoding of command
numbers, the cached member offsets of CList.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import Finalizer
from pyforlinux.drm import ioctl
from pyforlinux.error import Error, code
from pyforlinux.interop import CListHead, clist_create
from pyforlinux.interop.list import entry_ptr
from pyforlinux.sync import lockdep


class Obj:
    """Something to finalize."""


def test_finalizer_runs_once_when_collected() -> None:
    calls: list[str] = []
    o = Obj()
    fin = Finalizer(o, calls.append, "gone")
    assert isinstance(fin, weakref.finalize) and fin.alive and fin.atexit is False
    peek = fin.peek()
    assert peek is not None and peek[0] is o and peek[2] == ("gone",)
    del o, peek
    gc.collect()
    assert calls == ["gone"] and not fin.alive
    assert fin() is None and calls == ["gone"]


def test_finalizer_detach_and_call() -> None:
    calls: list[int] = []
    o = Obj()
    fin = Finalizer(o, calls.append, 1)
    detached = fin.detach()
    assert detached is not None and detached[0] is o and not fin.alive
    assert fin.detach() is None and fin.peek() is None
    del o, detached
    gc.collect()
    assert calls == []
    o2 = Obj()
    fin2 = Finalizer(o2, lambda: calls.append(2) or "ran")
    assert fin2() == "ran" and fin2() is None and calls == [2]
    with pytest.raises(ValueError):
        fin2.atexit = True
    fin2.atexit = False


def test_finalizer_of_an_unhashable_object() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

    calls: list[int] = []
    u = Unhashable()
    Finalizer(u, calls.append, 3)
    del u
    gc.collect()
    assert calls == [3]


def _site_here() -> tuple[str, bytes]:
    return lockdep.acquire_site(), lockdep.acquire_site_bytes()


def _other_site() -> bytes:
    return lockdep.acquire_site_bytes()


def test_cached_acquire_site_equals_the_formatted_one() -> None:
    for _ in range(3):  # the second and third come from the cache
        text, raw = _site_here()
        assert raw == text.encode() and raw.startswith(b"test_hotpaths.py:")
    assert _other_site() != raw
    assert _other_site() == _other_site()


def test_ioctl_encoding_agrees_with_the_c_macros() -> None:
    # Decoding is the C drm_ioctl()'s now; what Python still does is build
    # numbers (IO/IOR/IOW/IOWR) and the ioctl table from the uapi.
    from pyforlinux.drivers.nova.driver import NovaDrmDriver

    cmds = [int(lib.DRM_IOCTL_VERSION), int(lib.DRM_IOCTL_GEM_CLOSE),
            int(lib.DRM_IOCTL_MODE_MAP_DUMB)] + [d.cmd for d in NovaDrmDriver.IOCTLS]
    for cmd in cmds:
        cmd &= 0xFFFFFFFF
        assert ioctl._ioc(ioctl.ioc_dir(cmd), ioctl.ioc_nr(cmd), ioctl.ioc_size(cmd)) == cmd
    for d in NovaDrmDriver.IOCTLS:
        assert ffi.sizeof(d.struct) == ioctl.ioc_size(d.cmd)
        assert d.ptr_type.item.cname == d.struct


def test_member_offsets_are_cached_and_errors_still_raised() -> None:
    head = CListHead.new()
    a = clist_create(head, entry_ptr, "struct gpu_buddy_block", "link")
    b = clist_create(head, entry_ptr, "struct gpu_buddy_block", "link")
    assert a._offset == b._offset and list(a) == list(b) == []
    for _ in range(2):
        with pytest.raises(Error) as info:
            clist_create(head, entry_ptr, "struct gpu_buddy_block", "nope")
        assert info.value.errno == code.EINVAL
