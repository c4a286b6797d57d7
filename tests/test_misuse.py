"""Every documented misuse across the package, table-driven: each is an
exception of the documented type with the documented errno -- never a
crash, a hang, a leak or a silent success. Run under ASan/UBSan too
(``make check SANITIZE=1``), where none of them may produce a report.

Each case sets up what it needs on an :class:`~contextlib.ExitStack` (torn
down after the misuse, so nothing leaks) and returns the misuse itself, a
thunk. Cases that provoke lock-validator reports name the exact counts.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from pyforlinux import alloc, drm, faux, module
from pyforlinux import workqueue as wq
from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import ArgTypeError, CopyError
from pyforlinux.alloc import GFP_KERNEL, KBox, KVec
from pyforlinux.devres import Devres
from pyforlinux.dma import DataDirection
from pyforlinux.dma_buf.dma_fence import (
    CallbackError,
    DriverFence,
    Fence,
    FenceCbRegistration,
    FenceCtx,
)
from pyforlinux.dma_buf.dma_resv import DmaResv, Usage, WwAcquireCtx
from pyforlinux.drm import gem
from pyforlinux.drm.client import Client
from pyforlinux.drm.exec import Exec
from pyforlinux.drm.gem import shmem
from pyforlinux.drm.ioctl import IOWR
from pyforlinux.error import Error, code
from pyforlinux.gpu.buddy import GpuBuddy, GpuBuddyAllocFlags, GpuBuddyAllocMode
from pyforlinux.list import List, ListArc, ListItem, ListLinks
from pyforlinux.page import PAGE_SIZE, Page, PageBuffer
from pyforlinux.revocable import Revocable
from pyforlinux.scatterlist import SGTable
from pyforlinux.sync import lockdep, rcu
from pyforlinux.sync.arc import Arc
from pyforlinux.sync.aref import ARef
from pyforlinux.sync.completion import Completion
from pyforlinux.sync.condvar import CondVar
from pyforlinux.sync.lock.mutex import Mutex, new_mutex
from pyforlinux.sync.lock.spinlock import SpinLock, new_spinlock
from pyforlinux.sync.lockdep import LockClassKey
from pyforlinux.task import current
from pyforlinux.time import Delta, Monotonic
from pyforlinux.time.delay import fsleep
from pyforlinux.time.hrtimer import HrTimer, HrTimerCallbackContext
from pyforlinux.types import ScopeGuard
from pyforlinux.xarray import AllocKind, StoreError, XArray
from tests.shmem_driver import shmem_node
from tests.threads import run_in_thread

Thunk = Callable[[], object]


@dataclass(frozen=True)
class Misuse:
    """One documented misuse: what it raises, and the validator reports it makes."""

    name: str
    setup: Callable[[ExitStack], Thunk]
    exc: type[BaseException]
    errno: int
    lockdep: dict[str, int] = field(default_factory=dict)


CASES: list[Misuse] = []


def misuse(exc: type[BaseException], errno: int, **reports: int
           ) -> Callable[[Callable[[ExitStack], Thunk]], Callable[[ExitStack], Thunk]]:
    """Register the decorated setup function as a case."""

    def add(fn: Callable[[ExitStack], Thunk]) -> Callable[[ExitStack], Thunk]:
        CASES.append(Misuse(fn.__name__.removeprefix("m_"), fn, exc, errno, reports))
        return fn

    return add


def on_thread(fn: Thunk) -> Thunk:
    """The thunk ``fn`` run on another thread; its exception re-raised here."""

    def run() -> object:
        return run_in_thread(fn)

    return run


def box(stack: ExitStack, value: int = 1) -> Any:
    b = KBox.new("u64", GFP_KERNEL, value)
    stack.callback(b.close)
    return b


def key_pair(stack: ExitStack) -> tuple[Mutex[int], Mutex[int]]:
    ka, kb = LockClassKey.new_dynamic("misuse_A"), LockClassKey.new_dynamic("misuse_B")
    stack.callback(kb.close)
    stack.callback(ka.close)
    a, b = Mutex(0, "misuse A", ka), Mutex(0, "misuse B", kb)
    stack.callback(b.close)
    stack.callback(a.close)
    return a, b


def faux_dev(stack: ExitStack, name: str = "misuse-dev") -> faux.Registration:
    reg = faux.Registration(name)
    stack.callback(reg.close)
    return reg


def sg_table(stack: ExitStack, reg: faux.Registration) -> SGTable[Any]:
    pages = PageBuffer.with_capacity(2 * PAGE_SIZE, GFP_KERNEL)
    table = SGTable.new(reg.as_bound(), pages, DataDirection.ToDevice, GFP_KERNEL)
    stack.callback(table.close)
    return table


def fence_ctx() -> FenceCtx[Any]:
    return FenceCtx("misuse", "timeline")


def driver_fence(stack: ExitStack) -> DriverFence[Any]:
    """A DriverFence that is signalled at teardown if the case did not consume it."""
    ctx = fence_ctx()
    f = ctx.new_fence(ctx.new_fence_allocation(None))
    stack.callback(lambda: f.closed or f.signal())
    return f


def fence_ref(stack: ExitStack, f: DriverFence[Any]) -> Fence:
    ref = ARef.new(f.as_fence())
    stack.callback(ref.close)
    return ref.deref()


class FenceCall:
    """A FenceCb running a function."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn

    def called(self) -> None:
        self.fn()


def registration(stack: ExitStack, fence: Fence, fn: Callable[[], object]
                 ) -> FenceCbRegistration[FenceCall]:
    reg = FenceCbRegistration.new(fence, FenceCall(fn))
    stack.callback(reg.close)
    return reg


@contextmanager
def nova() -> Iterator[str]:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=4M", "bar1_size=4M"])
    try:
        module.load("pyforlinux.drivers.nova")
        try:
            yield next(n for n in drm.driver.nodes() if "card" in n)
        finally:
            module.unload("Nova")
    finally:
        module.unload("NovaCore")


def client(stack: ExitStack) -> Client:
    node = stack.enter_context(nova())
    c = Client(node)
    stack.callback(c.close)
    return c


CREATE = (lib.DRM_IOCTL_NOVA_GEM_CREATE, "struct drm_nova_gem_create")
INFO = (lib.DRM_IOCTL_NOVA_GEM_INFO, "struct drm_nova_gem_info")
CLOSE = (lib.DRM_IOCTL_GEM_CLOSE, "struct drm_gem_close")
MAP = (lib.DRM_IOCTL_MODE_MAP_DUMB, "struct drm_mode_map_dumb")


# ---------------------------------------------------------------- ForeignOwnable (types)


@misuse(Error, code.ENOENT)
def m_double_from_foreign(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    KBox.from_foreign(ptr).close()
    return lambda: KBox.from_foreign(ptr)


@misuse(Error, code.ENOENT)
def m_borrow_after_from_foreign(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    KBox.from_foreign(ptr).close()
    return lambda: KBox.borrow(ptr)


@misuse(Error, code.ENOENT)
def m_from_foreign_of_a_pointer_never_handed_out(stack: ExitStack) -> Thunk:
    b = box(stack)
    return lambda: KBox.from_foreign(b.as_ptr())


@misuse(Error, code.EINVAL)
def m_from_foreign_as_the_wrong_type(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    stack.callback(lambda: KBox.from_foreign(ptr).close())
    return lambda: Arc.from_foreign(ptr)


@misuse(Error, code.EINVAL)
def m_from_foreign_of_null(stack: ExitStack) -> Thunk:
    return lambda: KBox.from_foreign(ffi.NULL)


@misuse(Error, code.EBUSY)
def m_borrow_mut_while_borrowed(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    stack.callback(lambda: KBox.from_foreign(ptr).close())
    borrow = KBox.borrow(ptr)
    stack.callback(borrow.release)
    return lambda: KBox.borrow_mut(ptr)


@misuse(Error, code.EBUSY)
def m_from_foreign_while_borrowed(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    stack.callback(lambda: KBox.from_foreign(ptr).close())
    borrow = KBox.borrow(ptr)
    stack.callback(borrow.release)
    return lambda: KBox.from_foreign(ptr)


@misuse(Error, code.EINVAL)
def m_a_view_used_after_its_borrow_ended(stack: ExitStack) -> Thunk:
    ptr = KBox.new("u64", GFP_KERNEL, 7).into_foreign()
    stack.callback(lambda: KBox.from_foreign(ptr).close())
    with KBox.borrow(ptr) as view:
        pass
    return lambda: view.read()


@misuse(Error, code.EINVAL)
def m_scope_guard_dismissed_twice(stack: ExitStack) -> Thunk:
    guard = ScopeGuard.new(lambda: None)
    guard.dismiss()
    return guard.dismiss


# ---------------------------------------------------------------- alloc


@misuse(Error, code.EINVAL)
def m_fail_nth_zero(stack: ExitStack) -> Thunk:
    return lambda: alloc.fail_nth(0)


@misuse(Error, code.EBUSY)
def m_fail_nth_nested(stack: ExitStack) -> Thunk:
    stack.enter_context(alloc.fail_nth(1000))
    return lambda: alloc.fail_nth(5).__enter__()


@misuse(Error, code.EINVAL)
def m_kvec_index_out_of_range(stack: ExitStack) -> Thunk:
    v = KVec.new("u32")
    stack.callback(v.close)
    v.push(1, GFP_KERNEL)
    return lambda: v[1]


@misuse(Error, code.EINVAL)
def m_box_used_after_close(stack: ExitStack) -> Thunk:
    b = KBox.new("u64", GFP_KERNEL, 1)
    b.close()
    return b.read


# ---------------------------------------------------------------- Arc, ARef


@misuse(Error, code.EINVAL)
def m_arc_closed_twice(stack: ExitStack) -> Thunk:
    a = Arc.new([1], GFP_KERNEL)
    a.close()
    return a.close


@misuse(Error, code.EINVAL)
def m_aref_double_release(stack: ExitStack) -> Thunk:
    f = ARef.new(driver_fence(stack).as_fence())
    f.close()
    return f.close


@misuse(Error, code.EINVAL)
def m_aref_used_after_into_raw(stack: ExitStack) -> Thunk:
    f = ARef.new(driver_fence(stack).as_fence())
    fence = f.into_raw()
    stack.callback(fence.dec_ref)
    return f.deref


# ---------------------------------------------------------------- locks, lockdep, RCU


@misuse(Error, code.EPERM)
def m_guard_used_on_another_thread(stack: ExitStack) -> Thunk:
    m = new_mutex([1], "misuse guard")
    stack.callback(m.close)
    g = stack.enter_context(m.lock())
    return on_thread(lambda: g.value)


@misuse(Error, code.EPERM)
def m_guard_unlocked_on_another_thread(stack: ExitStack) -> Thunk:
    m = new_spinlock(0, "misuse unlock")
    stack.callback(m.close)
    g = stack.enter_context(m.lock())
    return on_thread(g.unlock)


@misuse(Error, code.EINVAL)
def m_guard_used_after_release(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse released")
    stack.callback(m.close)
    with m.lock() as g:
        pass
    return lambda: g.value


@misuse(Error, code.EDEADLK)
def m_recursive_locking(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse recursive")
    stack.callback(m.close)
    stack.enter_context(m.lock())
    return m.lock


@misuse(Error, code.EBUSY)
def m_lock_closed_while_held(stack: ExitStack) -> Thunk:
    m = new_spinlock(0, "misuse close held")
    stack.callback(m.close)
    stack.enter_context(m.lock())
    return m.close


@misuse(Error, code.EPERM)
def m_assert_is_held_without_the_lock(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse assert")
    stack.callback(m.close)
    return m.assert_is_held


@misuse(Error, code.EDEADLK, inversion=1)
def m_lock_inversion(stack: ExitStack) -> Thunk:
    a, b = key_pair(stack)
    stack.enter_context(lockdep.strict_mode(True))
    with a.lock(), b.lock():
        pass  # A -> B recorded
    stack.enter_context(b.lock())
    return a.lock  # B -> A: strict mode refuses before blocking


@misuse(Error, code.EDEADLK, might_sleep=1)
def m_sleeping_under_a_spinlock(stack: ExitStack) -> Thunk:
    s: SpinLock[int] = new_spinlock(0, "misuse atomic")
    m = new_mutex(0, "misuse sleeps")
    stack.callback(m.close)
    stack.callback(s.close)
    stack.enter_context(lockdep.strict_mode(True))
    stack.enter_context(s.lock())
    return m.lock


@misuse(Error, code.EDEADLK, might_sleep=1)
def m_synchronize_rcu_in_a_read_section(stack: ExitStack) -> Thunk:
    stack.enter_context(rcu.read_lock())
    return rcu.synchronize_rcu


@misuse(Error, code.EPERM)
def m_rcu_guard_unlocked_on_another_thread(stack: ExitStack) -> Thunk:
    g = stack.enter_context(rcu.read_lock())
    return on_thread(g.unlock)


@misuse(Error, code.EPERM)
def m_revocable_guard_released_on_another_thread(stack: ExitStack) -> Thunk:
    guard = Revocable(1).try_access()
    assert guard is not None
    stack.callback(guard.release)
    return on_thread(guard.release)


@misuse(Error, code.EPERM)
def m_current_task_used_on_another_thread(stack: ExitStack) -> Thunk:
    me = current()
    return on_thread(me.pid)


# ---------------------------------------------------------------- dma_fence


@misuse(Error, code.EINVAL)
def m_fence_double_signal(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    f.signal()
    return f.signal  # the DriverFence was consumed by the first


@misuse(Error, code.EDEADLK)
def m_callback_reentry(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    fence = fence_ref(stack, f)
    registration(stack, fence, fence.get_status)  # takes its own fence's lock
    return f.signal  # the callback's EDEADLK, raised after signalling


@misuse(Error, code.EDEADLK)
def m_fence_wait_in_a_callback(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    fence = fence_ref(stack, f)
    registration(stack, fence, lambda: fence.wait(Delta.ZERO))
    return f.signal


@misuse(Error, code.EDEADLK)
def m_fence_registration_dropped_in_its_callback(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    fence = fence_ref(stack, f)
    cell: list[FenceCbRegistration[FenceCall]] = []
    cell.append(registration(stack, fence, lambda: cell[0].close()))
    return f.signal


@misuse(Error, code.EIO)
def m_fence_callback_raising(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    registration(stack, fence_ref(stack, f), lambda: (_ for _ in ()).throw(Error(code.EIO)))
    return f.signal  # raised by signal(), after every callback ran


@misuse(CallbackError, code.ENOENT)
def m_callback_on_a_signalled_fence(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    fence = fence_ref(stack, f)
    f.signal()
    return lambda: FenceCbRegistration.new(fence, FenceCall(lambda: None))


@misuse(Error, code.EINVAL)
def m_fence_registration_used_after_drop(stack: ExitStack) -> Thunk:
    reg = registration(stack, fence_ref(stack, driver_fence(stack)), lambda: None)
    reg.close()
    return reg.fence


@misuse(Error, code.EINVAL)
def m_signal_with_a_positive_error(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    return lambda: f.signal(5)


@misuse(Error, code.EINVAL)
def m_fence_allocation_used_twice(stack: ExitStack) -> Thunk:
    ctx = fence_ctx()
    allocation = ctx.new_fence_allocation(None)
    f = ctx.new_fence(allocation)
    stack.callback(f.signal)
    return lambda: ctx.new_fence(allocation)


@misuse(Error, code.EINVAL)
def m_fence_used_after_its_last_reference(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    ref = ARef.new(f.as_fence())
    fence = ref.deref()
    f.signal()
    rcu.rcu_barrier()  # the DriverFence's reference went after its data
    ref.close()
    return fence.is_signaled


@misuse(Error, code.EINVAL)
def m_driver_fence_copied(stack: ExitStack) -> Thunk:
    f = driver_fence(stack)
    return lambda: copy.copy(f)


@misuse(Error, code.EINVAL)
def m_fence_registration_pickled(stack: ExitStack) -> Thunk:
    reg = registration(stack, fence_ref(stack, driver_fence(stack)), lambda: None)
    return lambda: pickle.dumps(reg)


# ---------------------------------------------------------------- scatterlist, devres, device


@misuse(Error, code.ENODEV)
def m_sgtable_use_after_unbind(stack: ExitStack) -> Thunk:
    reg = faux.Registration("misuse-sg")
    table = sg_table(stack, reg)
    reg.close()  # unbind: the mapping is revoked
    return lambda: list(table)


@misuse(Error, code.EINVAL)
def m_sgtable_use_after_close(stack: ExitStack) -> Thunk:
    table = sg_table(stack, faux_dev(stack))
    table.close()
    return table.iter


@misuse(Error, code.EBUSY)
def m_pages_given_to_two_tables(stack: ExitStack) -> Thunk:
    reg = faux_dev(stack)
    pages = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    table = SGTable.new(reg.as_bound(), pages, DataDirection.ToDevice, GFP_KERNEL)
    stack.callback(table.close)
    return lambda: SGTable.new(reg.as_bound(), pages, DataDirection.ToDevice, GFP_KERNEL)


@misuse(Error, code.EINVAL)
def m_sgtable_from_raw_null(stack: ExitStack) -> Thunk:
    return lambda: SGTable.from_raw(ffi.cast("struct sg_table *", 0))


@misuse(Error, code.EINVAL)
def m_devres_access_from_another_device(stack: ExitStack) -> Thunk:
    a, b = faux_dev(stack, "misuse-a"), faux_dev(stack, "misuse-b")
    res = Devres(a.as_bound(), [1])
    stack.callback(res.close)
    return lambda: res.access(b.as_bound())


@misuse(Error, code.ENODEV)
def m_devres_access_with_a_stale_bound_view(stack: ExitStack) -> Thunk:
    reg = faux.Registration("misuse-stale")
    dev = reg.as_bound()
    res = Devres(dev, [1])
    reg.close()
    return lambda: res.access(dev)


@misuse(Error, code.EINVAL)
def m_bound_device_reference_counted(stack: ExitStack) -> Thunk:
    return faux_dev(stack).as_bound().inc_ref


# ---------------------------------------------------------------- xarray


@misuse(Error, code.EDEADLK)
def m_xarray_locked_twice(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    stack.enter_context(xa.lock())
    return xa.lock


@misuse(Error, code.EPERM)
def m_xarray_guard_released_on_another_thread(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    g = stack.enter_context(xa.lock())
    return on_thread(g.release)


@misuse(StoreError, code.EBUSY)
def m_xarray_store_over_a_borrowed_entry(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    g = stack.enter_context(xa.lock())
    g.store(3, KBox.new("u64", GFP_KERNEL, 1), GFP_KERNEL)
    view = g.get(3)
    stack.callback(lambda: view)  # keeps the borrow alive until the end
    return lambda: g.store(3, KBox.new("u64", GFP_KERNEL, 2), GFP_KERNEL)


@misuse(StoreError, code.EINVAL)
def m_xarray_value_of_the_wrong_type(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    g = stack.enter_context(xa.lock())
    return lambda: g.store(0, Arc.new(1, GFP_KERNEL), GFP_KERNEL)


@misuse(Error, code.EINVAL)
def m_xarray_used_after_close(stack: ExitStack) -> Thunk:
    xa: XArray[Any] = XArray(AllocKind.Alloc, KBox)
    xa.close()
    return xa.lock


# ---------------------------------------------------------------- gpu buddy


@misuse(Error, code.EINVAL)
def m_buddy_inverted_range(stack: ExitStack) -> Thunk:
    b = stack.enter_context(GpuBuddy(0, 1 << 20, 4096))
    return lambda: b.alloc_blocks(GpuBuddyAllocMode.Range(8192, 4096), 4096, 4096)


@misuse(Error, code.EINVAL)
def m_buddy_block_used_after_close(stack: ExitStack) -> Thunk:
    b = stack.enter_context(GpuBuddy(0, 1 << 20, 4096))
    blocks = b.alloc_blocks(GpuBuddyAllocMode.Simple, 8192, 4096)
    block = next(iter(blocks))
    blocks.close()
    return block.offset


@misuse(Error, code.EINVAL)
def m_buddy_alloc_after_close(stack: ExitStack) -> Thunk:
    b = GpuBuddy(0, 1 << 20, 4096)
    b.close()
    return lambda: b.alloc_blocks(GpuBuddyAllocMode.Simple, 4096, 4096)


# ---------------------------------------------------------------- modules, DRM, Nova


@misuse(Error, code.EEXIST)
def m_module_loaded_twice(stack: ExitStack) -> Thunk:
    stack.enter_context(nova())
    return lambda: module.load("pyforlinux.drivers.nova")


@misuse(Error, code.EBUSY)
def m_module_unloaded_while_in_use(stack: ExitStack) -> Thunk:
    client(stack)
    return lambda: module.unload("Nova")


@misuse(Error, code.ENOENT)
def m_gem_handle_after_close(stack: ExitStack) -> Thunk:
    c = client(stack)
    h = c.call(*CREATE, size=4096).handle
    c.call(*CLOSE, handle=h)
    return lambda: c.call(*INFO, handle=h)


@misuse(Error, code.EINVAL)
def m_gem_close_twice(stack: ExitStack) -> Thunk:
    c = client(stack)
    h = c.call(*CREATE, size=4096).handle
    c.call(*CLOSE, handle=h)
    return lambda: c.call(*CLOSE, handle=h)


# The real drm_ioctl() copies _IOC_SIZE(cmd) bytes from the caller: an
# argument shorter than the command says is a fault, not EINVAL (the old
# Python imitation compared sizes and answered EINVAL).
@misuse(Error, code.EFAULT)
def m_ioctl_with_the_wrong_size(stack: ExitStack) -> Thunk:
    c = client(stack)
    return lambda: c.ioctl(lib.DRM_IOCTL_NOVA_GEM_CREATE, bytes(8))


@misuse(Error, code.EINVAL)
def m_ioctl_past_the_driver_table(stack: ExitStack) -> Thunk:
    c = client(stack)
    return lambda: c.ioctl(IOWR(0x43, "struct drm_nova_gem_info"), bytes(16))


@misuse(Error, code.ENOTTY)
def m_ioctl_of_another_subsystem(stack: ExitStack) -> Thunk:
    c = client(stack)
    return lambda: c.ioctl(0x5401, b"")  # TCGETS


@misuse(Error, code.EBADF)
def m_ioctl_on_a_closed_file(stack: ExitStack) -> Thunk:
    c = client(stack)
    c.close()
    return lambda: c.call(*CREATE, size=4096)


@misuse(Error, code.EACCES)
def m_render_node_asks_for_a_primary_only_ioctl(stack: ExitStack) -> Thunk:
    stack.enter_context(nova())
    render = Client(next(n for n in drm.driver.nodes() if "renderD" in n))
    stack.callback(render.close)
    h = render.call(*CREATE, size=4096).handle
    return lambda: render.call(*MAP, handle=h)


@misuse(Error, code.EACCES)
def m_mmap_of_an_object_without_a_handle(stack: ExitStack) -> Thunk:
    c = client(stack)
    other = Client(c.node)
    stack.callback(other.close)
    h = c.call(*CREATE, size=4096).handle
    offset = int(c.call(*MAP, handle=h).offset)
    return lambda: other.mmap(offset, 4096)


@misuse(Error, code.EFAULT)
def m_mapping_used_after_munmap(stack: ExitStack) -> Thunk:
    c = client(stack)
    h = c.call(*CREATE, size=4096).handle
    mapping = c.mmap(int(c.call(*MAP, handle=h).offset), 4096)
    mapping.close()
    return lambda: mapping.read(0, 4)


@misuse(Error, code.ENODEV)
def m_open_of_a_released_device(stack: ExitStack) -> Thunk:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=4M"])
    module.load("pyforlinux.drivers.nova")
    stack.callback(module.unload, "Nova")  # EBUSY if the failed open kept a module use
    card = next(n for n in drm.driver.nodes() if "card" in n)
    module.unload("NovaCore")  # the device unbinds, its last reference goes
    return lambda: Client(card)  # drm_stub_open(): no minor any more


@misuse(Error, code.ENODEV)
def m_mapping_used_after_the_device_unbound(stack: ExitStack) -> Thunk:
    module.load("pyforlinux.drivers.nova_core", ["vram_size=4M"])
    module.load("pyforlinux.drivers.nova")
    stack.callback(module.unload, "Nova")
    c = Client(next(n for n in drm.driver.nodes() if "card" in n))
    stack.callback(c.close)
    h = c.call(*CREATE, size=4096).handle
    mapping = c.mmap(int(c.call(*MAP, handle=h).offset), 4096)
    stack.callback(mapping.close)
    module.unload("NovaCore")  # the GPU goes: Nova unbinds under the client
    return lambda: mapping.read(0, 4)


# ---------------------------------------------------------------- workqueue, time, completion


class _SelfWork(wq.WorkItem):
    """A work that misuses itself from its own run(); the error is kept."""

    def __init__(self, op: Callable[[_SelfWork], object]) -> None:
        self.op = op
        self.error: BaseException | None = None
        self.work = wq.new_work("misuse::self_work")

    def run(self) -> None:
        try:
            self.op(self)
        except BaseException as e:
            self.error = e


def _from_own_work(stack: ExitStack, op: Callable[[_SelfWork], object]) -> Thunk:
    item = _SelfWork(op)

    def thunk() -> None:
        wq.system().enqueue(item)
        item.work.flush()
        if item.error is not None:
            raise item.error

    return thunk


@misuse(Error, code.EINVAL)
def m_work_queued_for_two_items(stack: ExitStack) -> Thunk:
    a, b = _SelfWork(lambda s: None), _SelfWork(lambda s: None)
    b.work = a.work  # one work_struct, two items: queued twice over
    wq.system().enqueue(a)
    stack.callback(a.work.flush)
    return lambda: wq.system().enqueue(b)


@misuse(Error, code.EDEADLK)
def m_work_flushed_from_inside_itself(stack: ExitStack) -> Thunk:
    return _from_own_work(stack, lambda s: s.work.flush())


@misuse(Error, code.EDEADLK)
def m_work_cancelled_sync_from_inside_itself(stack: ExitStack) -> Thunk:
    return _from_own_work(stack, lambda s: s.work.cancel_sync())


@misuse(Error, code.EDEADLK)
def m_queue_flushed_from_its_own_work(stack: ExitStack) -> Thunk:
    return _from_own_work(stack, lambda s: wq.system().flush())


@misuse(Error, code.EDEADLK, inversion=1)
def m_work_flushed_under_a_lock_it_takes(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse-work-lock")
    stack.callback(m.close)

    class Locker(wq.WorkItem):
        def __init__(self) -> None:
            self.work = wq.new_work("misuse::locker")

        def run(self) -> None:
            with m.lock():
                pass

    item = Locker()
    wq.system().enqueue(item)
    item.work.flush()  # the work's class -> the lock, known

    def thunk() -> None:
        with m.lock():
            item.work.flush()

    return thunk


@misuse(Error, code.ENODEV)
def m_work_queued_to_a_destroyed_queue(stack: ExitStack) -> Thunk:
    q = wq.Queue.alloc("misuse-destroyed")
    q.destroy()
    return lambda: q.enqueue(_SelfWork(lambda s: None))


def _timer_misuse(stack: ExitStack, op: Callable[[HrTimer[Monotonic]], object]) -> Thunk:
    out: list[BaseException] = []
    done = Completion()

    def cb(ctx: HrTimerCallbackContext[Monotonic]) -> None:
        try:
            op(timer)
        except BaseException as e:
            out.append(e)
        done.complete()

    timer: HrTimer[Monotonic] = HrTimer(cb)
    stack.callback(timer.close)

    def thunk() -> None:
        timer.start(Delta.ZERO)
        done.wait_for_completion()
        raise out[0]

    return thunk


@misuse(Error, code.EBUSY)
def m_hrtimer_restarted_from_its_callback(stack: ExitStack) -> Thunk:
    return _timer_misuse(stack, lambda t: t.start(Delta.from_millis(1)))


@misuse(Error, code.EDEADLK)
def m_hrtimer_cancelled_from_its_callback(stack: ExitStack) -> Thunk:
    return _timer_misuse(stack, lambda t: t.cancel())


@misuse(Error, code.EINVAL)
def m_negative_delta_timeout(stack: ExitStack) -> Thunk:
    return lambda: Completion().wait_for_completion_timeout(Delta.from_millis(-1))


@misuse(Error, code.ERANGE)
def m_huge_delta_sleep(stack: ExitStack) -> Thunk:
    return lambda: fsleep(Delta.from_secs(10**6))


@misuse(Error, code.ERANGE)
def m_delta_outside_i64(stack: ExitStack) -> Thunk:
    return lambda: Delta.from_nanos(1 << 64)
# ---------------------------------------------------------------- issue 16: the attack classes
# 1. check-then-use: a caller's value runs Python while being converted; the
# conversion happens first, so closing the owner there is seen by the check.


class _Hook:
    """A caller's value whose conversion runs ``fn`` first (closing an owner)."""

    def __init__(self, fn: Callable[[], object], value: Any = 1) -> None:
        self.fn, self.value = fn, value

    def __index__(self) -> int:
        self.fn()
        return int(self.value)

    def __float__(self) -> float:
        self.fn()
        return float(self.value)


class _LyingBuffer(bytearray):
    """Reports one length, holds another."""

    def __len__(self) -> int:
        return 1


@misuse(Error, code.EINVAL)
def m_box_set_with_a_value_whose_float_closes_the_box(stack: ExitStack) -> Thunk:
    b = KBox.new("double", GFP_KERNEL, 1.0)
    return lambda: b.set(_Hook(b.close, 2.5))


@misuse(Error, code.EINVAL)
def m_box_set_with_a_value_whose_index_closes_the_box(stack: ExitStack) -> Thunk:
    b = KBox.new("u64", GFP_KERNEL, 1)
    return lambda: b.set(_Hook(b.close, 7))


@misuse(Error, code.EINVAL)
def m_vec_store_whose_index_closes_the_vector(stack: ExitStack) -> Thunk:
    v = KVec.from_elem("u32", 0, 4, GFP_KERNEL)
    stack.callback(v.close)
    return lambda: v.__setitem__(_Hook(v.close, 1), 5)


@misuse(Error, code.EINVAL)
def m_vec_push_of_a_value_that_frees_the_buffer(stack: ExitStack) -> Thunk:
    v = KVec.with_capacity("u64", 2, GFP_KERNEL)
    stack.callback(v.close)
    return lambda: v.push_within_capacity(_Hook(v.close, 3))


@misuse(Error, code.EINVAL)
def m_page_write_at_an_offset_whose_index_frees_the_page(stack: ExitStack) -> Thunk:
    pages = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    stack.callback(pages.close)
    page = pages.page(0)
    return lambda: page.write(_Hook(pages.close, 0), b"x" * 16)


@misuse(Error, code.EINVAL)
def m_page_buffer_write_of_a_source_lying_about_its_length(stack: ExitStack) -> Thunk:
    pages = PageBuffer.with_capacity(PAGE_SIZE, GFP_KERNEL)
    stack.callback(pages.close)
    return lambda: pages.write(PAGE_SIZE - 1, _LyingBuffer(b"y" * 64))  # 64 bytes, not 1


@misuse(Error, code.EINVAL)
def m_xarray_store_at_an_index_whose_index_releases_the_guard(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    g = xa.lock()
    b = box(stack)
    return lambda: g.store(_Hook(g.release, 3), b, GFP_KERNEL)


@misuse(Error, code.EINVAL)
def m_buddy_alloc_of_a_size_whose_index_closes_the_allocator(stack: ExitStack) -> Thunk:
    b = GpuBuddy(0, 1 << 20, 4096)
    stack.callback(b.close)
    return lambda: b.alloc_blocks(GpuBuddyAllocMode.Simple, _Hook(b.close, 4096), 4096)


@misuse(Error, code.EFAULT)
def m_mapping_write_of_a_source_lying_about_its_length(stack: ExitStack) -> Thunk:
    c = client(stack)
    h = c.call(*CREATE, size=4096).handle
    mapping = c.mmap(int(c.call(*MAP, handle=h).offset), 4096)
    stack.callback(mapping.close)
    return lambda: mapping.write(4000, _LyingBuffer(b"z" * 4096))  # would reach past the object


@misuse(Error, code.EBADF)
def m_drm_mmap_whose_length_closes_the_file(stack: ExitStack) -> Thunk:
    # The length is converted before the file is looked up (fget): the close
    # its __index__ makes is seen, never a mapping of a released file.
    c = client(stack)
    h = c.call(*CREATE, size=4096).handle
    off = int(c.call(*MAP, handle=h).offset)
    return lambda: c.fd.mmap(off, _Hook(c.fd.close, 4096))  # type: ignore[arg-type]


@misuse(ArgTypeError, code.EINVAL)
def m_drm_ioctl_of_a_float_cmd(stack: ExitStack) -> Thunk:
    c = client(stack)
    return lambda: c.fd.ioctl(1.5, 0)  # type: ignore[arg-type]


# 2. copies of owners: refused, so there is never a second owner.


@misuse(CopyError, code.EINVAL)
def m_copy_of_a_kbox(stack: ExitStack) -> Thunk:
    return lambda: copy.copy(box(stack))


@misuse(CopyError, code.EINVAL)
def m_copy_of_an_open_drm_file(stack: ExitStack) -> Thunk:
    c = client(stack)
    return lambda: copy.copy(c.fd)


@misuse(CopyError, code.EINVAL)
def m_deepcopy_of_a_mutex(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse copy")
    stack.callback(m.close)
    return lambda: copy.deepcopy(m)


@misuse(CopyError, code.EINVAL)
def m_pickle_of_an_rcu_box(stack: ExitStack) -> Thunk:
    r = rcu.RcuBox([1], GFP_KERNEL)
    stack.callback(r.close)
    return lambda: pickle.dumps(r)


@misuse(CopyError, code.EINVAL)
def m_copy_of_an_arc(stack: ExitStack) -> Thunk:
    a = Arc.new([1], GFP_KERNEL)
    stack.callback(a.close)
    return lambda: copy.copy(a)


@misuse(CopyError, code.EINVAL)
def m_copy_of_a_lock_guard(stack: ExitStack) -> Thunk:
    m = new_spinlock(0, "misuse guard copy")
    stack.callback(m.close)
    g = stack.enter_context(m.lock())
    return lambda: copy.copy(g)


@misuse(CopyError, code.EINVAL)
def m_deepcopy_of_an_xarray(stack: ExitStack) -> Thunk:
    xa = stack.enter_context(XArray(AllocKind.Alloc, KBox))
    return lambda: copy.deepcopy(xa)


@misuse(CopyError, code.EINVAL)
def m_copy_of_a_page(stack: ExitStack) -> Thunk:
    p = Page.alloc_page(GFP_KERNEL)
    stack.callback(p.close)
    return lambda: copy.copy(p)


@misuse(CopyError, code.EINVAL)
def m_pickle_of_a_condvar(stack: ExitStack) -> Thunk:
    cv = CondVar("misuse cv")
    stack.callback(cv.close)
    return lambda: pickle.dumps(cv)


# 3. intrusive lists: one ListArc per item and ID; links fixed while linked.


class _Item(ListItem):
    def __init__(self) -> None:
        self.links = ListLinks.new(GFP_KERNEL)


def _listed(stack: ExitStack) -> tuple[List[Any, Any], _Item]:
    lst: List[Any, Any] = List.new()
    stack.callback(lst.close)
    item = _Item()
    lst.push_back(ListArc.new(item, GFP_KERNEL))
    return lst, item


@misuse(Error, code.EBUSY)
def m_one_item_in_two_list_arcs(stack: ExitStack) -> Thunk:
    _lst, item = _listed(stack)
    return lambda: ListArc.new(item, GFP_KERNEL)


@misuse(Error, code.EBUSY)
def m_links_replaced_while_linked(stack: ExitStack) -> Thunk:
    _lst, item = _listed(stack)
    spare = ListLinks.new(GFP_KERNEL)
    stack.callback(spare.close)
    return lambda: setattr(item, "links", spare)


@misuse(Error, code.EBUSY)
def m_links_deleted_while_linked(stack: ExitStack) -> Thunk:
    _lst, item = _listed(stack)
    return lambda: delattr(item, "links")


@misuse(Error, code.EBUSY)
def m_links_freed_while_linked(stack: ExitStack) -> Thunk:
    _lst, item = _listed(stack)
    return item.links.close


# 4. thread identity: the runtime task, not a reusable thread id.


@misuse(Error, code.EPERM)
def m_current_of_an_exited_thread_used_by_a_new_one(stack: ExitStack) -> Thunk:
    got: list[Any] = []
    on_thread(lambda: got.append(current()))()  # that thread has exited now
    return on_thread(lambda: got[0].pid())  # the OS may give this one its id


# 5. locks and read sections outliving their holder; do_unlocked misuse.


@misuse(Error, code.EINVAL, bad_unlock=1)
def m_guard_of_a_thread_that_exited_holding_the_lock(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse exited holder")
    stack.callback(m.close)
    kept: list[Any] = []
    on_thread(lambda: kept.append(m.lock()))()  # reported and released as it ended
    with m.lock():  # usable again: no hang
        pass
    return lambda: kept[0].value


@misuse(Error, code.EBUSY)
def m_do_unlocked_of_its_own_unlock(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse do_unlocked")
    stack.callback(m.close)
    g = stack.enter_context(m.lock())
    return lambda: g.do_unlocked(g.unlock)


@misuse(Error, code.EDEADLK)
def m_do_unlocked_whose_callback_keeps_the_lock(stack: ExitStack) -> Thunk:
    m = new_mutex(0, "misuse relock")
    stack.callback(m.close)
    kept: list[Any] = []
    stack.callback(lambda: [g.unlock() for g in kept])
    g = m.lock()
    return lambda: g.do_unlocked(lambda: kept.append(m.lock()))


@misuse(Error, code.EINVAL)
def m_revocable_guard_of_a_thread_that_exited(stack: ExitStack) -> Thunk:
    r = Revocable([1])
    kept: list[Any] = []
    on_thread(lambda: kept.append(r.try_access()))()  # its read section ended with it
    assert r.revoke()  # does not wait for ever
    return lambda: kept[0].value


@misuse(Error, code.EDEADLK, might_sleep=1)
def m_revoke_inside_its_own_access(stack: ExitStack) -> Thunk:
    r = Revocable([1])
    g = r.try_access()
    assert g is not None
    stack.callback(r.revoke)
    stack.callback(g.release)
    return r.revoke  # the grace period would wait for this very reader


# 7. sizes the unmodified C cannot compute.


@misuse(Error, code.E2BIG)
def m_buddy_request_of_2_32_chunks(stack: ExitStack) -> Thunk:
    b = stack.enter_context(GpuBuddy(0, 1 << 45, 4096))
    return lambda: b.alloc_blocks(GpuBuddyAllocMode.Simple, 1 << 44, 4096)


@misuse(Error, code.E2BIG)
def m_buddy_contiguous_request_above_2_63(stack: ExitStack) -> Thunk:
    b = stack.enter_context(GpuBuddy(0, (1 << 64) - 4096, 4096))
    return lambda: b.alloc_blocks(
        GpuBuddyAllocMode.Simple, (1 << 63) + 4096, 4096, GpuBuddyAllocFlags.Contiguous
    )


# 8. callbacks that raise, or change what they were called for.


@misuse(Error, code.EBUSY)
def m_vec_retain_whose_callback_clears_the_vector(stack: ExitStack) -> Thunk:
    v = KVec.from_elem("u32", 7, 4, GFP_KERNEL)
    stack.callback(v.close)
    return lambda: v.retain(lambda _x: v.clear() or True)


@misuse(Error, code.EBUSY)
def m_xarray_aref_removed_while_a_view_is_alive(stack: ExitStack) -> Thunk:
    d = driver_fence(stack)  # signalled last, after the array is gone
    xa = stack.enter_context(XArray(AllocKind.Alloc, ARef))
    g = stack.enter_context(xa.lock())
    g.store(1, ARef.new(d.as_fence()), GFP_KERNEL)
    view = g.get(1)
    assert view is not None  # the fence itself: it cannot hold the borrow
    return lambda: g.remove(1)


@misuse(Error, code.EIO)
def m_drvdata_close_that_raises_leaves_no_half_bound_device(stack: ExitStack) -> Thunk:
    # The driver data's close() raises: the caller gets its error, and the
    # unbind still completes (devres released by dd.c, device unbound). A
    # devres action that raises is reported (dmesg/log: the C release is
    # void) and does not stop the others either.
    reg = faux.Registration("misuse-raising")
    stack.callback(reg.close)
    dev = reg.as_bound()
    ran: list[str] = []

    class Data:
        def close(self) -> None:
            raise Error(code.EIO, "a driver's data that fails to close")

    def bad(_d: object) -> None:
        raise Error(code.EIO, "a driver's release that fails")

    dev.devm_add_action(lambda _d: ran.append("first"), None)
    dev.devm_add_action(bad, None)
    reg.set_drvdata(Data())

    def unbind() -> None:
        try:
            reg.close()
        finally:
            assert ran == ["first"]  # the other action still ran
            assert not dev.is_bound()  # and the device is unbound, not half-bound
    return unbind


# 10. the contract's exception: Error with an errno, also for the wrong type.


@misuse(Error, code.EINVAL)
def m_vec_capacity_of_a_float(stack: ExitStack) -> Thunk:
    return lambda: KVec.with_capacity("u8", 1.5, GFP_KERNEL)


@misuse(Error, code.EINVAL)
def m_page_buffer_capacity_of_none(stack: ExitStack) -> Thunk:
    return lambda: PageBuffer.with_capacity(None, GFP_KERNEL)  # type: ignore[arg-type]


@misuse(Error, code.EINVAL)
def m_page_read_at_a_string_offset(stack: ExitStack) -> Thunk:
    p = Page.alloc_page(GFP_KERNEL)
    stack.callback(p.close)
    return lambda: p.read("0", 4)  # type: ignore[arg-type]


@misuse(Error, code.EINVAL)
def m_fail_nth_of_2_64(stack: ExitStack) -> Thunk:
    return lambda: alloc.fail_nth(1 << 64)


@misuse(Error, code.EINVAL)
def m_call_rcu_of_something_not_callable(stack: ExitStack) -> Thunk:
    return lambda: rcu.call_rcu(5)  # type: ignore[arg-type]


@misuse(Error, code.EINVAL)
def m_rcu_box_drop_that_is_not_callable(stack: ExitStack) -> Thunk:
    return lambda: rcu.RcuBox(1, GFP_KERNEL, drop="close")  # type: ignore[arg-type]


@misuse(Error, code.EINVAL)
def m_buddy_of_a_string_size(stack: ExitStack) -> Thunk:
    return lambda: GpuBuddy(0, "1M", 4096)  # type: ignore[arg-type]


@misuse(Error, code.EINVAL)
def m_kmalloc_of_a_float_size(stack: ExitStack) -> Thunk:
    return lambda: alloc.Kmalloc.alloc(8.0, GFP_KERNEL)  # type: ignore[arg-type]


# ------------------------------------------------------- issue 14: job queue, render driver


def jobqueue(stack: ExitStack) -> Any:
    from pyforlinux.drm.jq import Jobqueue

    jq: Any = Jobqueue("misuse", 4, lambda job: None)
    stack.callback(jq.close)
    return jq


def jq_job(stack: ExitStack) -> Any:
    from pyforlinux.drm.jq import Job

    job: Any = Job(1, "data")
    stack.callback(job.close)
    return job


@misuse(Error, code.ENODEV)
def m_jq_submit_after_close(stack: ExitStack) -> Thunk:
    jq, job = jobqueue(stack), jq_job(stack)
    jq.close()  # unbind: the queue is revoked
    return lambda: jq.submit_job(job)


@misuse(Error, code.EINVAL)
def m_jq_double_submit_of_a_job(stack: ExitStack) -> Thunk:
    jq, job = jobqueue(stack), jq_job(stack)
    stack.enter_context(jq.submit_job(job))
    stack.callback(jq.drain)
    return lambda: jq.submit_job(job)


@misuse(Error, code.EINVAL)
def m_jq_dependency_added_after_submit(stack: ExitStack) -> Thunk:
    jq, job = jobqueue(stack), jq_job(stack)
    done = stack.enter_context(jq.submit_job(job))
    stack.callback(jq.drain)
    return lambda: job.add_dependency(done.deref())


@misuse(CopyError, code.EINVAL)
def m_jq_job_copied(stack: ExitStack) -> Thunk:
    job = jq_job(stack)
    return lambda: copy.copy(job)


@misuse(Error, code.EINVAL)
def m_jq_job_costing_more_than_the_queue(stack: ExitStack) -> Thunk:
    from pyforlinux.drm.jq import Job

    jq = jobqueue(stack)
    job = Job(5, "big")
    stack.callback(job.close)
    return lambda: jq.submit_job(job)


def render_client(stack: ExitStack) -> Client:
    """The sample render driver (examples/tinyrender) loaded, a client of its render node."""
    import pathlib

    pkg = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tinyrender"
    module.load(str(pkg / "engine.py"))
    stack.callback(module.unload, "TinyEngine")
    module.load(str(pkg / "tinyrender.py"))
    stack.callback(module.unload, "tinyrender")
    c = Client(next(n for n in drm.driver.nodes() if "render" in n))
    stack.callback(c.mm.close)  # after the file: the fds the client was given
    stack.callback(c.close)
    return c


@misuse(Error, code.ETIME)
def m_syncobj_wait_on_a_never_signalled_syncobj(stack: ExitStack) -> Thunk:
    import time

    c = render_client(stack)
    h = c.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create").handle
    handles = c.mm.alloc(4)
    c.mm.write(handles, int(h).to_bytes(4, "little"))
    deadline = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 5_000_000  # absolute: 5 ms
    return lambda: c.call(lib.DRM_IOCTL_SYNCOBJ_WAIT, "struct drm_syncobj_wait", handles=handles,
                          count_handles=1, timeout_nsec=deadline,
                          flags=lib.DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)


@misuse(Error, code.EINVAL)
def m_prime_import_of_a_foreign_fd(stack: ExitStack) -> Thunk:
    c = render_client(stack)
    h = c.call(lib.DRM_IOCTL_SYNCOBJ_CREATE, "struct drm_syncobj_create",
               flags=lib.DRM_SYNCOBJ_CREATE_SIGNALED).handle
    # A real fd of the client, but a sync_file's, not a dma-buf's.
    fd = c.call(lib.DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, "struct drm_syncobj_handle", handle=h,
                flags=lib.DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE).fd
    return lambda: c.call(lib.DRM_IOCTL_PRIME_FD_TO_HANDLE, "struct drm_prime_handle", fd=fd)

# ---------------------------------------------------------------- shmem GEM, drm_exec, ww contexts


def shmem_obj(stack: ExitStack, size: int = PAGE_SIZE) -> tuple[Client, Any]:
    """A client of the shmem test driver and a shmem object it holds a reference to."""
    c = Client(stack.enter_context(shmem_node()))
    stack.callback(c.close)
    ref = shmem.Object.new(c.file.dev, size)
    stack.callback(ref.close)
    return c, ref.deref()


def locked_exec(stack: ExitStack, obj: Any) -> Exec:
    ex = Exec()
    stack.callback(ex.fini)
    ex.until_all_locked(lambda ex: ex.prepare_obj(obj, 1))
    return ex


@misuse(Error, code.EINVAL)
def m_vmap_read_after_close(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    v = obj.vmap()
    v.close()
    return lambda: v.read(0, 1)


@misuse(Error, code.EINVAL)
def m_vmap_write_past_the_object(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    v = stack.enter_context(obj.vmap())
    return lambda: v.write(PAGE_SIZE - 1, b"ab")


@misuse(CopyError, code.EINVAL)
def m_vmap_copied(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    v = stack.enter_context(obj.vmap())
    return lambda: copy.copy(v)


@misuse(Error, code.EINVAL)
def m_plain_gem_object_on_a_shmem_driver(stack: ExitStack) -> Thunk:
    c, _ = shmem_obj(stack)
    return lambda: gem.Object.new(c.file.dev, PAGE_SIZE)


@misuse(Error, code.EDEADLK)
def m_vmap_while_an_exec_holds_the_object(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    locked_exec(stack, obj)
    return obj.vmap  # the C would deadlock on the reservation lock


@misuse(Error, code.EFAULT)
def m_shmem_mapping_read_after_munmap(stack: ExitStack) -> Thunk:
    c, obj = shmem_obj(stack)
    obj.create_handle(c.file)
    m = c.mmap(obj.mmap_offset, PAGE_SIZE)
    m.close()
    return lambda: m.read(0, 1)


@misuse(Error, code.EBADF)
def m_dma_buf_mmap_of_a_closed_fd(stack: ExitStack) -> Thunk:
    c, _ = shmem_obj(stack)

    def mmap() -> object:
        with c.acting():
            return gem.Mapping.of_fd(77, 0, PAGE_SIZE)
    return mmap


@misuse(Error, code.EINVAL)
def m_exec_lock_outside_its_loop(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    ex = Exec()
    stack.callback(ex.fini)
    return lambda: ex.lock_obj(obj)


@misuse(Error, code.EINVAL)
def m_exec_second_locking_loop(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    ex = locked_exec(stack, obj)
    return lambda: ex.until_all_locked(lambda ex: ex.lock_obj(obj))


@misuse(Error, code.EPERM)
def m_exec_used_on_another_thread(stack: ExitStack) -> Thunk:
    _, obj = shmem_obj(stack)
    ex = locked_exec(stack, obj)
    return on_thread(ex.objects)


@misuse(Error, code.EINVAL)
def m_exec_fence_on_an_object_it_does_not_hold(stack: ExitStack) -> Thunk:
    c, obj = shmem_obj(stack)
    other = shmem.Object.new(c.file.dev, PAGE_SIZE)
    stack.callback(other.close)
    ex = locked_exec(stack, obj)
    f = driver_fence(stack)
    return lambda: ex.add_fence(other.deref(), f.as_fence(), Usage.WRITE)


@misuse(CopyError, code.EINVAL)
def m_exec_copied(stack: ExitStack) -> Thunk:
    ex = Exec()
    stack.callback(ex.fini)
    return lambda: copy.copy(ex)


@misuse(Error, code.EBUSY)
def m_ww_ctx_fini_while_holding(stack: ExitStack) -> Thunk:
    resv = stack.enter_context(DmaResv())
    ctx = stack.enter_context(WwAcquireCtx())
    stack.enter_context(resv.lock(ctx=ctx))
    return ctx.fini


@misuse(Error, code.EINVAL)
def m_ww_ctx_lock_after_done(stack: ExitStack) -> Thunk:
    resv = stack.enter_context(DmaResv())
    ctx = stack.enter_context(WwAcquireCtx())
    ctx.done()
    return lambda: resv.lock(ctx=ctx)


@misuse(Error, code.EALREADY)
def m_ww_ctx_locks_twice(stack: ExitStack) -> Thunk:
    resv = stack.enter_context(DmaResv())
    ctx = stack.enter_context(WwAcquireCtx())
    stack.enter_context(resv.lock(ctx=ctx))
    return lambda: resv.lock(ctx=ctx)


@misuse(Error, code.EPERM)
def m_ww_ctx_used_on_another_thread(stack: ExitStack) -> Thunk:
    resv = stack.enter_context(DmaResv())
    ctx = stack.enter_context(WwAcquireCtx())
    return on_thread(lambda: resv.lock(ctx=ctx))


@misuse(Error, code.EINVAL)
def m_ww_lock_slow_while_holding(stack: ExitStack) -> Thunk:
    a, b = stack.enter_context(DmaResv()), stack.enter_context(DmaResv())
    ctx = stack.enter_context(WwAcquireCtx())
    stack.enter_context(a.lock(ctx=ctx))
    return lambda: b.lock_slow(ctx)


@misuse(CopyError, code.EINVAL)
def m_ww_ctx_pickled(stack: ExitStack) -> Thunk:
    ctx = stack.enter_context(WwAcquireCtx())
    return lambda: pickle.dumps(ctx)


# ---------------------------------------------------------------- the test


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = [pytest.mark.lockdep_reports] if case.lockdep else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def _release(value: object) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        close()


@pytest.mark.parametrize("case", _params())
def test_misuse_raises_the_documented_error(case: Misuse, kernel_clean: Any) -> None:
    before = lockdep.counts()
    with ExitStack() as stack:
        thunk = case.setup(stack)
        with pytest.raises(case.exc) as info:
            thunk()
        # A value handed back with the error is the caller's again.
        _release(getattr(info.value, "value", None))
    assert info.value.errno == case.errno, info.value
    after = lockdep.counts()
    deltas = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert deltas == case.lockdep, lockdep.last_report()
    assert lib.pfl_lockdep_depth() == 0


def test_the_table_covers_the_misuses_the_issue_names() -> None:
    names = {c.name for c in CASES}
    assert len(CASES) >= 30
    assert len(names) == len(CASES)
    assert {"double_from_foreign", "borrow_after_from_foreign", "aref_double_release",
            "guard_used_on_another_thread", "lock_inversion", "sleeping_under_a_spinlock",
            "fence_double_signal", "callback_reentry", "fence_callback_raising",
            "fence_registration_used_after_drop", "driver_fence_copied",
            "fence_registration_pickled", "sgtable_use_after_unbind",
            "devres_access_from_another_device", "gem_handle_after_close",
            "ioctl_with_the_wrong_size", "work_queued_for_two_items",
            "work_flushed_from_inside_itself", "work_cancelled_sync_from_inside_itself",
            "work_queued_to_a_destroyed_queue", "hrtimer_restarted_from_its_callback",
            "negative_delta_timeout", "huge_delta_sleep"} <= names


def test_the_table_covers_the_attack_classes_of_issue_16() -> None:
    names = {c.name for c in CASES}
    assert {
        "box_set_with_a_value_whose_float_closes_the_box",  # 1 check-then-use
        "mapping_write_of_a_source_lying_about_its_length",
        "copy_of_a_kbox", "pickle_of_an_rcu_box", "deepcopy_of_a_mutex",  # 2 copies
        "one_item_in_two_list_arcs", "links_replaced_while_linked",  # 3 lists
        "current_of_an_exited_thread_used_by_a_new_one",  # 4 identity
        "guard_of_a_thread_that_exited_holding_the_lock",  # 5 holders
        "do_unlocked_of_its_own_unlock", "revocable_guard_of_a_thread_that_exited",
        "buddy_request_of_2_32_chunks",  # 7 sizes
        "vec_retain_whose_callback_clears_the_vector",  # 8 callbacks
        "xarray_aref_removed_while_a_view_is_alive",
        "drvdata_close_that_raises_leaves_no_half_bound_device",
        "fail_nth_of_2_64", "call_rcu_of_something_not_callable",  # 10 types
    } <= names
