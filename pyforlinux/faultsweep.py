"""The allocation fault-injection sweep: ``pyforlinux faultsweep``.

The kernel earns trust in its error paths with ``fail_nth``: run a
syscall once to count the allocations it makes, then run it again failing
the first, then the second, ... allocation. This module does the same for
pyforlinux, driven from Python, on the runtime's per-thread fault
injection (:func:`pyforlinux.alloc.fail_nth`, ``lib.pfl_fail_nth_set``).

For each :class:`Scenario`:

1. set up what the scenario runs against (outside the counted region);
2. run it once as a warm-up (first-use allocations, lock classes), then
   once more counting the C allocations ``N`` of the calling thread
   (``pfl_task_alloc_count()`` before and after);
3. for ``n = 1..N`` run it again with the ``n``-th allocation failing.
   A run is *clean* when

   - it ends with :class:`~pyforlinux.error.Error` ``ENOMEM`` raised to the
     caller, or with the scenario's documented graceful outcome (a probe
     that fails leaves the device unbound), or -- when the ``n``-th
     allocation was never reached (``__GFP_NOFAIL`` allocations are counted
     but never failed) -- with success;
   - the live kernel objects are back to their baseline
     (:func:`pyforlinux.alloc.live_objects`, after ``pfl_slab_quiesce()``:
     nothing leaked), no lock is held (``pfl_lockdep_depth() == 0``), no
     kernel WARN and no lock-validator report happened, the scenario's own
     invariants hold (e.g. the VRAM allocator is back to full), nothing
     was logged at ERROR level (an ioctl handler bug) and no owner was
     reported leaked (``LeakWarning``);
   - an immediate rerun without fault injection succeeds, with the same
     checks.

Allocations made by other threads (RCU callbacks, the timer thread, a
device-node bridge's threads) are not counted or failed by the per-thread
``fail_nth``.

The scenarios (:data:`SCENARIOS`):

=================  ==========================================================
name               what one run does
=================  ==========================================================
``nova-session``   the main job's client session (:func:`pyforlinux.run.nova_session`:
                   open, VERSION, GETPARAM, GEM_CREATE x5, GEM_INFO, MAP_DUMB,
                   mmap write/read-back, GEM_CLOSE, close) against nova-core
                   and Nova loaded once in setup. Loading and unloading is the
                   ``module-bind`` scenario, so that a failure there (a
                   probe that fails leaves no node to open) is checked where
                   it is the documented outcome.
``module-bind``    load nova-core (virtual GPU: VRAM, buddy allocator, faux
                   and auxiliary devices) and Nova (driver registration,
                   probe, DRM device and registration), open and close a
                   client, unload both. Graceful outcome: the probe failed
                   with ``ENOMEM``, the device is left unbound
                   (``probe_error``), no DRM node exists, loading succeeded.
``sgtable-new``    a 140-page ``PageBuffer`` (its pages, one by one) made
                   into ``SGTable.new`` (a chained ``struct sg_table`` of 2
                   chunks, DMA-mapped as a Devres), entries read, closed.
``buddy-alloc``    a 48 MiB ``GpuBuddy`` (two roots) made, ``alloc_blocks``
                   in every mode (simple with many orders, range, top-down,
                   contiguous with trimming), blocks read, ``avail`` checked,
                   everything freed and closed. The C's *block* allocations
                   are ``__GFP_NOFAIL`` (csrc/include/pfl/buddy_nofail.h: its
                   error path after a failed split corrupts the free tree),
                   so they count towards ``N`` but are never failed.
``fence``          fences with callbacks: allocate and create DriverFences,
                   register three FenceCbRegistrations, a callback that
                   signals another DriverFence (nested lock), signal, a
                   fence signalled with ``-EIO`` (its callback sees it).
``xarray-store``   ``XArray[KBox]``: ``KBox.new`` + ``Guard.store`` at sparse
                   indices up to ``ULONG_MAX`` (radix-tree nodes), replace,
                   ``alloc``, ``remove``, ``close``.
``nova-unbind``    load nova-core and Nova, a client creates and maps three
                   objects, nova-core is unloaded under it (Nova unbinds, the
                   VRAM is revoked), the mappings answer ``ENODEV``, the
                   client closes, Nova is unloaded.
``sync``           the sync primitives: a dynamic lock class, Mutex, SpinLock,
                   CondVar, Arc/UniqueArc, ``call_rcu``, RcuBox, and a
                   ``List`` of ``ListArc`` items (their C links).
``jq-submit``      a job queue (``pyforlinux.drm.jq``): three jobs behind a
                   gate fence and each other (callback registrations, done
                   fences), the gate signalled, drain, close. Only the
                   submitting thread's allocations fail: the worker's never.
``tinyrender-unbind`` the sample render driver (examples/tinyrender, loaded
                   once in setup) binds to a hung engine loaded per run: a
                   client submits a job (on the engine) and one queued behind
                   it, the engine's device is unloaded under it (unbind: the
                   file's job queue is closed), the fences carry ``-ENODEV``
                   and ``-ECANCELED``, the client closes.
=================  ==========================================================
"""

from __future__ import annotations

import gc
import io
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from pyforlinux import alloc, printk
from pyforlinux._bindings import ffi, lib
from pyforlinux.error import Error, code

__all__ = [
    "GRACEFUL_PREFIX",
    "SCENARIOS",
    "Problem",
    "Scenario",
    "SweepResult",
    "main",
    "sweep",
    "sweep_all",
]

GRACEFUL_PREFIX = "graceful: "
"""How :meth:`Scenario.run` starts the description of a documented graceful outcome."""


class Problem(Exception):
    """A run broke a rule of the sweep (the message says which)."""


# ---------------------------------------------------------------- scenarios


class Scenario:
    """One operation to sweep; subclasses override :meth:`run` and maybe the rest.

    :meth:`run` returns ``None`` on success, or a string (the documented
    graceful outcome it observed) when an allocation failure was absorbed
    on purpose; it raises :class:`~pyforlinux.error.Error` otherwise.
    """

    name: str = ""
    summary: str = ""
    #: The errnos a failed allocation may reach the caller as. Besides
    #: ENOMEM, the kernel's own: ``shmem_file_setup()`` answers ``ENOSPC``
    #: when its inode cannot be allocated (mm/shmem.c), so a shmem GEM
    #: object's creation does (scenarios of drivers with shmem objects).
    errnos: tuple[int, ...] = (code.ENOMEM,)

    def setup(self) -> None:
        """Prepare what every run uses (not counted, not failed)."""

    def run(self) -> str | None:
        """One run of the operation (see the class documentation)."""
        raise NotImplementedError

    def check(self) -> None:
        """The scenario's invariants after a run; raise :class:`Problem` if broken."""

    def teardown(self) -> None:
        """Undo :meth:`setup`."""


class NovaSession(Scenario):
    """The main job's client session, with nova-core and Nova loaded in setup."""

    name = "nova-session"
    summary = "a Nova client session (modules loaded once)"

    def setup(self) -> None:
        """Load nova-core (32 MiB of VRAM) and Nova."""
        from pyforlinux import drm, module
        from pyforlinux.drivers import nova_core

        module.load("pyforlinux.drivers.nova_core", ["vram_size=32M", "bar1_size=16M"])
        try:
            module.load("pyforlinux.drivers.nova")
        except BaseException:
            module.unload("NovaCore")
            raise
        self.node = next(n for n in drm.driver.nodes() if "card" in n)
        self.dev = drm.driver.lookup_node(self.node)
        self.gpu = nova_core.gpu_of(self.dev.bound_parent())

    def run(self) -> str | None:
        """Open the node and run :func:`pyforlinux.run.nova_session`."""
        from pyforlinux import run
        from pyforlinux.drm.client import Client

        client = Client(self.node)
        run.nova_session(io.StringIO(), client)  # closes the client
        return None

    def check(self) -> None:
        """VRAM back to full, no open file, no GEM object, no module use."""
        from pyforlinux import module

        if self.gpu.buddy.avail() != self.gpu.buddy.size():
            raise Problem(f"VRAM not back to full: {self.gpu.buddy.avail()} of "
                          f"{self.gpu.buddy.size()} bytes free")
        if self.dev.open_count() or self.dev.gem_objects:
            raise Problem(f"{self.dev.open_count()} open file(s), "
                          f"{len(self.dev.gem_objects)} GEM object(s) left")
        uses = {m.name: m.refcount() for m in module.loaded() if m.refcount()}
        if uses:
            raise Problem(f"module uses left: {uses}")

    def teardown(self) -> None:
        """Unload Nova and nova-core."""
        from pyforlinux import module

        module.unload("Nova")
        module.unload("NovaCore")


class ModuleBind(Scenario):
    """Load nova-core and Nova (binding the device), open a client, unload."""

    name = "module-bind"
    summary = "module load, probe and bind, unload"

    def run(self) -> str | None:
        """See the module documentation (``module-bind``)."""
        from pyforlinux import auxiliary, drm, module
        from pyforlinux.drm.client import Client

        module.load("pyforlinux.drivers.nova_core", ["vram_size=4M", "bar1_size=4M"])
        try:
            module.load("pyforlinux.drivers.nova")
            try:
                adev = next(d for d in auxiliary.devices() if d.name() == "NovaCore.nova-drm.0")
                if not adev.is_bound():
                    err = getattr(adev._core, "probe_error", None)
                    if not isinstance(err, Error) or err.errno != code.ENOMEM:
                        raise Problem(f"Nova is not bound, and the probe error is {err!r}")
                    if drm.driver.nodes():
                        raise Problem(f"a failed probe left nodes {drm.driver.nodes()}")
                    return GRACEFUL_PREFIX + "probe failed with ENOMEM, device left unbound"
                node = next(n for n in drm.driver.nodes() if "card" in n)
                Client(node).close()
            finally:
                module.unload("Nova")
        finally:
            module.unload("NovaCore")
        return None

    def check(self) -> None:
        """Nothing loaded, no device on the bus, no DRM node."""
        from pyforlinux import auxiliary, drm, module

        if module.loaded() or auxiliary.devices() or drm.driver.nodes():
            raise Problem(f"left behind: modules {[m.name for m in module.loaded()]}, "
                          f"devices {[d.name() for d in auxiliary.devices()]}, "
                          f"nodes {drm.driver.nodes()}")


class SGTableNew(Scenario):
    """``SGTable.new`` over a fresh 140-page buffer for a faux device."""

    name = "sgtable-new"
    summary = "PageBuffer + SGTable.new (chained, DMA-mapped) + close"

    PAGES = 140

    def setup(self) -> None:
        """A bound faux device to map for."""
        from pyforlinux import faux

        self.reg = faux.Registration("faultsweep-sg")

    def run(self) -> str | None:
        """Build, read and close one table."""
        from pyforlinux.alloc import GFP_KERNEL
        from pyforlinux.dma import DataDirection
        from pyforlinux.page import PAGE_SIZE, PageBuffer
        from pyforlinux.scatterlist import SGTable

        dev = self.reg.as_bound()
        pages = PageBuffer.with_capacity(self.PAGES * PAGE_SIZE, GFP_KERNEL)
        try:
            table = SGTable.new(dev, pages, DataDirection.Bidirectional, GFP_KERNEL)
        except BaseException:
            pages.close()  # on failure the pages stay the caller's
            raise
        with table:
            total = sum(e.dma_len() for e in table)
            if total != self.PAGES * PAGE_SIZE:
                raise Problem(f"the table maps {total} bytes")
        return None

    def check(self) -> None:
        """No DMA mapping left on the device."""
        from pyforlinux import dma

        n = dma.live_mappings(self.reg.as_bound())
        if n:
            raise Problem(f"{n} DMA mapping(s) left")

    def teardown(self) -> None:
        """Remove the faux device."""
        self.reg.close()


class BuddyAlloc(Scenario):
    """A ``GpuBuddy`` made, allocated from in every mode, and closed."""

    name = "buddy-alloc"
    summary = "GpuBuddy new + alloc_blocks (simple, range, top-down, contiguous) + close"

    SIZE = 48 << 20  # not a power of two: two roots (32 + 16 MiB)

    def run(self) -> str | None:
        """Create the allocator, allocate in each mode, read the blocks, free all."""
        from pyforlinux.gpu.buddy import (
            AllocatedBlocks,
            GpuBuddy,
            GpuBuddyAllocFlags,
            GpuBuddyAllocMode,
        )

        mb = 1 << 20
        requests: list[tuple[GpuBuddyAllocMode, int, int, GpuBuddyAllocFlags]] = [
            (GpuBuddyAllocMode.Simple, 3 * mb + 5 * 4096, 4096, GpuBuddyAllocFlags(0)),
            (GpuBuddyAllocMode.Range(8 * mb, 16 * mb), 5 * mb, 4096, GpuBuddyAllocFlags(0)),
            (GpuBuddyAllocMode.TopDown, 2 * mb, 64 * 1024, GpuBuddyAllocFlags(0)),
            (GpuBuddyAllocMode.Simple, 3 * mb, 4096, GpuBuddyAllocFlags.Contiguous),
            (GpuBuddyAllocMode.Simple, 12 * 4096, 4096,
             GpuBuddyAllocFlags.Clear | GpuBuddyAllocFlags.Contiguous),
        ]
        with GpuBuddy(0, self.SIZE, 4096) as buddy:
            held: list[AllocatedBlocks] = []
            try:
                for mode, size, min_block, flags in requests:
                    blocks = buddy.alloc_blocks(mode, size, min_block, flags)
                    held.append(blocks)
                    got = sum(b.size() for b in blocks)
                    if got < size:
                        raise Problem(f"{mode!r} gave {got} bytes for {size}")
                used = sum(b.size() for blocks in held for b in blocks)
                if buddy.avail() != self.SIZE - used:
                    raise Problem(f"avail {buddy.avail()} with {used} of {self.SIZE} used")
            finally:
                for blocks in held:
                    blocks.close()
            if buddy.avail() != self.SIZE:
                raise Problem(f"avail {buddy.avail()} != {self.SIZE} after freeing")
        return None


class FenceLifecycle(Scenario):
    """Fences from allocation to release, with callbacks."""

    name = "fence"
    summary = "dma-fence allocation, callback registrations, nested signal, signal with error"

    def setup(self) -> None:
        """One fence context."""
        from pyforlinux.dma_buf.dma_fence import FenceCtx

        self.ctx: Any = FenceCtx("faultsweep", "timeline")

    def run(self) -> str | None:
        """See the module documentation (``fence``)."""
        from pyforlinux.dma_buf.dma_fence import Fence, FenceCbRegistration
        from pyforlinux.sync import rcu
        from pyforlinux.sync.aref import ARef

        seen: list[tuple[str, int]] = []

        class Record:
            def __init__(self, tag: str, fence: Fence) -> None:
                self.tag, self.fence = tag, fence

            def called(self) -> None:
                seen.append((self.tag, self.fence.error))

        class SignalOther:
            def __init__(self, other: Any) -> None:
                self.other = other

            def called(self) -> None:
                # b's lock nests inside a's.
                self.other.signal()

        @contextmanager
        def signalled_on_error(df: Any) -> Iterator[Any]:
            # The driver's duty: a DriverFence is signalled, with the error
            # that stopped its job (dropping it unsignalled is a WARN).
            with df:
                try:
                    yield df
                except Error as e:
                    if not df.closed:
                        df.signal(e)
                    raise

        try:
            with ExitStack() as stack:
                with self.ctx.new_fence_allocation("a") as allocation:
                    fa = stack.enter_context(signalled_on_error(self.ctx.new_fence(allocation)))
                a = stack.enter_context(ARef.new(fa.as_fence())).deref()
                for t in ("a1", "a2", "a3"):
                    stack.enter_context(FenceCbRegistration.new(a, Record(t, a)))
                with ExitStack() as inner:
                    fb = inner.enter_context(signalled_on_error(
                        self.ctx.new_fence(self.ctx.new_fence_allocation("b"))))
                    b = inner.enter_context(ARef.new(fb.as_fence())).deref()
                    inner.enter_context(FenceCbRegistration.new(b, Record("b1", b)))
                    inner.enter_context(FenceCbRegistration.new(a, SignalOther(fb)))
                    fa.signal()
                    if not b.is_signaled():
                        raise Problem("the nested signal did not signal b")
                with ExitStack() as inner:
                    fc = inner.enter_context(signalled_on_error(
                        self.ctx.new_fence(self.ctx.new_fence_allocation("c"))))
                    c = inner.enter_context(ARef.new(fc.as_fence())).deref()
                    inner.enter_context(FenceCbRegistration.new(c, Record("c1", c)))
                    fc.signal(-code.EIO)
        finally:
            rcu.rcu_barrier()  # the fences' data goes through call_rcu
        want = [("a1", 0), ("a2", 0), ("a3", 0), ("b1", 0), ("c1", -code.EIO)]
        if seen != want:
            raise Problem(f"callbacks saw {seen}, expected {want}")
        return None


class XArrayStore(Scenario):
    """``XArray[KBox]`` stores at sparse indices, replace, alloc, remove, close."""

    name = "xarray-store"
    summary = "XArray[KBox] store/replace/alloc/remove/close"

    INDICES = (0, 1, 63, 64, 4095, 1 << 20, (1 << 40) + 7, (1 << 64) - 1)

    def run(self) -> str | None:
        """See the module documentation (``xarray-store``)."""
        from pyforlinux.alloc import GFP_KERNEL, KBox
        from pyforlinux.xarray import AllocKind, StoreError, XArray

        def box(v: int) -> Any:
            return KBox.new("unsigned long", GFP_KERNEL, v)

        want: dict[int, int] = {}
        with XArray(AllocKind.Alloc1, KBox) as xa:
            for index in (*self.INDICES, 64):  # the last one replaces an entry
                value = box(index)
                with xa.lock() as g:
                    try:
                        old = g.store(index, value, GFP_KERNEL)
                    except StoreError as e:
                        e.value.close()  # the value comes back to its owner
                        raise
                want[index] = index
                if old is not None:
                    old.close()
            value = box(7)
            with xa.lock() as g:
                try:
                    at = g.alloc(value, GFP_KERNEL, 100, 200)
                except StoreError as e:
                    e.value.close()
                    raise
                if at != 100:
                    raise Problem(f"alloc gave index {at}")
                want[at] = 7
                for index in (63, 1 << 20):
                    removed = g.remove(index)
                    if removed is None:
                        raise Problem(f"entry {index} vanished")
                    removed.close()
                    del want[index]
                got = {i: int(v.read()) for i, v in g.iter()}
            if got != want:
                raise Problem(f"the array holds {got}, expected {want}")
        return None


class NovaUnbind(ModuleBind):
    """The device unbinds under a client holding mapped objects."""

    name = "nova-unbind"
    summary = "Nova unbinds under a client with mapped objects"

    def run(self) -> str | None:
        """See the module documentation (``nova-unbind``)."""
        from pyforlinux import drm, module
        from pyforlinux.drm.client import Client

        module.load("pyforlinux.drivers.nova_core", ["vram_size=4M", "bar1_size=4M"])
        core_loaded, nova_loaded = True, False
        try:
            module.load("pyforlinux.drivers.nova")
            nova_loaded = True
            nodes = drm.driver.nodes()
            if not nodes:  # the probe failed (the module-bind scenario checks it)
                return GRACEFUL_PREFIX + "probe failed with ENOMEM, device left unbound"
            client = Client(next(n for n in nodes if "card" in n))
            try:
                mappings = []
                for size in (4096, 65536, 12288):
                    h = client.call(lib.DRM_IOCTL_NOVA_GEM_CREATE,
                                    "struct drm_nova_gem_create", size=size).handle
                    off = client.call(lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb",
                                      handle=h).offset
                    mappings.append(client.mmap(int(off), 4096))
                    mappings[-1].write(0, b"before")
                module.unload("NovaCore")  # the GPU goes: Nova unbinds under the client
                core_loaded = False
                for m in mappings:
                    try:
                        m.read(0, 6)
                    except Error as e:
                        if e.errno != code.ENODEV:
                            raise
                    else:
                        raise Problem("a mapping still reads VRAM after the unbind")
            finally:
                for m in mappings:
                    m.close()
                client.close()
        finally:
            if nova_loaded:
                module.unload("Nova")
            if core_loaded:
                module.unload("NovaCore")
        return None


class JqSubmit(Scenario):
    """Jobs with dependencies through a job queue, from creation to close."""

    name = "jq-submit"
    summary = "job queue: create, submit with dependencies, signal, drain, close"

    def setup(self) -> None:
        """One fence context for the dependencies."""
        from pyforlinux.dma_buf.dma_fence import FenceCtx

        self.ctx: Any = FenceCtx("faultsweep", "deps")

    def run(self) -> str | None:
        """See the module documentation (``jq-submit``)."""
        from pyforlinux.drm.jq import Job, Jobqueue
        from pyforlinux.sync import rcu
        from pyforlinux.sync.aref import ARef
        from pyforlinux.time import Delta

        ran: list[int] = []

        def run_job(job: Any) -> None:
            ran.append(job.data)

        try:
            with ExitStack() as stack:
                jq = stack.enter_context(Jobqueue("faultsweep", 2, run_job))
                gate = self.ctx.new_fence(self.ctx.new_fence_allocation(None))
                stack.callback(lambda: gate.closed or gate.signal(-code.ECANCELED))
                g = stack.enter_context(ARef.new(gate.as_fence()))
                done: list[Any] = []
                for i in range(3):
                    job = stack.enter_context(Job(1, i))  # dropped unless submitted
                    job.add_dependency(g.deref())
                    if done:
                        job.add_dependency(done[-1].deref())
                    done.append(stack.enter_context(jq.submit_job(job)))
                gate.signal()
                if not jq.drain(Delta.from_secs(10)):
                    raise Problem("the jobs did not finish")
                if ran != [0, 1, 2] or any(d.deref().error for d in done):
                    raise Problem(f"ran {ran}, errors {[d.deref().error for d in done]}")
        finally:
            rcu.rcu_barrier()  # the fences' data goes through call_rcu
        return None


class TinyRenderUnbind(Scenario):
    """The sample render driver unbinds under a client with jobs in flight."""

    name = "tinyrender-unbind"
    summary = "tinyrender unbinds with a job on the engine and one queued"
    errnos = (code.ENOMEM, code.ENOSPC)  # shmem objects: see Scenario.errnos

    def setup(self) -> None:
        """The driver module, loaded once (its device comes and goes per run)."""
        import pathlib

        from pyforlinux import module, uapi

        self.pkg = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tinyrender"
        self.ulib = uapi.load(self.pkg / "include/uapi/drm/tinyrender_drm.h").lib
        module.load(str(self.pkg / "tinyrender.py"))

    def teardown(self) -> None:
        """Unload the driver module."""
        from pyforlinux import module

        module.unload("tinyrender")

    def run(self) -> str | None:
        """See the module documentation (``tinyrender-unbind``)."""
        import time

        from pyforlinux import drm, module
        from pyforlinux.drm.client import Client
        from pyforlinux.drm.syncobj import Syncobj
        from pyforlinux.sync import rcu

        ulib = self.ulib
        module.load(str(self.pkg / "engine.py"), ["hang=1"])  # the device: the driver binds
        engine_loaded = True
        fences: list[Any] = []
        try:
            nodes = drm.driver.nodes()
            if not nodes:  # the probe failed (the tinyrender-bind scenario checks it)
                return GRACEFUL_PREFIX + "probe failed with ENOMEM, device left unbound"
            client = Client(next(n for n in nodes if "render" in n))
            try:
                bo = client.call(ulib.DRM_IOCTL_TINYRENDER_BO_CREATE,
                                 "struct drm_tinyrender_bo_create", size=4096).handle
                syncobjs = [client.call(lib.DRM_IOCTL_SYNCOBJ_CREATE,
                                        "struct drm_syncobj_create").handle for _ in range(2)]
                arr = client.mm.alloc(4)
                client.mm.write(arr, syncobjs[0].to_bytes(4, "little"))
                for i, out in enumerate(syncobjs):
                    client.call(ulib.DRM_IOCTL_TINYRENDER_SUBMIT, "struct drm_tinyrender_submit",
                                op=ulib.TINYRENDER_OP_FILL, dst_handle=bo, size=1, value=i,
                                in_syncobjs=arr, in_syncobj_count=i, out_syncobj=out)
                for h in syncobjs:
                    with Syncobj.lookup_handle(client.file, h) as s:
                        fences.append(s.fence())
                jq = client.file.inner().jq
                end = time.monotonic() + 30  # the worker starts the first job
                while jq.in_flight() != (1, 1) and time.monotonic() < end:
                    time.sleep(0.005)
                module.unload("TinyEngine")  # the device goes under the client
                engine_loaded = False
                errors = [f.deref().error for f in fences]
                if errors != [-code.ENODEV, -code.ECANCELED]:
                    raise Problem(f"the jobs' fences got {errors}, not [-ENODEV, -ECANCELED]")
            finally:
                if engine_loaded:  # a failed step: unbind first, so close need not drain
                    module.unload("TinyEngine")
                    engine_loaded = False
                client.close()
        finally:
            for f in fences:
                if f is not None:
                    f.close()
            if engine_loaded:
                module.unload("TinyEngine")
            rcu.rcu_barrier()
        return None


class SyncPrimitives(Scenario):
    """Locks, condition variables, Arcs, RCU and lists, created and released."""

    name = "sync"
    summary = "lock class, Mutex, SpinLock, CondVar, Arc, call_rcu, RcuBox, List"

    def run(self) -> str | None:
        """See the module documentation (``sync``)."""
        from pyforlinux.list import List, ListArc, ListItem, ListLinks
        from pyforlinux.sync import rcu
        from pyforlinux.sync.arc import Arc, UniqueArc
        from pyforlinux.sync.condvar import CondVar
        from pyforlinux.sync.lock.mutex import new_mutex
        from pyforlinux.sync.lock.spinlock import new_spinlock
        from pyforlinux.sync.lockdep import LockClassKey

        class Item(ListItem):
            def __init__(self, value: int) -> None:
                self.value = value
                self.links = ListLinks.new(alloc.GFP_KERNEL)

        with LockClassKey.new_dynamic("faultsweep") as key:
            with new_mutex([1], "faultsweep mutex", key) as m, \
                    new_spinlock(0, "faultsweep spinlock") as s, CondVar("faultsweep cv"):
                with m.lock() as g, s.lock() as gs:
                    g.value.append(len(g.value))
                    gs.value += 1
        a = Arc.new([1], alloc.GFP_KERNEL)
        a.clone().close()
        a.close()
        Arc.from_unique(UniqueArc.new(2, alloc.GFP_KERNEL)).close()
        ran: list[int] = []
        rcu.call_rcu(lambda: ran.append(1))
        rcu.rcu_barrier()
        if ran != [1]:
            raise Problem(f"call_rcu ran {ran}")
        with rcu.RcuBox([3], alloc.GFP_KERNEL):
            pass
        lst: List[Any, Any] = List()
        with lst:
            for v in range(3):
                item = Item(v)
                try:
                    lst.push_back(ListArc.new(item, alloc.GFP_KERNEL))
                except Error:
                    item.links.close()  # the value stays the caller's (as Arc.new)
                    raise
            first: Any = lst.pop_front()
            if first is None or first.deref().value != 0:
                raise Problem("the list lost its first item")
            first.close()
        return None


class PackageSession(Scenario):
    """A driver package's client session, its modules loaded once in setup
    (made per package by :func:`package_scenarios`)."""

    package: Any = None  # the DriverPackage
    errnos = (code.ENOMEM, code.ENOSPC)  # a package's driver may have shmem objects

    def setup(self) -> None:
        """Load the package's modules and find its primary node."""
        from pyforlinux import drm, run

        self.loaded = run.load_modules(self.package, [], io.StringIO())
        try:
            self.node = run.card_node()
        except BaseException:
            run.unload_modules(self.loaded, io.StringIO())
            raise
        self.dev = drm.driver.lookup_node(self.node)

    def run(self) -> str | None:
        """Open the node, run the package's session, close."""
        from pyforlinux.drm.client import Client

        client = Client(self.node)
        try:
            self.package.session_fn()(io.StringIO(), client, self.dev)
        finally:
            client.close()
        return None

    def check(self) -> None:
        """No open file, no GEM object, no module use left."""
        from pyforlinux import module

        if self.dev.open_count() or self.dev.gem_objects:
            raise Problem(f"{self.dev.open_count()} open file(s), "
                          f"{len(self.dev.gem_objects)} GEM object(s) left")
        uses = {m.name: m.refcount() for m in module.loaded() if m.refcount()}
        if uses:
            raise Problem(f"module uses left: {uses}")

    def teardown(self) -> None:
        """Unload the package's modules."""
        from pyforlinux import run

        run.unload_modules(self.loaded, io.StringIO())


class PackageBind(Scenario):
    """Load a driver package's modules (probe, bind, register), open and
    close a client, unload (made per package by :func:`package_scenarios`).
    Graceful outcome: a probe failed with ``ENOMEM`` and no node exists."""

    package: Any = None
    errnos = (code.ENOMEM, code.ENOSPC)  # a package's driver may have shmem objects

    def run(self) -> str | None:
        """See the class documentation."""
        from pyforlinux import auxiliary, drm, run
        from pyforlinux.drm.client import Client

        loaded = run.load_modules(self.package, [], io.StringIO())
        try:
            nodes = [n for n in drm.driver.nodes() if "card" in n]
            if not nodes:
                errs = [getattr(d._core, "probe_error", None) for d in auxiliary.devices()
                        if not d.is_bound()]
                if any(isinstance(e, Error) and e.errno == code.ENOMEM for e in errs):
                    return GRACEFUL_PREFIX + "probe failed with ENOMEM, device left unbound"
                raise Problem(f"no DRM node, and the probe errors are {errs!r}")
            Client(nodes[0]).close()
        finally:
            run.unload_modules(loaded, io.StringIO())
        return None

    def check(self) -> None:
        """Nothing loaded, no device on the bus, no DRM node."""
        ModuleBind.check(self)  # type: ignore[arg-type]


def package_scenarios(pkg: Any) -> dict[str, type[Scenario]]:
    """The scenarios of a driver package (:mod:`pyforlinux.driver_package`):
    ``<name>-session`` and ``<name>-bind`` generated from its modules and
    session, then the ones it declares."""
    made: dict[str, type[Scenario]] = {}
    for base, suffix, summary in ((PackageSession, "session", "its client session"),
                                  (PackageBind, "bind", "module load, probe and bind, unload")):
        if base is PackageSession and pkg.session is None:
            continue
        name = f"{pkg.name}-{suffix}"
        made[name] = type(f"{base.__name__}_{pkg.name}", (base,), {
            "package": pkg, "name": name, "summary": f"{pkg.name}: {summary}"})
    for declared in pkg.scenario_classes():
        made[declared.name] = declared
    return made


SCENARIOS: dict[str, type[Scenario]] = {
    s.name: s
    for s in (NovaSession, ModuleBind, SGTableNew, BuddyAlloc, FenceLifecycle, XArrayStore,
              NovaUnbind, SyncPrimitives, JqSubmit, TinyRenderUnbind)
}
"""Every scenario, by name, in sweep order."""


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What a sweep of one scenario found."""

    name: str
    allocations: int
    """``N``: C allocations of one run, by the calling thread."""
    clean: int = 0
    """Runs (of ``N``) that passed every check, their clean rerun included."""
    injected: int = 0
    """Runs in which the injected failure happened (the others succeeded)."""
    enomem: int = 0
    """Runs that ended with ``Error(ENOMEM)`` raised to the caller."""
    graceful: int = 0
    """Runs that ended with the scenario's documented graceful outcome."""
    absorbed: int = 0
    """Runs that succeeded although the failure was injected: the code under
    test retried or fell back (``__xa_store`` retries a failed ``GFP_NOWAIT``
    node allocation with the lock dropped; ``idr_alloc`` after a failed
    ``idr_preload``), and the run's own checks of its results passed."""
    problems: list[str] = field(default_factory=list)
    """What went wrong, one line per unclean run (``n=...: ...``)."""
    known_bugs: list[str] = field(default_factory=list)
    """Runs whose failure was not injected because it would have hit a known
    bug of the unmodified kernel C (``pfl_fault_known_bug_*``, csrc/runtime/slab.c),
    one line each: ``n=...: <the bug>``. Reported, never silently skipped."""

    @property
    def ok(self) -> bool:
        """Every run clean."""
        return self.clean == self.allocations and not self.problems

    def line(self) -> str:
        """The one-line summary ``pyforlinux faultsweep`` prints."""
        return (f"{self.name:<14} N={self.allocations:<4} clean {self.clean}/{self.allocations}"
                f"  (ENOMEM {self.enomem}, graceful {self.graceful}, "
                f"absorbed {self.absorbed}, not reached {self.allocations - self.injected}"
                f"{f', known kernel bug {len(self.known_bugs)}' if self.known_bugs else ''})")


@dataclass
class _State:
    live: int
    warnings: int
    lockdep: tuple[int, ...]

    @classmethod
    def now(cls) -> _State:
        from pyforlinux.sync import rcu

        rcu.rcu_barrier()  # Python RCU callbacks first (a fence's data, then its reference)
        return cls(
            live=alloc.live_objects().total,  # quiesces first
            warnings=int(lib.pfl_warn_count()),
            lockdep=tuple(int(lib.pfl_lockdep_count(k)) for k in _LOCKDEP_KINDS),
        )


_LOCKDEP_KINDS = (lib.PFL_LOCKDEP_INVERSION, lib.PFL_LOCKDEP_RECURSION,
                  lib.PFL_LOCKDEP_MIGHT_SLEEP, lib.PFL_LOCKDEP_BAD_UNLOCK)


class _Recorder(logging.Handler):
    """Collects pyforlinux log records during a sweep (instead of printing them)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[str] = []
        self.seq = printk.next_seq()  # kernel log read up to here

    def kernel_errors(self) -> list[str]:
        """Records at KERN_ERR or worse logged since the last call (C's
        pr_err, an ioctl handler bug reported by the dispatch, ...)."""
        recs = printk.dmesg(self.seq, max_level=printk.KERN_ERR)
        self.seq = printk.next_seq()
        return [r.text for r in recs]

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def _quiet_logs() -> Iterator[_Recorder]:
    """Expected warnings (a failed probe is logged) are not printed; errors are kept."""
    logger = logging.getLogger("pyforlinux")
    rec = _Recorder()
    old = logger.propagate
    console = printk.console_loglevel()
    logger.addHandler(rec)
    logger.propagate = False
    printk.set_console_loglevel(0)  # the log is read instead (rec.kernel_errors)
    try:
        yield rec
    finally:
        printk.set_console_loglevel(console)
        logger.removeHandler(rec)
        logger.propagate = old


def _after_run(scenario: Scenario, base: _State, rec: _Recorder, what: str, *,
               live: bool = True) -> None:
    """The checks every run must pass; raises :class:`Problem`.

    With ``live=False`` the live-object count is left to the next check
    (it needs an RCU barrier, ~10 ms once a call_rcu thread exists): a
    faulted run's leak still shows after its clean rerun, which must not
    free what the faulted run left.
    """
    try:
        scenario.check()
    except Problem as p:
        raise Problem(f"{what}: {p}") from None
    now = _State.now() if live else _State(base.live, int(lib.pfl_warn_count()), tuple(
        int(lib.pfl_lockdep_count(k)) for k in _LOCKDEP_KINDS))
    if lib.pfl_lockdep_depth() != 0:
        raise Problem(f"{what}: {lib.pfl_lockdep_depth()} lock(s) still held")
    if now.live != base.live:
        raise Problem(f"{what}: {now.live - base.live:+d} live kernel object(s)")
    if now.warnings != base.warnings:
        raise Problem(f"{what}: {now.warnings - base.warnings} kernel WARN(s)")
    if now.lockdep != base.lockdep:
        raise Problem(f"{what}: lock validator reports {base.lockdep} -> {now.lockdep}")
    kernel_errors = rec.kernel_errors()
    if rec.errors or kernel_errors:
        errors, rec.errors[:] = list(rec.errors), []
        raise Problem(f"{what}: logged errors: {errors or kernel_errors}")


def _clean_run(scenario: Scenario, base: _State, rec: _Recorder, what: str) -> None:
    try:
        outcome = scenario.run()
    except (Problem, KeyboardInterrupt):
        raise
    except BaseException as e:
        raise Problem(f"{what}: {type(e).__name__}: {e}") from e
    if outcome is not None:
        raise Problem(f"{what}: without fault injection: {outcome}")
    _after_run(scenario, base, rec, what)


def _count(scenario: Scenario) -> int:
    before = int(lib.pfl_task_alloc_count())
    outcome = scenario.run()
    n = int(lib.pfl_task_alloc_count()) - before
    if outcome is not None:
        raise Problem(f"the counting run ended with {outcome}")
    return n


def sweep(scenario: Scenario) -> SweepResult:
    """Sweep one scenario: count ``N``, then fail each allocation ``1..N`` in turn.

    Returns the :class:`SweepResult` (``ok`` when 100 % clean). Setup and
    teardown failures, and a counting run that fails, propagate.

    Thread context: process context; uses the calling thread's fault injection.
    """
    with _quiet_logs() as rec, warnings.catch_warnings(record=True) as leaks:
        warnings.simplefilter("always", alloc.LeakWarning)
        scenario.setup()
        try:
            # Warm-up: first-use allocations (caches, lock classes) that stay
            # happen here, before the baseline.
            if scenario.run() is not None:
                raise Problem("the warm-up run did not succeed")
            base = _State.now()
            n_allocs = _count(scenario)
            _after_run(scenario, base, rec, "counting run")
            result = SweepResult(scenario.name, n_allocs)
            for n in range(1, n_allocs + 1):
                try:
                    _faulted_run(scenario, base, rec, n, result)
                    _clean_run(scenario, base, rec, f"n={n} (faulted run, then clean rerun)")
                except Problem as p:
                    result.problems.append(str(p))
                    base = _recover(scenario)
                    continue
                result.clean += 1
        finally:
            scenario.teardown()
            gc.collect()
    for w in leaks:
        if issubclass(w.category, alloc.LeakWarning):
            result.problems.append(f"leak report: {w.message}")
    return result


def _faulted_run(scenario: Scenario, base: _State, rec: _Recorder, n: int,
                 result: SweepResult) -> None:
    what = f"n={n}"
    err: BaseException | None = None
    outcome: str | None = None
    known = int(lib.pfl_fault_known_bug_count())
    with alloc.fail_nth(n) as f:
        try:
            outcome = scenario.run()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # judged below
            err = e
    if f.triggered:
        result.injected += 1
    if int(lib.pfl_fault_known_bug_count()) != known:
        bug = ffi.string(lib.pfl_fault_known_bug_last()).decode()
        result.known_bugs.append(f"{what}: not injected, known kernel bug: {bug}")
    if err is not None:
        if isinstance(err, Problem):
            raise Problem(f"{what}: {err}") from err
        if not f.triggered:
            raise Problem(f"{what}: no failure injected, yet {type(err).__name__}: {err}")
        if not isinstance(err, Error) or err.errno not in scenario.errnos:
            want = "/".join(Error(e).name() or str(e) for e in scenario.errnos)
            raise Problem(f"{what}: expected Error({want}), got {type(err).__name__}: {err}")
        result.enomem += 1
    elif outcome is not None:
        if not f.triggered or not outcome.startswith(GRACEFUL_PREFIX):
            raise Problem(f"{what}: unexpected outcome {outcome!r}")
        result.graceful += 1
    elif f.triggered:
        result.absorbed += 1  # the code retried or fell back; its checks passed
    _after_run(scenario, base, rec, what, live=False)


def _recover(scenario: Scenario) -> _State:
    """After an unclean run: best effort back to a state the next run can use;
    returns the new baseline (what the unclean run left is not counted twice)."""
    lib.pfl_fail_nth_set(0)
    try:
        scenario.teardown()
    except BaseException:  # recovery is best effort
        pass
    try:
        scenario.setup()
    except BaseException:  # recovery is best effort
        pass
    return _State.now()


def sweep_all(names: Sequence[str] = (), out: TextIO | None = None,
              scenarios: dict[str, type[Scenario]] | None = None) -> list[SweepResult]:
    """Sweep the scenarios named (default: all) of ``scenarios`` (default:
    :data:`SCENARIOS`), printing one line each to ``out`` (default: ``sys.stdout``).

    Raises:
        Error: ``EINVAL`` for an unknown scenario name.
    """
    if out is None:
        out = sys.stdout
    table = SCENARIOS if scenarios is None else scenarios
    chosen = list(names) or list(table)
    for name in chosen:
        if name not in table:
            raise Error(code.EINVAL, f"unknown scenario {name!r} (have: {', '.join(table)})")
    results = []
    for name in chosen:
        result = sweep(table[name]())
        results.append(result)
        out.write(result.line() + "\n")
        for k in result.known_bugs:
            out.write(f"    {k}\n")
        for p in result.problems[:20]:
            out.write(f"    {p}\n")
        if len(result.problems) > 20:
            out.write(f"    ... {len(result.problems) - 20} more\n")
        out.flush()
    total = sum(r.allocations for r in results)
    clean = sum(r.clean for r in results)
    out.write(f"total: {clean}/{total} clean runs"
              f"{'' if clean == total else ' -- NOT CLEAN'}\n")
    return results


def main(names: Sequence[str], out: TextIO | None = None, target: str | None = None) -> int:
    """``pyforlinux faultsweep [TARGET] [SCENARIO ...]``: sweep the built-in
    scenarios, or those of the driver package ``target``
    (:func:`package_scenarios`); 0 if every run of every scenario is clean, else 1."""
    table = None
    if target is not None:
        from pyforlinux.driver_package import resolve
        pkg = resolve(target)
        table = package_scenarios(pkg)
    try:
        results = sweep_all(names, out, table)
    finally:
        if target is not None:
            pkg.forget()
    return 0 if all(r.ok for r in results) else 1
