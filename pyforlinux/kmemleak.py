"""Live kernel objects with their allocation sites, as kmemleak reports them.

The runtime's allocator (csrc/runtime/slab.c) enters every object in a
live set together with two code addresses: the **site** (the call of
``kmalloc``/``kmem_cache_alloc``/``vmalloc``/``alloc_pages``/``krealloc``)
and the **caller** (where the allocating function returns to). This module
snapshots that set and names both addresses with ``addr2line`` (binutils,
installed with gcc), giving what ``/sys/kernel/debug/kmemleak`` gives in
the kernel: which object, how big, from which cache, allocated where.
An object allocated from Python through the raw bindings has its site in
the cffi glue (``_cffi_f_pfl_kmalloc``); it is reported as ``from Python``.

Unlike the kernel's kmemleak this does not scan memory for references: an
object is reported because it is live, which is what a leak check after
unload wants (every object should be gone).

C: mm/kmemleak.c (what it reports), csrc/runtime/slab.c (how it is kept)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from pyforlinux._bindings import ffi, lib

__all__ = ["CodeLocation", "LeakedObject", "owner_report", "owner_scan", "owners_since", "report",
           "scan", "since", "symbolize", "symbolize_many", "track_owner_sites"]

#: Objects listed by :func:`report` before it summarises the rest.
REPORT_LIMIT = 50


@dataclass(frozen=True)
class CodeLocation:
    """A code address, named: ``function+0xoff (file:line)``.

    ``address`` is the absolute address (``unsigned long``); ``function``,
    ``file`` and ``line`` come from the object's debug information and are
    ``"?"``/``0`` where it has none.
    """

    address: int
    object: str
    function: str
    file: str
    line: int

    @property
    def from_python(self) -> bool:
        """The address is in cffi's glue: the allocation came from Python."""
        return self.function.startswith("_cffi_")

    def __str__(self) -> str:
        if self.from_python:
            return f"from Python ({self.function})"
        where = f" ({self.file}:{self.line})" if self.line else ""
        return f"{self.function}{where}"


@dataclass(frozen=True)
class LeakedObject:
    """One live kernel object (``struct pfl_leak``).

    ``address`` is the object's address, ``size`` its size in bytes,
    ``cache`` the kmem cache name (``kmalloc``, ``vmalloc``, ``pages`` or a
    ``kmem_cache_create()`` name), ``site_address`` the allocator call and
    ``caller_address`` the allocating function's caller; :attr:`site` and
    :attr:`caller` name them (looked up on first use).
    """

    address: int
    size: int
    cache: str
    site_address: int
    caller_address: int

    @property
    def site(self) -> CodeLocation:
        """The allocator call, named."""
        return symbolize(self.site_address)

    @property
    def caller(self) -> CodeLocation:
        """The allocating function's caller, named."""
        return symbolize(self.caller_address)

    def __str__(self) -> str:
        return (f"live object {self.address:#x} (size {self.size}, cache {self.cache})\n"
                f"  allocated at {self.site}\n  called from {self.caller}")


def _short(path: str) -> str:
    # addr2line gives the build directory's absolute paths; the part from
    # the kernel tree (or csrc/) on is what a reader looks up.
    for marker in ("/kernel/", "/csrc/"):
        i = path.rfind(marker)
        if i >= 0:
            return path[i + len(marker) if marker == "/kernel/" else i + 1:]
    return path


_cache: dict[int, CodeLocation] = {}


def _object_of(address: int) -> tuple[str, int] | None:
    path = ffi.new("char[4096]")
    base = ffi.new("unsigned long *")
    # SAFETY: dladdr() only reads the dynamic linker's tables.
    if lib.pfl_addr_object(address, path, 4096, base) != 0:
        return None
    return ffi.string(path).decode(errors="replace"), int(base[0])


def _addr2line(obj: str, offsets: list[int]) -> list[tuple[str, str, int]]:
    tool = shutil.which("addr2line")
    unknown = [("?", "?", 0)] * len(offsets)
    if tool is None or not offsets:
        return unknown
    try:
        out = subprocess.run([tool, "-f", "-e", obj, *map(hex, offsets)], capture_output=True,
                             text=True, timeout=60, check=False).stdout.split("\n")
    except (OSError, subprocess.TimeoutExpired):
        return unknown
    names = []
    for i in range(len(offsets)):
        function = out[2 * i].strip() if 2 * i < len(out) else "?"
        where = out[2 * i + 1].strip() if 2 * i + 1 < len(out) else "?:0"
        file, _, line = where.rpartition(":")
        try:
            lineno = int(line.split()[0])
        except (ValueError, IndexError):
            lineno = 0
        names.append((function or "?", _short(file) or "?", lineno))
    return names


def symbolize_many(addresses: Iterable[int]) -> None:
    """Name many code addresses at once (one ``addr2line`` per object file).

    Fills the cache :func:`symbolize` reads; a report calls it first so
    that naming N objects costs one subprocess, not N.
    """
    by_object: dict[str, list[tuple[int, int]]] = {}
    for address in set(addresses) - _cache.keys():
        found = _object_of(address)
        if found is None:
            _cache[address] = CodeLocation(address, "?", "?", "?", 0)
            continue
        # A return address points after the call: look up the call itself.
        by_object.setdefault(found[0], []).append((address, address - found[1] - 1))
    for obj, pairs in by_object.items():
        for (address, _), (function, file, line) in zip(
                pairs, _addr2line(obj, [off for _, off in pairs]), strict=True):
            _cache[address] = CodeLocation(address, obj, function, file, line)


def symbolize(address: int) -> CodeLocation:
    """Name a code address of this process (``function``, ``file:line``).

    Uses ``dladdr()`` for the object and its load base and ``addr2line``
    (binutils) for the name; an address outside any loaded object, or
    without ``addr2line`` on the machine, gives ``"?"``. Cached.

    Thread context: any; runs a subprocess the first time per address.
    """
    if address not in _cache:
        symbolize_many([address])
    return _cache[address]


def scan() -> list[LeakedObject]:
    """Every live kernel object with its allocation site (hash order).

    Waits for RCU-deferred frees first (``pfl_slab_quiesce()``), as
    :func:`pyforlinux.alloc.live_objects` does, so objects freed before the
    call are not reported. Sites are named lazily (:attr:`LeakedObject.site`).

    Thread context: process context (may sleep for an RCU grace period).
    """
    lib.pfl_slab_quiesce()
    cap = 64
    while True:
        buf = ffi.new("struct pfl_leak[]", cap)
        # SAFETY: the C writes at most ``cap`` entries into ``buf``.
        n = int(lib.pfl_kmemleak_snapshot(buf, cap))
        if n <= cap:
            break
        cap = n + n // 4
    return [
        LeakedObject(int(ffi.cast("uintptr_t", e.ptr)), int(e.size),
                     ffi.string(e.cache).decode(errors="replace"), int(e.site), int(e.caller))
        for e in buf[0:n]
    ]


def report(leaks: list[LeakedObject] | None = None, limit: int = REPORT_LIMIT) -> str:
    """A kmemleak-style text report of ``leaks`` (default: :func:`scan`).

    One paragraph per object, at most ``limit`` of them, then a line
    counting the rest; an empty string when nothing is live.
    """
    if leaks is None:
        leaks = scan()
    if not leaks:
        return ""
    symbolize_many(a for o in leaks for a in (o.site_address, o.caller_address))
    leaks = sorted(leaks, key=lambda o: (o.site.function, o.site.file, o.site.line, o.address))
    parts = [str(o) for o in leaks[:limit]]
    if len(leaks) > limit:
        parts.append(f"... and {len(leaks) - limit} more live object(s)")
    return "\n".join(parts)


def since(before: Iterable[LeakedObject]) -> list[LeakedObject]:
    """The objects of :func:`scan` that were not live in ``before``.

    ``before`` is an earlier :func:`scan`; an address freed and reused
    since then counts as new only if its allocation site changed.
    """
    seen = {(o.address, o.site_address) for o in before}
    return [o for o in scan() if (o.address, o.site_address) not in seen]


# ---------------------------------------------------------------- Python owners

from pyforlinux._owner import Site, live_owners, track_owner_sites  # noqa: E402


def owner_scan() -> set[int]:
    """The keys of the Python owners (``KBox``, ``ARef``, ``Arc``,
    ``AllocatedBlocks``, ...) alive now: a mark for :func:`owners_since`."""
    return set(live_owners())


def owners_since(before: set[int]) -> list[tuple[str, Site | None]]:
    """Owners created after the mark ``before`` and not released:
    ``(what, site)``, the site being the creating Python frame when site
    tracking was on (:func:`track_owner_sites`), else ``None``."""
    return [v for k, v in live_owners().items() if k not in before]


def owner_report(owners: list[tuple[str, Site | None]], limit: int = REPORT_LIMIT) -> str:
    """kmemleak's report for Python owners: how many, then one line per
    owner kind and creation site, most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for what, site in owners:
        kind = what.split(" at 0x")[0]
        key = (kind, str(site) if site is not None else "site not recorded")
        counts[key] = counts.get(key, 0) + 1
    lines = [f"unreleased Python owners: {len(owners)}"]
    for (kind, where), n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"  {n} x {kind}, created at {where}")
    return "\n".join(lines)
