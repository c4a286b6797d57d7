"""Credentials.

Mirrors ``rust/kernel/cred.rs``: a :class:`Credential` is the identity a
task acts with; :class:`Kuid` a user id in the initial namespace. The
current credential is the calling process's own (``os.getuid()``...), so a
check against it is a check against the real caller. Other credentials
(e.g. a client connected over a socket, from ``SO_PEERCRED``) are made
with :meth:`Credential.new`.

Rust: rust/kernel/cred.rs. C header: include/linux/cred.h
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyforlinux._bindings import ffi, lib


@dataclass(frozen=True, order=True)
class Kuid:
    """A user id (``kuid_t``). ``Kuid.from_raw(0)`` is root."""

    uid: int

    @classmethod
    def from_raw(cls, uid: int) -> Kuid:
        """The kuid of a raw uid."""
        return cls(uid)

    def into_raw(self) -> int:
        """The raw uid."""
        return self.uid

    def is_root(self) -> bool:
        """``uid_eq(uid, GLOBAL_ROOT_UID)``."""
        return self.uid == 0


@dataclass(frozen=True)
class Credential:
    """A task's credentials (``struct cred``): real and effective ids.

    Rust: ``kernel::cred::Credential``
    """

    uid: Kuid
    euid: Kuid
    gid: int
    egid: int

    @classmethod
    def current(cls) -> Credential:
        """The calling process's credentials (``current_cred()``)."""
        return cls(Kuid(os.getuid()), Kuid(os.geteuid()), os.getgid(), os.getegid())

    @classmethod
    def new(
        cls, uid: int, euid: int | None = None, gid: int = 0, egid: int | None = None
    ) -> Credential:
        """Credentials of another subject (e.g. a socket peer)."""
        e_uid = uid if euid is None else euid
        return cls(Kuid(uid), Kuid(e_uid), gid, gid if egid is None else egid)

    def as_raw(self) -> Any:
        """A C ``struct cred *`` with these ids (every capability for an
        effective uid of 0, none otherwise), made once per credential and
        kept for the life of the process (files keep a pointer to it)."""
        with _raw_lock:
            raw = _raw.get(self)
            if raw is None:
                buf = ffi.new("char[]", lib.pfl_cred_size())
                _keep.append(buf)
                raw = ffi.cast("struct cred *", buf)
                lib.pfl_cred_init(raw, self.uid.uid, self.euid.uid, self.gid, self.egid)
                _raw[self] = raw
            return raw

    @contextmanager
    def override(self) -> Iterator[None]:
        """Act with these credentials in the block (``override_creds()``):
        ``current_cred()`` and ``capable()`` of the calling thread's C code."""
        old = lib.pfl_set_current_cred(self.as_raw())
        try:
            yield
        finally:
            lib.pfl_set_current_cred(old)

    def capable_sys_admin(self) -> bool:
        """``capable(CAP_SYS_ADMIN)``: here, an effective uid of root."""
        return self.euid.is_root()


_raw_lock = threading.Lock()
_raw: dict[Credential, Any] = {}
_keep: list[Any] = []  # the owning cdata of each struct cred in _raw
