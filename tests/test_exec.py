"""drm_exec over the real drivers/gpu/drm/drm_exec.c: locking several shmem
GEM objects with one ww ticket, retry on contention, fences with usage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyforlinux.dma_buf import FenceCtx
from pyforlinux.dma_buf.dma_resv import Usage
from pyforlinux.drm import exec as drm_exec
from pyforlinux.drm.client import Client
from pyforlinux.drm.exec import Contended, Exec
from pyforlinux.drm.gem import shmem
from pyforlinux.error import Error, code
from pyforlinux.time import Delta
from tests.shmem_driver import PAGE, errno_of, shmem_node
from tests.threads import run_in_thread


@pytest.fixture
def objs() -> Iterator[list[shmem.Object[Any]]]:
    with shmem_node() as node, Client(node) as c:
        refs = [shmem.Object.new(c.file.dev, PAGE) for _ in range(3)]
        yield [r.deref() for r in refs]
        for r in refs:
            r.close()



def test_lock_all_add_fences_by_usage(objs: list[shmem.Object[Any]]) -> None:
    ctx: FenceCtx[Any] = FenceCtx("exec", "ring")
    job = ctx.new_fence(ctx.new_fence_allocation(None))
    a, b, c = objs
    with Exec() as ex:
        ex.until_all_locked(lambda ex: [ex.prepare_obj(o, 1) for o in (a, b)])
        assert ex.objects() == [a, b] and not ex.is_contended()
        assert a.refcount() == 2  # the exec's reference
        ex.add_fence(a, job.as_fence(), Usage.WRITE)
        ex.add_fence(b, job.as_fence(), Usage.READ)
        assert errno_of(ex.add_fence, c, job.as_fence(), Usage.READ) == code.EINVAL
        with pytest.raises(Error) as e:
            a.vmap()  # takes the reservation lock this thread holds: refused
        assert e.value.errno == code.EDEADLK
    assert a.refcount() == 1  # fini dropped it
    assert a.resv_test_signaled(Usage.KERNEL) and not a.resv_test_signaled(Usage.WRITE)
    assert b.resv_test_signaled(Usage.WRITE) and not b.resv_test_signaled(Usage.READ)
    assert not b.resv_wait(Usage.READ, Delta.ZERO)
    job.signal()
    assert a.resv_wait(Usage.BOOKKEEP) and b.resv_test_signaled(Usage.BOOKKEEP)
    with a.vmap():  # no lock held any more
        pass


def test_duplicates_and_unlock(objs: list[shmem.Object[Any]]) -> None:
    a, b, _ = objs
    with Exec(drm_exec.INTERRUPTIBLE_WAIT) as ex:
        def twice(ex: Exec) -> None:
            ex.lock_obj(a)
            ex.lock_obj(a)

        with pytest.raises(Error) as e:
            ex.until_all_locked(twice)
        assert e.value.errno == code.EALREADY
    with Exec(drm_exec.IGNORE_DUPLICATES) as ex:
        ex.until_all_locked(lambda ex: (ex.lock_obj(a), ex.lock_obj(a), ex.lock_obj(b)))
        assert ex.objects() == [a, b]
        ex.unlock_obj(a)
        assert ex.objects() == [b]
        assert errno_of(ex.unlock_obj, a) == code.EINVAL
        assert a.refcount() == 1  # unlock_obj dropped the exec's reference


def test_contention_retries_the_body(objs: list[shmem.Object[Any]]) -> None:
    """Two execs lock the same objects in opposite orders on two threads:
    the younger backs off (Contended), the loop runs its body again with the
    contended object locked first, and both end up with everything."""
    a, b, _ = objs
    older_has_a, younger_has_b = threading.Event(), threading.Event()
    runs: list[str] = []

    def older() -> None:
        with Exec(0) as ex:
            def body(ex: Exec) -> None:
                runs.append("older")
                ex.lock_obj(a)
                older_has_a.set()
                younger_has_b.wait()
                ex.lock_obj(b)  # waits for the younger to back off

            ex.until_all_locked(body)
            assert ex.objects() == [a, b]

    t = threading.Thread(target=older)
    t.start()
    older_has_a.wait()  # the older exec's ticket was stamped first
    with Exec(0) as ex:
        def body(ex: Exec) -> None:
            runs.append("younger")
            ex.lock_obj(b)
            younger_has_b.set()
            ex.lock_obj(a)  # held by the older ticket: Contended

        ex.until_all_locked(body)
        assert set(ex.objects()) == {a, b}
    t.join()
    assert runs == ["older", "younger", "younger"]


def test_misuse_is_an_errno(objs: list[shmem.Object[Any]]) -> None:
    a = objs[0]
    assert errno_of(Exec, 1 << 7) == code.EINVAL
    with Exec() as ex:
        assert errno_of(ex.lock_obj, a) == code.EINVAL  # outside until_all_locked
        assert errno_of(ex.until_all_locked, 42) == code.EINVAL
        assert errno_of(ex.until_all_locked, lambda ex: ex.fini()) == code.EBUSY
        assert errno_of(ex.until_all_locked, lambda ex: None) == code.EINVAL  # one loop
    with Exec() as ex:
        def nested(ex: Exec) -> None:
            ex.lock_obj(a)
            ex.until_all_locked(lambda ex: None)

        assert errno_of(ex.until_all_locked, nested) == code.EBUSY
        assert run_in_thread(lambda: errno_of(ex.objects)) == code.EPERM
        assert ex.objects() == [a]  # the failed body's lock is held until fini
        ex.fini()
        ex.fini()  # idempotent
        assert errno_of(ex.objects) == code.EINVAL
    with Exec() as ex:
        assert errno_of(ex.until_all_locked, lambda ex: ex.lock_obj("a")) == code.EINVAL
    with a.vmap():  # nothing is left locked
        pass


def test_contended_outside_the_loop_reaches_the_caller() -> None:
    assert issubclass(Contended, Error)
    assert Contended(code.EDEADLK).errno == code.EDEADLK
