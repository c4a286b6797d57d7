"""Running a test's step on another (short-lived) thread.

Shared by the lock, lockdep and misuse tests: a thread that does one thing
and exits is how they check owner rules, thread identity and "exits holding
a lock" reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` on a new thread, which then exits; return its result or
    re-raise its exception here. The thread must end within 30 s."""
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join(30)
    assert not t.is_alive()
    if "error" in out:
        raise out["error"]
    return out.get("value")
