"""Tasks and credentials are the real thread's and process's."""

from __future__ import annotations

import os
import threading

import pytest

from pyforlinux import task
from pyforlinux.cred import Credential, Kuid
from pyforlinux.error import Error, code


def test_current_task_is_the_calling_thread() -> None:
    cur = task.current()
    assert cur.tgid() == os.getpid()
    assert cur.pid() == threading.get_native_id()
    assert cur.uid() == Kuid(os.getuid()) and cur.euid() == Kuid(os.geteuid())
    assert cur.cred() == Credential.current()


def test_current_task_is_not_usable_from_another_thread() -> None:
    cur = task.current()
    errs: list[int] = []

    def other() -> None:
        try:
            cur.pid()
        except Error as e:
            errs.append(int(e.errno or 0))

    t = threading.Thread(target=other)
    t.start()
    t.join(30)
    assert errs == [code.EPERM]


def test_signal_makes_signal_pending_until_cleared() -> None:
    cur = task.current()
    with cur.get() as t:
        assert not t.signal_pending()
        t.signal()
        assert cur.signal_pending()
        cur.clear_signal()
        assert not t.signal_pending()
    with pytest.raises(Error) as e:
        t.pid()
    assert e.value.errno == code.EINVAL


def test_credentials() -> None:
    root, user = Credential.new(0), Credential.new(1000, euid=0)
    assert root.capable_sys_admin() and user.capable_sys_admin()
    assert not Credential.new(1000).capable_sys_admin()
    assert Kuid.from_raw(5).into_raw() == 5
