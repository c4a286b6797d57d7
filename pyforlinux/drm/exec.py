"""Locking several GEM objects at once, over the real ``drm_exec.c``.

An :class:`Exec` is a ``struct drm_exec``: one ``ww_acquire_ctx`` ticket
(the ``reservation_ww_class``) and the array of GEM objects it locked, each
with a reference. The C idiom::

    drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT, 0);
    drm_exec_until_all_locked(&exec) {
        ret = drm_exec_prepare_obj(&exec, a, 1);
        drm_exec_retry_on_contention(&exec);
        if (ret) goto error;
        ...
    }
    /* all locked: add fences, submit */
    drm_exec_fini(&exec);

is, in Python, a body that :meth:`Exec.until_all_locked` runs again from
the start after every contention (what the ``goto`` of
``drm_exec_retry_on_contention`` does): :meth:`Exec.prepare_obj` and
:meth:`Exec.lock_obj` raise :class:`Contended` (``EDEADLK``) when the exec
has to back off, and the loop (``drm_exec_cleanup()``) drops every lock,
sleeps for the contended object and runs the body again::

    with Exec(INTERRUPTIBLE_WAIT) as ex:
        ex.until_all_locked(lambda ex: [ex.prepare_obj(o, 1) for o in objs])
        for o in objs:
            ex.add_fence(o, job_fence, Usage.WRITE)
    # the end of the block: drm_exec_fini() unlocks and drops the references

Upstream Rust for Linux has no drm_exec abstraction; this follows the C
API in the style of :mod:`pyforlinux.dma_buf.dma_resv` (``WwAcquireCtx``).

C header: include/drm/drm_exec.h, drivers/gpu/drm/drm_exec.c
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyforlinux._bindings import ffi, lib
from pyforlinux._owner import NoCopy, arg_callable, arg_int, leak_finalizer, task_identity
from pyforlinux.dma_buf.dma_fence import Fence
from pyforlinux.dma_buf.dma_resv import Usage, _usage
from pyforlinux.drm import gem
from pyforlinux.error import Error, code
from pyforlinux.sync import lockdep

INTERRUPTIBLE_WAIT: int = int(lib.DRM_EXEC_INTERRUPTIBLE_WAIT)
"""``DRM_EXEC_INTERRUPTIBLE_WAIT``: a signal ends a lock wait with ``EINTR``."""
IGNORE_DUPLICATES: int = int(lib.DRM_EXEC_IGNORE_DUPLICATES)
"""``DRM_EXEC_IGNORE_DUPLICATES``: locking an object twice is not an error."""


class Contended(Error):
    """The exec must back off (``-EDEADLK`` from ``drm_exec_lock_obj()``):
    raised out of the body, caught by :meth:`Exec.until_all_locked`, which
    runs the body again. Outside that loop it reaches the caller."""


class Exec(NoCopy):
    """A ``struct drm_exec`` (``drm_exec_init(exec, flags, nr)``).

    Args:
        flags: :data:`INTERRUPTIBLE_WAIT` and/or :data:`IGNORE_DUPLICATES`.
        nr: the expected number of objects (the array's first size; 0: a page).

    Belongs to the thread that made it (``EPERM`` elsewhere: its ticket and
    locks are that task's). :meth:`fini` (or the end of a ``with`` block)
    unlocks everything and drops the references.

    Raises:
        Error: ``ENOMEM``; ``EINVAL`` for unknown flags.

    Thread context: process context; locking sleeps.
    """

    __slots__ = ("__weakref__", "_fin", "_in_body", "_looped", "_raw", "_thread")

    def __init__(self, flags: int = INTERRUPTIBLE_WAIT, nr: int = 0) -> None:
        flags = arg_int(flags, "drm_exec flags", 0, 2**32 - 1)
        nr = arg_int(nr, "drm_exec object count", 0, 2**20)
        if flags & ~(INTERRUPTIBLE_WAIT | IGNORE_DUPLICATES):
            raise Error(code.EINVAL, f"unknown drm_exec flags {flags:#x}")
        raw = lib.pfl_drm_exec_new(flags, nr)
        if raw == ffi.NULL:
            raise Error(code.ENOMEM)
        self._raw: Any = raw
        self._thread = task_identity()
        self._in_body = False
        self._looped = False  # one locking loop per exec, as in C
        self._fin = leak_finalizer(self, "drm_exec")

    def _live(self, what: str) -> Any:
        raw = self._raw
        if raw is None:
            raise Error(code.EINVAL, f"Exec.{what} after fini()")
        if self._thread is not task_identity():
            raise Error(code.EPERM, f"Exec.{what} on a thread that did not make it")
        return raw

    def until_all_locked(self, body: Callable[[Exec], object]) -> None:
        """``drm_exec_until_all_locked``: run ``body(exec)`` until it
        completes without contention. After a :class:`Contended` (or a body
        that returned while contended) every lock is dropped, the contended
        object is waited for and locked first, and ``body`` runs again; other
        exceptions propagate with the locks taken so far still held (drop
        them with :meth:`fini`).

        One loop per exec (a second one would find nothing to retry and
        never run its body in C): lock more objects in a new :class:`Exec`.

        Raises:
            Error: what ``body`` raises; ``EBUSY`` when called from a body;
                ``EINVAL`` for a second loop on this exec, after :meth:`fini`;
                ``EPERM`` on another thread.
        """
        body = arg_callable(body, "drm_exec body")
        raw = self._live("until_all_locked")
        if self._in_body:
            raise Error(code.EBUSY, "Exec.until_all_locked() from its own body")
        if self._looped:
            raise Error(code.EINVAL, "an Exec runs one until_all_locked() loop; "
                                     "use a new Exec")
        self._looped = True
        while lib.drm_exec_cleanup(raw):
            self._in_body = True
            try:
                body(self)
            except Contended:
                if not lib.pfl_drm_exec_is_contended(raw):
                    raise  # another exec's: not this loop's to retry
            finally:
                self._in_body = False

    @staticmethod
    def _check_obj(what: str, obj: object) -> None:
        if not isinstance(obj, gem.Object):
            raise Error(code.EINVAL, f"Exec.{what} takes a gem.Object, not {obj!r}")

    def _obj_call(self, what: str, obj: gem.Object[Any]) -> tuple[Any, Any]:
        self._check_obj(what, obj)
        raw = self._live(what)
        if not self._in_body:
            raise Error(code.EINVAL, f"Exec.{what} outside until_all_locked()")
        lockdep.might_sleep("locking a GEM object's reservation")
        return raw, obj.as_raw()

    @staticmethod
    def _result(ret: int, what: str) -> None:
        if ret == -code.EDEADLK:
            raise Contended(code.EDEADLK, f"{what}: contended, the exec backs off")
        if ret < 0:
            raise Error(-ret)

    def lock_obj(self, obj: gem.Object[Any]) -> None:
        """Lock ``obj``'s reservation and keep a reference (``drm_exec_lock_obj()``).

        Raises:
            Contended: the exec must back off (the loop retries).
            Error: ``EALREADY`` if it is locked already (without
                :data:`IGNORE_DUPLICATES`); ``EINTR`` if interrupted;
                ``ENOMEM``; ``EINVAL`` outside :meth:`until_all_locked`.
        """
        raw, obj_raw = self._obj_call("lock_obj", obj)
        self._result(int(lib.drm_exec_lock_obj(raw, obj_raw)), "drm_exec_lock_obj")

    def prepare_obj(self, obj: gem.Object[Any], num_fences: int) -> None:
        """Lock ``obj`` and reserve ``num_fences`` fence slots in its
        reservation (``drm_exec_prepare_obj()``).

        Raises:
            Contended: the exec must back off (the loop retries).
            Error: as :meth:`lock_obj`; ``ENOMEM`` for the slots.
        """
        num_fences = arg_int(num_fences, "fence slots", 0, 2**16)
        raw, obj_raw = self._obj_call("prepare_obj", obj)
        self._result(int(lib.drm_exec_prepare_obj(raw, obj_raw, num_fences)),
                     "drm_exec_prepare_obj")

    def unlock_obj(self, obj: gem.Object[Any]) -> None:
        """Unlock ``obj`` and drop the exec's reference (``drm_exec_unlock_obj()``).

        Raises:
            Error: ``EINVAL`` if this exec does not hold it.
        """
        self._check_obj("unlock_obj", obj)
        raw = self._live("unlock_obj")
        obj_raw = obj.as_raw()
        if not lib.pfl_drm_exec_holds(raw, obj_raw):
            raise Error(code.EINVAL, "Exec.unlock_obj of an object it does not hold")
        lib.drm_exec_unlock_obj(raw, obj_raw)

    def objects(self) -> list[gem.Object[Any]]:
        """The locked objects in locking order (``drm_exec_for_each_locked_object``).

        Raises:
            Error: ``EINVAL`` after :meth:`fini`; ``EPERM`` on another thread.
        """
        raw = self._live("objects")
        return [gem.Object.from_raw(lib.pfl_drm_exec_obj(raw, i))
                for i in range(int(lib.pfl_drm_exec_num_objects(raw)))]

    def is_contended(self) -> bool:
        """``drm_exec_is_contended()``."""
        return bool(lib.pfl_drm_exec_is_contended(self._live("is_contended")))

    def add_fence(self, obj: gem.Object[Any], fence: Fence, usage: Usage) -> None:
        """Add ``fence`` with ``usage`` to ``obj``'s reservation
        (``dma_resv_reserve_fences(1)`` + ``dma_resv_add_fence()``): what a
        submit does with its job's fence once every object is locked. The
        reservation takes its own fence reference.

        Raises:
            Error: ``EINVAL`` if this exec does not hold ``obj``, for a bad
                usage or fence; ``ENOMEM``.
        """
        u = _usage(usage)
        if not isinstance(fence, Fence):
            raise Error(code.EINVAL, f"add_fence() takes a Fence, not {fence!r}")
        self._check_obj("add_fence", obj)
        raw = self._live("add_fence")
        obj_raw = obj.as_raw()
        f = fence._pin("add to a GEM object's reservation")
        try:
            ret = int(lib.pfl_drm_exec_add_fence(raw, obj_raw, f, u))
        finally:
            Fence._unpin(f)
        if ret == -code.EINVAL:
            raise Error(code.EINVAL, "Exec.add_fence on an object the exec does not hold")
        if ret < 0:
            raise Error(-ret)

    def fini(self) -> None:
        """Unlock every object, drop the references, end the ticket and free
        the exec (``drm_exec_fini()``). Idempotent.

        Raises:
            Error: ``EBUSY`` from inside the body; ``EPERM`` on another thread.
        """
        if self._raw is None:
            return
        raw = self._live("fini")
        if self._in_body:
            raise Error(code.EBUSY, "Exec.fini() from its own body")
        self._raw = None
        self._fin.detach()
        lib.pfl_drm_exec_free(raw)

    def __enter__(self) -> Exec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fini()
