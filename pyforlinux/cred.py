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
from dataclasses import dataclass


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

    def capable_sys_admin(self) -> bool:
        """``capable(CAP_SYS_ADMIN)``: here, an effective uid of root."""
        return self.euid.is_root()
