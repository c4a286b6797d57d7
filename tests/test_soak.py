"""Concurrency soak: client threads (and client processes) running random
valid and invalid Nova sessions at once, with the lock-order validator on.

Each worker thread opens a client (primary or render node), runs random
steps -- create, info, map and write/read back through the mapping, close,
and invalid requests whose errno is known exactly (a handle it does not
hold, a closed handle, an argument shorter than the command says (EFAULT),
an unknown command, a bad user
pointer, VRAM requests too big, a primary-only ioctl on the render node)
-- and now and then ends the session (closing the file with handles still
open) and starts another. Every ``STEPS`` steps the workers meet the main
thread at a barrier, which checks the VRAM accounting exactly: the bytes the
buddy allocator has handed out equal the sizes of the GEM objects alive,
which equal what the workers believe they hold. At the end: VRAM back to
full, no file, no object, no lock-validator report of any kind (the
conftest fixture also checks no live kernel object and no WARN).

Variants: with 2 % of the workers' allocations failing (fail_probability),
with the device unbinding under busy workers, and with clients in other
processes (real ones, through the device-node bridge) beside the threads.
A submitting variant drives the sample render driver (examples/tinyrender):
client threads chaining FILL and COPY jobs through syncobjs, checking the
bytes against a model, beside its real libdrm client's job loop.
``PYFORLINUX_SOAK_SECONDS`` (default 2) and ``PYFORLINUX_SOAK_THREADS``
(default 4) make it longer or wider; only bounded waits, no timing
assertions.
"""

from __future__ import annotations

import os
import pathlib
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pyforlinux import alloc, drm, module
from pyforlinux._bindings import lib
from pyforlinux.devnode import Bridge
from pyforlinux.drivers import nova_core
from pyforlinux.drm.client import Client
from pyforlinux.drm.ioctl import IOWR
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep

SECONDS = float(os.environ.get("PYFORLINUX_SOAK_SECONDS", "2"))
THREADS = int(os.environ.get("PYFORLINUX_SOAK_THREADS", "4"))
STEPS = 40  # steps between two accounting checkpoints
VRAM = 32 << 20
PAGE = 4096
WAIT = 120.0  # bounded waits (barriers, joins): a hang fails instead of blocking

CREATE = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
INFO = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
CLOSE = (lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close")
MAP = (lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb")
VERSION = (lib.DRM_IOCTL_VERSION, "struct drm_version")


@dataclass
class Stack:
    """The loaded Nova stack."""

    card: str
    render: str
    dev: Any
    gpu: nova_core.VirtualGpu


@pytest.fixture
def nova() -> Iterator[Stack]:
    module.load("pyforlinux.drivers.nova_core", [f"vram_size={VRAM}", "bar1_size=16M"])
    module.load("pyforlinux.drivers.nova")
    try:
        nodes = drm.driver.nodes()
        card = next(n for n in nodes if "card" in n)
        render = next(n for n in nodes if "renderD" in n)
        dev = drm.driver.lookup_node(card)
        yield Stack(card, render, dev, nova_core.gpu_of(dev.bound_parent()))
    finally:
        module.unload("Nova")
        module.unload("NovaCore")


def errno_of(fn: Any, *args: Any, **kw: Any) -> int:
    try:
        fn(*args, **kw)
    except Error as e:
        return int(e.errno or 0)
    return 0


@dataclass
class Worker:
    """One client thread's state: its session and the objects it holds."""

    index: int
    stack: Stack
    rng: random.Random
    client: Client | None = None
    render: bool = False
    authed: bool = False  # may issue AUTH ioctls: render node, or the DRM master
    held: dict[int, int] = field(default_factory=dict)  # handle -> size (page-rounded)
    closed: list[int] = field(default_factory=list)  # handles closed in this session
    counts: dict[str, int] = field(default_factory=dict)

    def open(self) -> Client:
        if self.client is None:
            self.render = self.rng.random() < 0.5
            self.client = Client(self.stack.render if self.render else self.stack.card)
            # A primary-node client is authenticated if it is the master (the
            # first to open) or capable(CAP_SYS_ADMIN) (drm_file_alloc()); the
            # others may not create or look up objects (DRM_AUTH): EACCES.
            self.authed = self.render or self.client.file.authenticated()
            self.held.clear()
            self.closed.clear()
        return self.client

    def end_session(self) -> None:
        if self.client is not None:
            self.client.close()  # with handles still open: the file releases them
            self.client = None
            self.held.clear()

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def step(self) -> None:
        c = self.open()
        r = self.rng.random()
        if not self.authed and r < 0.5:
            got = errno_of(c.call, *CREATE, size=PAGE)
            if got == code.ENODEV:
                raise Error(code.ENODEV, "the device is going")  # only in the unbind variant
            assert got == code.EACCES
            self.count("create unauthenticated: EACCES")
        elif r < 0.25 and len(self.held) < 8:
            size = self.rng.choice([1, PAGE, 3 * PAGE + 5, 64 << 10, 256 << 10])
            h = int(c.call(*CREATE, size=size).handle)
            self.held[h] = -(-size // PAGE) * PAGE
            if h in self.closed:  # handles are reused, lowest free first (idr)
                self.closed.remove(h)
            self.count("create")
        elif r < 0.35 and self.held:
            h = self.rng.choice(list(self.held))
            assert int(c.call(*INFO, handle=h).size) == self.held[h]
            self.count("info")
        elif r < 0.5 and self.held:
            h = self.rng.choice(list(self.held))
            if self.render:  # MODE_MAP_DUMB is not a render-node ioctl
                got = errno_of(c.call, *MAP, handle=h)
                if got == code.ENODEV:  # drm_ioctl(): unplugged comes before permissions
                    raise Error(code.ENODEV, "the device is going")  # only in the unbind variant
                assert got == code.EACCES
                self.count("map on render: EACCES")
                return
            off = int(c.call(*MAP, handle=h).offset)
            data = bytes([self.index, h & 0xFF]) * self.rng.randint(1, 512)
            at = self.rng.randrange(0, self.held[h] - len(data) + 1)
            with c.mmap(off, self.held[h]) as m:
                m.write(at, data)
                assert m.read(at, len(data)) == data
            self.count("map+rw")
        elif r < 0.62 and self.held:
            h = self.rng.choice(list(self.held))
            c.call(*CLOSE, handle=h)
            del self.held[h]
            self.closed.append(h)
            self.count("close")
        elif r < 0.9:
            self.invalid(c)
        elif r < 0.95:
            self.end_session()
            self.count("session end")
        else:
            addr = c.mm.alloc(32)
            v = c.call(*VERSION, name=addr, name_len=32)
            assert c.mm.read(addr, int(v.name_len)) == b"nova"
            self.count("version")

    def invalid(self, c: Client) -> None:
        """A request with a known errno."""
        free = next(h for h in range(1000 + self.index * 100, 1 << 30) if h not in self.held)
        kind = self.rng.randrange(8)
        if not self.authed and kind in (0, 5, 6):
            kind = 7  # AUTH ioctls: EACCES before the bad argument is seen
        if kind == 0:
            got, want = errno_of(c.call, *INFO, handle=free), code.ENOENT
        elif kind == 1 and self.closed:
            got, want = errno_of(c.call, *CLOSE, handle=self.closed[-1]), code.EINVAL
        elif kind == 2:
            # drm_ioctl() copies _IOC_SIZE(cmd) = 16 bytes from an 8-byte buffer
            got, want = errno_of(c.ioctl, lib.DRM_IOCTL_NOVA_GEM_CREATE, bytes(8)), code.EFAULT
        elif kind == 3:
            got, want = errno_of(c.ioctl, IOWR(0x4F, "struct drm_nova_gem_info"),
                                 bytes(16)), code.EINVAL
        elif kind == 4:
            got, want = errno_of(c.call, *VERSION, name=0x1000, name_len=8), code.EFAULT
        elif kind == 5:
            got, want = errno_of(c.call, *CREATE, size=VRAM * 2), code.EINVAL
        elif kind == 6:
            got, want = errno_of(c.call, *CREATE, size=0), code.EINVAL
        else:
            got, want = errno_of(c.mmap, 0x1234, PAGE), code.EINVAL
        if got == code.ENODEV:
            raise Error(code.ENODEV, "the device is going")  # only in the unbind variant
        assert got == want, (kind, got, want)
        self.count("invalid")


def _size(obj: Any, others: bool) -> int:
    """A GEM object's size; with ``others``, 0 for one that another process's
    serving thread freed after the snapshot of the device's objects (only
    the workers' own objects, which are all still held, must be counted)."""
    try:
        return int(obj.size())
    except Error as e:
        if others and e.errno == code.EINVAL:
            return 0
        raise


def _check_accounting(stack: Stack, workers: list[Worker], others: bool) -> None:
    """VRAM handed out == the GEM objects alive == what the workers hold. With
    ``others`` (clients in other processes, served by threads that do not stop
    at the barrier, so the two counts may be mid-update) only: both >= it."""
    used = stack.gpu.buddy.size() - stack.gpu.buddy.avail()
    objects = sum(_size(o, others) for o in list(stack.dev.gem_objects.values()))
    believed = sum(sum(w.held.values()) for w in workers)
    mine = sum(w.client is not None for w in workers)
    if others:
        assert used >= believed and objects >= believed, (used, objects, believed)
        assert stack.dev.open_count() >= mine
    else:
        assert used == objects == believed, (used, objects, believed)
        assert stack.dev.open_count() == mine


def soak(stack: Stack, threads: int, seconds: float, seed: int,
         others: bool = False, fail_ppm: int = 0) -> list[Worker]:
    """Run ``threads`` workers for about ``seconds``, checking at every barrier.

    With ``fail_ppm``, each step's allocations fail with that probability
    (parts per million, per thread): a step may then end with ``ENOMEM``,
    having changed nothing the worker tracks.
    """
    workers = [Worker(i, stack, random.Random(seed * 1000 + i)) for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def body(w: Worker) -> None:
        try:
            while True:
                for _ in range(STEPS):
                    if not fail_ppm:
                        w.step()
                        continue
                    try:
                        with alloc.fail_probability(fail_ppm):
                            w.step()
                    except Error as e:
                        if e.errno != code.ENOMEM:
                            raise
                        w.count("ENOMEM")
                barrier.wait(WAIT)  # checkpoint: the main thread checks
                barrier.wait(WAIT)  # ... and lets everyone go on
                if stop.is_set():
                    break
        except threading.BrokenBarrierError:
            pass
        except BaseException as e:
            errors.append(e)
            barrier.abort()
        finally:
            try:
                w.end_session()
            except BaseException as e:
                errors.append(e)

    ts = [threading.Thread(target=body, args=(w,), name=f"soak-{w.index}") for w in workers]
    for t in ts:
        t.start()
    deadline = time.monotonic() + seconds
    checkpoints = 0
    try:
        while True:
            barrier.wait(WAIT)
            _check_accounting(stack, workers, others)
            checkpoints += 1
            if time.monotonic() >= deadline:
                stop.set()
            barrier.wait(WAIT)
            if stop.is_set():
                break
    except threading.BrokenBarrierError:
        pass
    finally:
        stop.set()
        for t in ts:
            t.join(WAIT)
    assert not any(t.is_alive() for t in ts), "a worker hung"
    if errors:
        raise errors[0]
    assert checkpoints >= 1
    return workers


def _assert_clean_end(stack: Stack, before: dict[str, int]) -> None:
    assert stack.gpu.buddy.avail() == stack.gpu.buddy.size() == VRAM
    assert not stack.dev.gem_objects and stack.dev.open_count() == 0
    assert lockdep.counts() == before  # zero inversions, recursions, might_sleeps...
    assert all(m.refcount() == 0 for m in module.loaded())


def test_client_threads_soak(nova: Stack) -> None:
    assert lockdep.is_enabled()
    before = lockdep.counts()
    workers = soak(nova, THREADS, SECONDS, seed=1)
    _assert_clean_end(nova, before)
    total: dict[str, int] = {}
    for w in workers:
        for k, v in w.counts.items():
            total[k] = total.get(k, 0) + v
    print(f"soak: {THREADS} threads, {SECONDS} s: {dict(sorted(total.items()))}")
    for what in ("create", "info", "map+rw", "close", "invalid", "session end"):
        assert total.get(what, 0) > 0, what


def test_client_threads_soak_with_allocation_failures(nova: Stack) -> None:
    """The same, with 2 % of the workers' allocations failing: every error path
    taken concurrently, and still exact VRAM accounting and nothing left."""
    before = lockdep.counts()
    failures = alloc.injected_failures()
    workers = soak(nova, THREADS, SECONDS / 2, seed=3, fail_ppm=20_000)
    _assert_clean_end(nova, before)
    assert alloc.injected_failures() > failures
    assert sum(w.counts.get("ENOMEM", 0) for w in workers) > 0


# ---------------------------------------------------------------- the device goes under its clients


def _unbind_under_workers(seed: int) -> None:
    module.load("pyforlinux.drivers.nova_core", [f"vram_size={VRAM}"])
    module.load("pyforlinux.drivers.nova")
    nodes = drm.driver.nodes()
    card = next(n for n in nodes if "card" in n)
    dev = drm.driver.lookup_node(card)
    stack = Stack(card, next(n for n in nodes if "renderD" in n), dev,
                  nova_core.gpu_of(dev.bound_parent()))
    steps = [0]
    busy = threading.Event()
    unbinding = threading.Event()  # from here on ENODEV/ENOENT are expected: the
    errors: list[BaseException] = []  # VRAM is revoked first, then the device unplugged

    def body(w: Worker) -> None:
        try:
            while True:
                try:
                    w.step()
                except Error as e:
                    if e.errno in (code.ENODEV, code.ENOENT) and unbinding.is_set():
                        break
                    raise
                steps[0] += 1
                if steps[0] >= 200:
                    busy.set()
        except BaseException as e:
            errors.append(e)
            busy.set()
        finally:
            try:
                w.end_session()
            except BaseException as e:
                errors.append(e)

    workers = [Worker(i, stack, random.Random(seed * 10 + i)) for i in range(THREADS)]
    ts = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in ts:
        t.start()
    assert busy.wait(WAIT)
    unbinding.set()
    module.unload("NovaCore")  # unbind: unplug waits for the ioctls in flight
    for t in ts:
        t.join(WAIT)
    assert not any(t.is_alive() for t in ts), "a worker hung"
    module.unload("Nova")
    if errors:
        raise errors[0]
    assert dev.unplugged and not dev.gem_objects and dev.open_count() == 0


def test_the_device_unbinds_under_busy_client_threads() -> None:
    """nova-core is unloaded while the workers run: Nova unbinds under them.
    Each worker sees ENODEV (or ENOENT: the node is gone) and closes its
    client; nothing is left, nothing hangs."""
    before = lockdep.counts()
    for seed in range(3):
        _unbind_under_workers(seed)
    assert lockdep.counts() == before


def test_a_resource_added_by_an_ioctl_in_flight_while_the_device_unbinds() -> None:
    """The unbind holds the device lock while drm_dev_unplug() waits for the
    ioctls inside drm_dev_enter(); one of them adding a device resource (as
    GEM_CREATE adds its VRAM) must not need that lock. It did: deadlock. The
    resource is refused (ENODEV: the device is unbinding) or released by the
    unbind."""
    from pyforlinux.devres import Devres

    module.load("pyforlinux.drivers.nova_core", ["vram_size=4M"])
    module.load("pyforlinux.drivers.nova")
    dev = drm.driver.lookup_node(next(n for n in drm.driver.nodes() if "card" in n))
    adev = dev.bound_parent()
    inside = threading.Event()
    released: list[str] = []
    errors: list[BaseException] = []

    class Resource:
        def close(self) -> None:
            released.append("released")

    def in_flight() -> None:
        try:
            with dev.enter():  # an ioctl, in flight
                inside.set()
                end = time.monotonic() + WAIT
                while not dev.unplugged and time.monotonic() < end:
                    time.sleep(0.001)  # until the unbind waits for us
                Devres(adev, Resource())
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=in_flight)
    t.start()
    assert inside.wait(WAIT)
    u = threading.Thread(target=module.unload, args=("NovaCore",))
    u.start()
    t.join(WAIT)
    u.join(WAIT)
    assert not t.is_alive() and not u.is_alive(), "deadlock: unbind vs devm_add_action"
    module.unload("Nova")
    # Over the kernel's driver core the device is already unbinding (its bound
    # views stale) while drm_dev_unplug() waits: the resource is refused with
    # ENODEV -- or, had it been added, released by the unbind. Never a deadlock.
    assert [e.errno for e in errors if isinstance(e, Error)] + [
        e for e in errors if not isinstance(e, Error)] in ([], [code.ENODEV])
    assert released == ([] if errors else ["released"])


def test_close_during_an_ioctl_defers_the_release_until_it_returns(
    nova: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close(2) while another thread is inside an ioctl on the same file: as
    with the kernel's fget()/fput(), the ioctl completes and the release runs
    when it returns, deleting the handle it made (it used to leak it)."""
    from pyforlinux.drivers.nova.gem import NovaObject

    inside, closed = threading.Event(), threading.Event()
    create = NovaObject.create

    def paused_create(dev: Any, size: int) -> Any:
        inside.set()
        closed.wait(WAIT)
        return create(dev, size)

    monkeypatch.setattr(NovaObject, "create", staticmethod(paused_create))
    c = Client(nova.render)
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.update(h=c.call(*CREATE, size=PAGE).handle))
    t.start()
    assert inside.wait(WAIT)
    c.close()  # returns at once
    assert errno_of(c.call, *INFO, handle=1) == code.EBADF  # new calls are refused
    assert nova.dev.open_count() == 1  # ... but the release waits for the ioctl
    closed.set()
    t.join(WAIT)
    assert not t.is_alive()
    assert out["h"] == 1  # the ioctl in flight completed
    assert not nova.dev.gem_objects and nova.dev.open_count() == 0
    assert nova.gpu.buddy.avail() == VRAM


def test_clients_closed_under_concurrent_ioctls(nova: Stack) -> None:
    """Two threads create objects through one client while a third closes it:
    whatever was created is released, every refused call is EBADF."""
    seen: dict[int, int] = {}
    for round_ in range(40):
        c = Client(nova.render)
        go = threading.Event()

        def create(c: Client = c, go: threading.Event = go) -> None:
            go.wait(WAIT)
            for _ in range(100):
                try:
                    c.call(*CREATE, size=PAGE)
                except Error as e:
                    seen[e.errno or 0] = seen.get(e.errno or 0, 0) + 1
                    return

        ts = [threading.Thread(target=create) for _ in range(2)]
        for t in ts:
            t.start()
        go.set()
        end = time.monotonic() + WAIT
        while len(nova.dev.gem_objects) < 1 + round_ % 8 and time.monotonic() < end:
            time.sleep(0.0001)  # close once the creators are well under way
        c.close()
        for t in ts:
            t.join(WAIT)
        assert not any(t.is_alive() for t in ts)
        assert not nova.dev.gem_objects and nova.dev.open_count() == 0
        assert nova.gpu.buddy.avail() == VRAM
    assert set(seen) <= {code.EBADF}


# ---------------------------------------------------------------- clients in other processes

_CHILD = textwrap.dedent("""
    import errno, fcntl, os, random, struct, sys, time

    node, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    CREATE, INFO, MAP = (int(a) for a in sys.argv[4:7])
    rng = random.Random(seed)

    def call(fd, cmd, handle=0, size=0):
        buf = bytearray(struct.pack("<IIQ", handle, 0, size))
        fcntl.ioctl(fd, cmd, buf)
        return struct.unpack("<IIQ", buf)

    sessions = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fd = os.open(node, os.O_RDWR)
        held = {}
        for _ in range(rng.randint(1, 20)):
            r = rng.random()
            if r < 0.4:
                size = rng.choice([4096, 8192, 1 << 16])
                held[call(fd, CREATE, size=size)[0]] = size
            elif r < 0.55 and held:
                h = rng.choice(list(held))
                assert call(fd, INFO, handle=h)[2] == held[h]
            elif r < 0.7 and held:
                try:  # the render node: MODE_MAP_DUMB is primary-only
                    call(fd, MAP, handle=rng.choice(list(held)))
                    sys.exit("MODE_MAP_DUMB on a render node succeeded")
                except OSError as e:
                    assert e.errno == errno.EACCES, e
            else:
                try:
                    call(fd, INFO, handle=rng.randint(500, 600))
                    sys.exit("GEM_INFO of a handle never created succeeded")
                except OSError as e:
                    assert e.errno == errno.ENOENT, e
        os.close(fd)  # with handles open: the release frees them
        sessions += 1
    print(sessions)
""")


def test_client_threads_and_processes_soak(nova: Stack, tmp_path: pathlib.Path) -> None:
    before = lockdep.counts()
    bridge = Bridge(str(tmp_path / "testbed"))
    try:
        env = dict(os.environ, **bridge.environment())
        cmds = [str(int(c) & 0xFFFFFFFF) for c in (lib.DRM_IOCTL_NOVA_GEM_CREATE,
                                                   lib.DRM_IOCTL_NOVA_GEM_INFO,
                                                   lib.DRM_IOCTL_MODE_MAP_DUMB)]
        children = [subprocess.Popen([sys.executable, "-c", _CHILD, nova.render, str(SECONDS),
                                      str(s), *cmds],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for s in (11, 12)]
        try:
            soak(nova, max(2, THREADS // 2), SECONDS, seed=2, others=True)
        finally:
            outs = [c.communicate(timeout=WAIT + SECONDS) for c in children]
        for child, (out, err) in zip(children, outs, strict=True):
            assert child.returncode == 0, err
            assert int(out.split()[-1]) >= 1  # sessions completed
    finally:
        bridge.close()  # every file still open is released
    _assert_clean_end(nova, before)


# -- a submitting client: the sample render driver (examples/tinyrender) ------------

RENDER = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tinyrender"


class Submitter:
    """One client thread of tinyrender: buffer objects, FILL and COPY jobs
    chained through one syncobj, waits, read-backs through mmap checked
    against a model of the bytes, invalid submits with known errnos, and
    sessions ended with jobs in flight."""

    def __init__(self, index: int, node: str, rng: random.Random, ulib: Any) -> None:
        self.index, self.node, self.rng, self.u = index, node, rng, ulib
        self.client: Client | None = None
        self.bos: dict[int, bytearray] = {}  # handle -> the bytes its jobs make
        self.last = 0  # the syncobj holding the newest job's fence
        self.submitted = False  # whether this session's syncobj has a fence yet
        self.counts: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def open(self) -> Client:
        if self.client is None:
            self.client = Client(self.node)
            self.bos = {}
            self.submitted = False
            self.last = int(self.client.call(lib.DRM_IOCTL_SYNCOBJ_CREATE,
                                             "struct drm_syncobj_create").handle)
        return self.client

    def end_session(self) -> None:
        if self.client is not None:
            c, self.client = self.client, None
            c.close()  # jobs may be in flight: postclose drains them
            self.count("session end")

    def submit(self, c: Client, deps: tuple[int, ...] = (), **fields: int) -> None:
        arr = c.mm.alloc(4)
        try:
            c.mm.write(arr, b"".join(h.to_bytes(4, "little") for h in deps) or bytes(4))
            c.call(self.u.DRM_IOCTL_TINYRENDER_SUBMIT, "struct drm_tinyrender_submit",
                   in_syncobjs=arr, in_syncobj_count=len(deps), **fields)
        finally:
            c.mm.free(arr)

    def step(self) -> None:
        u, rng = self.u, self.rng
        c = self.open()
        r = rng.random()
        if r < 0.15 or not self.bos:
            size = PAGE * rng.randint(1, 3)
            h = int(c.call(u.DRM_IOCTL_TINYRENDER_BO_CREATE, "struct drm_tinyrender_bo_create",
                           size=size).handle)
            self.bos[h] = bytearray(size)
            self.count("create")
        elif r < 0.45:
            h = rng.choice(list(self.bos))
            model = self.bos[h]
            off = rng.randrange(len(model))
            n = rng.randint(1, len(model) - off)
            v = rng.randrange(256)
            self.submit(c, op=u.TINYRENDER_OP_FILL, dst_handle=h, dst_offset=off, size=n,
                        value=v, out_syncobj=self.last)
            model[off:off + n] = bytes([v]) * n
            self.submitted = True
            self.count("fill")
        elif r < 0.65:
            src, dst = rng.choice(list(self.bos)), rng.choice(list(self.bos))
            n = rng.randint(1, min(len(self.bos[src]), len(self.bos[dst])))
            so, do = rng.randrange(len(self.bos[src]) - n + 1), rng.randrange(
                len(self.bos[dst]) - n + 1)
            deps = (self.last,) if self.submitted else ()
            self.submit(c, deps, op=u.TINYRENDER_OP_COPY, dst_handle=dst,
                        dst_offset=do, src_handle=src, src_offset=so, size=n,
                        out_syncobj=self.last)
            self.bos[dst][do:do + n] = self.bos[src][so:so + n]
            self.submitted = True
            self.count("copy")
        elif r < 0.8 and self.submitted:
            h = rng.choice(list(self.bos))
            handles = c.mm.alloc(4)
            try:
                c.mm.write(handles, self.last.to_bytes(4, "little"))
                c.call(lib.DRM_IOCTL_SYNCOBJ_WAIT, "struct drm_syncobj_wait", handles=handles,
                       count_handles=1, timeout_nsec=time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                       + int(WAIT * 1e9))
            finally:
                c.mm.free(handles)
            info = c.call(u.DRM_IOCTL_TINYRENDER_BO_INFO, "struct drm_tinyrender_bo_info",
                          handle=h)
            with c.mmap(int(info.mmap_offset), len(self.bos[h])) as m:
                assert m.read(0, len(self.bos[h])) == bytes(self.bos[h]), "job results"
            self.count("wait+check")
        elif r < 0.88:
            h = rng.choice(list(self.bos))
            c.call(CLOSE[0], CLOSE[1], handle=h)  # its jobs keep the object alive
            del self.bos[h]
            self.count("close")
        elif r < 0.97:
            h = rng.choice(list(self.bos))
            bad = [({"op": u.TINYRENDER_OP_FILL, "dst_handle": 999_999, "size": 1}, code.ENOENT),
                   ({"op": u.TINYRENDER_OP_FILL, "dst_handle": h, "size": 0}, code.EINVAL),
                   ({"op": 7, "dst_handle": h, "size": 1}, code.EINVAL),
                   ({"op": u.TINYRENDER_OP_FILL, "dst_handle": h, "size": 1,
                     "out_syncobj": 999_999}, code.ENOENT)]
            fields, want = rng.choice(bad)
            assert errno_of(self.submit, c, **fields) == want
            self.count("invalid")
        else:
            self.end_session()


def test_submitting_clients_soak(tmp_path: pathlib.Path) -> None:
    """Client threads of the sample render driver (a job queue per file, a
    shared engine with latency) beside a real process running its libdrm
    client's FILL+COPY loop through the bridge: results exact, nothing left."""
    from pyforlinux import uapi
    from pyforlinux._bindings import build_dir

    before = lockdep.counts()
    ulib = uapi.load(RENDER / "include/uapi/drm/tinyrender_drm.h").lib
    module.load(str(RENDER / "engine.py"), ["latency_us=200"])
    try:
        module.load(str(RENDER / "tinyrender.py"))
        try:
            node = next(n for n in drm.driver.nodes() if "render" in n)
            dev = drm.driver.lookup_node(node)
            tool = build_dir() / "tools" / "tinyrender-client"
            assert tool.exists(), "make tools"
            with Bridge(str(tmp_path / "tb")) as bridge:
                proc = bridge.launch([str(tool), "loop", "40"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                workers = [Submitter(i, node, random.Random(100 + i), ulib)
                           for i in range(max(2, THREADS // 2))]
                errors: list[BaseException] = []

                def body(w: Submitter) -> None:
                    end = time.monotonic() + SECONDS
                    try:
                        while time.monotonic() < end:
                            w.step()
                    except BaseException as e:
                        errors.append(e)
                    finally:
                        w.end_session()

                ts = [threading.Thread(target=body, args=(w,)) for w in workers]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(WAIT + SECONDS)
                out = proc.communicate(timeout=WAIT)[0]
                assert not any(t.is_alive() for t in ts), "a worker hung"
                if errors:
                    raise errors[0]
                assert proc.returncode == 0 and "40 rounds: ok" in out, out
            total: dict[str, int] = {}
            for w in workers:
                for k, v in w.counts.items():
                    total[k] = total.get(k, 0) + v
            print(f"submitting soak: {len(workers)} threads, {SECONDS} s: "
                  f"{dict(sorted(total.items()))}")
            for what in ("create", "fill", "copy", "wait+check", "invalid"):
                assert total.get(what, 0) > 0, what
            assert not dev.gem_objects and dev.open_count() == 0
            assert lockdep.counts() == before
        finally:
            module.unload("tinyrender")
    finally:
        module.unload("TinyEngine")
