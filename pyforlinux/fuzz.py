"""``pyforlinux fuzz PATH``: random ioctls against any driver package.

Loads the package's modules, opens its primary node (and its render node
if any) and issues ``examples`` ioctls chosen by a seeded random generator:
the driver's own commands (its ``IOCTLS`` table) and the DRM core's, with
argument structs filled with interesting values (0, 1, all ones, page
sizes, huge sizes, earlier results), sometimes with a wrong size or a
random command number. A client may get any errno -- that is the driver
refusing bad input -- but:

- no Python exception other than :class:`~pyforlinux.error.Error` may
  reach the client, and no handler may raise one or return a non-int (the
  dispatch logs those as driver bugs in dmesg: each one is counted);
- after the clients close and the modules unload, nothing is left (no
  live kernel object, no unreleased owner) and no WARN happened
  (:func:`pyforlinux.run.with_modules`).

The exit status is 0 when all of that holds. Reproducible: same seed, same
run. The summary gives the throughput (ioctls per second). (The
Nova-specific Hypothesis fuzzer with a saved corpus is
tests/test_fuzz_ioctl.py, ``make fuzz``.)
"""

from __future__ import annotations

import random
import struct
import sys
import time
from collections import Counter
from typing import Any, TextIO

from pyforlinux import drm, printk, run
from pyforlinux._bindings import lib
from pyforlinux.driver_package import resolve
from pyforlinux.drm import ioctl
from pyforlinux.drm.client import Client
from pyforlinux.error import Error

__all__ = ["CORE_IOCTLS", "fuzz"]

#: Core ioctls sent beside the driver's (names of ``DRM_IOCTL_*``).
CORE_IOCTLS = ("VERSION", "GET_CAP", "SET_CLIENT_CAP", "GEM_CLOSE", "GEM_FLINK", "GEM_OPEN",
               "MODE_CREATE_DUMB", "MODE_MAP_DUMB", "MODE_DESTROY_DUMB", "PRIME_HANDLE_TO_FD",
               "PRIME_FD_TO_HANDLE", "GET_UNIQUE", "AUTH_MAGIC", "GET_MAGIC")

_INTERESTING = (0, 1, 2, 3, 4, 0xFF, 0x1000, 0x1001, 0xFFFF, 1 << 20, 0x7FFFFFFF, 0x80000000,
                0xFFFFFFFF)


def _commands(dev: Any) -> list[tuple[str, int]]:
    cmds = [(d.name, d.cmd) for d in getattr(dev.driver, "IOCTLS", ())]
    for name in CORE_IOCTLS:
        cmd = getattr(lib, f"DRM_IOCTL_{name}", None)
        if cmd is not None:
            cmds.append((name, int(cmd) & 0xFFFFFFFF))
    return cmds


def _arg(rng: random.Random, size: int, seen: list[int]) -> bytes:
    words = []
    for _ in range((size + 3) // 4):
        r = rng.random()
        if r < 0.4:
            words.append(0)
        elif r < 0.7 and seen:
            words.append(rng.choice(seen) & 0xFFFFFFFF)
        else:
            words.append(rng.choice(_INTERESTING))
    return struct.pack(f"<{len(words)}I", *words)[:size]


def fuzz(target: str, examples: int = 2000, seed: int = 0, params: tuple[str, ...] = (),
         out: TextIO | None = None) -> int:
    """Fuzz the driver package ``target`` (see the module documentation);
    returns the exit status and prints a summary to ``out``."""
    stream: TextIO = sys.stdout if out is None else out
    pkg = resolve(target)
    bugs: list[str] = []

    def body() -> None:
        nodes = drm.driver.nodes()
        card = run.card_node()
        dev = drm.driver.lookup_node(card)
        cmds = _commands(dev)
        rng = random.Random(seed)
        mark = printk.next_seq()
        outcomes: Counter[str] = Counter()
        seen: list[int] = []
        clients = [Client(card), *[Client(n) for n in nodes if "render" in n][:1]]
        t0 = time.perf_counter()
        try:
            for _ in range(examples):
                c = rng.choice(clients)
                name, cmd = rng.choice(cmds)
                size = ioctl.ioc_size(cmd)
                r = rng.random()
                if r < 0.05:
                    name, cmd = "random", rng.getrandbits(32)
                    size = ioctl.ioc_size(cmd)
                elif r < 0.15:
                    size = rng.randrange(0, 64)
                try:
                    _, back = c.ioctl(cmd, _arg(rng, size, seen))
                    outcomes["ok"] += 1
                    if len(back) >= 4:
                        seen.extend(struct.unpack_from("<I", back, 0))
                        del seen[:-32]
                except Error as e:
                    outcomes[e.name() or str(e.errno)] += 1
                except Exception as e:  # must not reach a client
                    bugs.append(f"{name}: {type(e).__name__} reached the client: {e}")
        finally:
            for c in clients:
                c.close()
        secs = time.perf_counter() - t0
        for rec in printk.dmesg(mark, max_level=printk.KERN_ERR):
            if "*ERROR* ioctl" in rec.text:
                bugs.append(rec.text)
        stream.write(f"fuzz: {examples} ioctls (seed {seed}) on {', '.join(nodes)} in "
                     f"{secs:.1f} s ({examples / max(secs, 1e-9):.0f}/s): "
                     + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()) + "\n")

    status = run.with_modules(pkg, params, body, stream)
    for b in bugs[:20]:
        stream.write(f"driver bug: {b}\n")
    stream.write(f"fuzz: {len(bugs)} driver bug(s)\n")
    return 1 if bugs or status else 0
