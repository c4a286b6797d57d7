"""The tinyrender DRM driver: shmem buffer objects, a SUBMIT ioctl whose jobs
run on a job queue per file (pyforlinux.drm.jq) and signal syncobjs, waits
and PRIME through the DRM core. Binds to ``TinyEngine.tinyrender`` devices and
serves the ioctls of include/uapi/drm/tinyrender_drm.h."""

from __future__ import annotations

import itertools
import pathlib
import struct
import threading
from contextlib import ExitStack
from typing import Any

from pyforlinux import auxiliary, drm, printk, uaccess, uapi
from pyforlinux.auxiliary import DeviceId
from pyforlinux.dma_buf.dma_resv import Usage
from pyforlinux.drm import exec as drm_exec
from pyforlinux.drm import gem, ioctl
from pyforlinux.drm.gem import shmem
from pyforlinux.drm.jq import Job, Jobqueue
from pyforlinux.drm.syncobj import Syncobj
from pyforlinux.error import Error, code
from pyforlinux.module import Param, ThisModule, module
from pyforlinux.sync.aref import ARef
from pyforlinux.time import Delta

UAPI = uapi.load(pathlib.Path(__file__).parent / "include/uapi/drm/tinyrender_drm.h")
PAGE = 4096
MAX_BO = Param(int, 64 << 20, "largest buffer object, bytes")
JOB_TIMEOUT_MS = Param(int, 2000, "a job's timeout on the engine, ms")
QUEUE_DEPTH = 16  # jobs of one file on the engine at once (the queue's credits)


class DeviceData:
    """Device data (``dev.data``): the engine, and the job queue of every open file."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.queues: set[Jobqueue[Any]] = set()

    def close_queues(self) -> None:
        """Unbind: every file's queue is closed (its jobs cancelled)."""
        with self.lock:
            queues, self.queues = self.queues, set()
        for q in queues:
            q.close()


class TinyBo(gem.BaseDriverObject):
    """Object data (``obj.inner``): nothing -- the memory is the shmem
    object's pages (``shmem.Object``: vmap for the engine, mmap for clients,
    PRIME export through the core)."""


class RenderJob:
    """A job's data: the operation and kernel mappings (``vmap``) of the
    objects it touches, made at submit; dropped when the job is done
    (``close()``), which also drops the objects."""

    def __init__(self, op: int, dst: Any, dst_offset: int, size: int,
                 src: Any | None = None, src_offset: int = 0, value: int = 0) -> None:
        self.op, self.dst, self.dst_offset, self.size = op, dst, dst_offset, size
        self.src, self.src_offset, self.value = src, src_offset, value

    def execute(self) -> None:
        """Run on the engine: fill or copy bytes through the mappings (what
        the engine's DMA would reach; no lock taken on the way to the fence)."""
        if self.op == UAPI.lib.TINYRENDER_OP_FILL:
            self.dst.write(self.dst_offset, bytes([self.value]) * self.size)
        else:
            assert self.src is not None
            self.dst.write(self.dst_offset, self.src.read(self.src_offset, self.size))

    def close(self) -> None:
        for vmap in (self.dst, self.src):
            if vmap is not None:
                vmap.close()


def _range(obj: ARef[Any], offset: int, size: int, what: str) -> None:
    if offset + size > obj.deref().size():
        raise Error(code.EINVAL, f"{what} [{offset}, +{size}) is outside the object")


_file_ids = itertools.count(1)


class TinyFile(drm.DriverFile):
    """Per-file data (``file.inner()``): the file's job queue."""

    def __init__(self, dev: Any) -> None:
        self.data: DeviceData = dev.data
        self.jq: Jobqueue[RenderJob] = Jobqueue(
            f"tinyrender-file{next(_file_ids)}", QUEUE_DEPTH, self.run_job,
            timeout=Delta.from_millis(JOB_TIMEOUT_MS.value), timedout_job=self.timedout_job,
            driver_name="tinyrender")
        with self.data.lock:
            self.data.queues.add(self.jq)

    @classmethod
    def open(cls, dev: Any) -> TinyFile:
        return cls(dev)

    def postclose(self, dev: Any) -> None:
        """Per-file cleanup: let the file's jobs finish (bounded), cancel the rest."""
        with self.data.lock:
            self.data.queues.discard(self.jq)
        if not self.jq.closed:
            self.jq.drain(Delta.from_millis(JOB_TIMEOUT_MS.value))
        self.jq.close()

    # -- the job queue's callbacks (on its worker)

    def run_job(self, job: Job[RenderJob]) -> Any:
        return self.data.engine.execute(job.data.execute)

    def timedout_job(self, job: Job[RenderJob]) -> None:
        printk.pr_warn(f"tinyrender: {self.jq.name}: a job timed out; engine reset")
        self.data.engine.reset()

    # -- ioctls

    @staticmethod
    def bo_create(dev: Any, req: Any, file: Any) -> int:
        size = (int(req.size) + PAGE - 1) // PAGE * PAGE
        if req.pad or size == 0 or size > MAX_BO.value:
            raise Error(code.EINVAL, f"object size {int(req.size)}")
        with shmem.Object.new(dev, size) as obj:
            req.handle = obj.deref().create_handle(file)
        return 0

    @staticmethod
    def bo_info(dev: Any, req: Any, file: Any) -> int:
        if req.pad:
            raise Error(code.EINVAL, "pad must be 0")
        with shmem.Object.lookup_handle(file, int(req.handle)) as obj:
            req.size = obj.deref().size()
            req.mmap_offset = obj.deref().create_mmap_offset()
        return 0

    @staticmethod
    def submit(dev: Any, req: Any, file: Any) -> int:
        lib = UAPI.lib
        op, size, count = int(req.op), int(req.size), int(req.in_syncobj_count)
        if op not in (lib.TINYRENDER_OP_FILL, lib.TINYRENDER_OP_COPY) or size == 0:
            raise Error(code.EINVAL, f"op {op}, size {size}")
        if count > lib.TINYRENDER_MAX_IN_SYNCOBJS:
            raise Error(code.EINVAL, f"{count} in-syncobjs")
        if op == lib.TINYRENDER_OP_FILL and int(req.value) > 255:
            raise Error(code.EINVAL, f"fill value {int(req.value)}")
        handles = struct.unpack(f"<{count}I", uaccess.copy_from_user(int(req.in_syncobjs),
                                                                      4 * count))
        with ExitStack() as stack:  # what is not handed to the job is dropped at the end
            out = (stack.enter_context(Syncobj.lookup_handle(file, int(req.out_syncobj)))
                   if req.out_syncobj else None)
            dst = stack.enter_context(shmem.Object.lookup_handle(file, int(req.dst_handle)))
            _range(dst, int(req.dst_offset), size, "destination")
            objs = [dst.deref()]
            src = None
            if op == lib.TINYRENDER_OP_COPY:
                src = stack.enter_context(shmem.Object.lookup_handle(file, int(req.src_handle)))
                _range(src, int(req.src_offset), size, "source")
                if src.deref() is not dst.deref():
                    objs.append(src.deref())
            # Pin the pages and map them now, in the ioctl: the job's run,
            # on the way to its fence, takes no lock.
            vdst = dst.deref().vmap()
            vsrc = None
            try:
                vsrc = src.deref().vmap() if src is not None else None
                data = RenderJob(op, vdst, int(req.dst_offset), size, vsrc,
                                 int(req.src_offset), int(req.value))
            except BaseException:
                for v in (vdst, vsrc):
                    if v is not None:
                        v.close()
                raise
            job = stack.enter_context(Job(1, data))  # dropped unless submitted
            for h in handles:
                with Syncobj.lookup_handle(file, h) as s:
                    fence = s.fence()
                if fence is None:  # as drm_syncobj_find_fence() without WAIT_FOR_SUBMIT
                    raise Error(code.EINVAL, f"in-syncobj {h} has no fence")
                with fence:
                    job.add_dependency(fence.deref())
            # Lock every object, reserve a fence slot in each, then submit and
            # publish the job's fence in the reservations (implicit sync:
            # what a dma-buf importer waits for).
            ex = stack.enter_context(drm_exec.Exec())
            ex.until_all_locked(lambda ex: [ex.prepare_obj(o, 1) for o in objs])
            done = stack.enter_context(file.inner().jq.submit_job(job))
            ex.add_fence(objs[0], done.deref(), Usage.WRITE)
            for o in objs[1:]:
                ex.add_fence(o, done.deref(), Usage.READ)
            if out is not None:
                out.replace_fence(done.deref())
        return 0


class TinyRenderDrm(drm.Driver):
    """The DRM driver: its data types, identity and ioctl table."""

    Data = DeviceData
    File = TinyFile
    Object = shmem.Object[TinyBo]  # shmem-backed objects with TinyBo data
    SYNCOBJ = True  # the core serves SYNCOBJ_CREATE/WAIT/...; SUBMIT fills them
    INFO = drm.DriverInfo(major=1, minor=0, patchlevel=0, name="tinyrender",
                          desc="A tiny render engine")
    IOCTLS = ioctl.declare_drm_ioctls([
        ("TINYRENDER_BO_CREATE", "drm_tinyrender_bo_create", ioctl.RENDER_ALLOW,
         TinyFile.bo_create),
        ("TINYRENDER_BO_INFO", "drm_tinyrender_bo_info", ioctl.RENDER_ALLOW, TinyFile.bo_info),
        ("TINYRENDER_SUBMIT", "drm_tinyrender_submit", ioctl.RENDER_ALLOW, TinyFile.submit),
    ], uapi=UAPI)


class Bound:
    """The driver data of a bound device: closed at unbind, before its
    resources go -- the file's job queues are closed first."""

    def __init__(self, dev: ARef[Any]) -> None:
        self.dev = dev

    def close(self) -> None:
        try:
            self.dev.deref().data.close_queues()
        finally:
            self.dev.close()


class TinyRenderDriver(auxiliary.Driver):
    """Binds to ``TinyEngine.tinyrender`` devices: one DRM device each."""

    ID_TABLE = ((DeviceId("TinyEngine", "tinyrender"), None),)

    def probe(self, adev: Any, id_info: Any) -> Any:
        bound = adev.as_bound()
        dev = drm.Device.new(TinyRenderDrm, adev, DeviceData(bound.parent().drvdata(object)))
        try:
            drm.Registration.new_foreign_owned(dev.deref(), adev, 0)
        except BaseException:
            dev.close()
            raise
        printk.drm_info(dev.deref(), f"tinyrender on {adev.name()}, nodes {dev.deref().nodes}")
        return Bound(dev)


@module(name="tinyrender", authors=["You"], description="A tiny render driver", license="GPL v2",
        params={"max_bo": MAX_BO, "job_timeout_ms": JOB_TIMEOUT_MS})
class TinyRenderModule:
    def __init__(self, this_module: ThisModule) -> None:
        TinyRenderDrm.THIS_MODULE = this_module
        self.registration = auxiliary.register_driver(TinyRenderDriver(), "tinyrender",
                                                      this_module)

    def close(self) -> None:
        self.registration.close()
        TinyRenderDrm.THIS_MODULE = None
