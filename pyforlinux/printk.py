"""printk and dmesg: the kernel log, from both sides.

Everything printk'd -- the kernel C's ``pr_*``/``dev_*``/``drm_*``, its
WARNs, the runtime's own messages, and Python's :func:`pr_info` and
friends (``rust/kernel/print.rs``'s ``pr_*!`` macros) -- lands in one ring
buffer in C (csrc/runtime/printk.c), one record per line with a sequence
number, a timestamp, a log level and the pid of the task that logged it.
:func:`dmesg` reads it; :func:`follow` prints new records as they come
(``pyforlinux run --dmesg``). Records below :func:`console_loglevel` are
also written to the console (stderr), as the kernel's console does.

The kernel's formats apply to C callers (``%pV``, ``%ps``/``%pS``, ``%pe``,
``%p`` hashed, ``%pK``, ``%px``, ``%ph``, ``%pU``: see printk.c); Python
passes finished text.

``drm.debug``: :func:`set_drm_debug` sets the category mask the kernel's
``drm_dbg*()`` test (``__drm_debug``, ``DRM_UT_*`` bits); :func:`drm_dbg`
is the Python side.

:func:`WARN_ON` is a kernel WARN from Python (counted by ``pfl_warn_count``
like a C one, logged with the Python call site); a WARN in C called from
Python is logged with the C site *and* the Python frame that called into C.

The ``pyforlinux`` :mod:`logging` tree is forwarded here too (a handler
installed at import), so the safe layer's own warnings are in dmesg.

C header: include/linux/printk.h, include/linux/kern_levels.h,
include/drm/drm_print.h. Rust: rust/kernel/print.rs
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from pyforlinux._bindings import ffi, lib

__all__ = [
    "DRM_UT_ATOMIC",
    "DRM_UT_CORE",
    "DRM_UT_DP",
    "DRM_UT_DRIVER",
    "DRM_UT_DRMRES",
    "DRM_UT_KMS",
    "DRM_UT_LEASE",
    "DRM_UT_PRIME",
    "DRM_UT_STATE",
    "DRM_UT_VBL",
    "KERN_ALERT",
    "KERN_CRIT",
    "KERN_DEBUG",
    "KERN_EMERG",
    "KERN_ERR",
    "KERN_INFO",
    "KERN_NOTICE",
    "KERN_WARNING",
    "LEVEL_NAMES",
    "WARN",
    "WARN_ON",
    "Record",
    "clear",
    "console_loglevel",
    "dev_printk",
    "dmesg",
    "drm_dbg",
    "drm_debug",
    "drm_err",
    "drm_info",
    "drm_warn",
    "follow",
    "next_seq",
    "pr_alert",
    "pr_crit",
    "pr_debug",
    "pr_emerg",
    "pr_err",
    "pr_info",
    "pr_notice",
    "pr_warn",
    "printk",
    "report_ioctl_bug",
    "set_console_loglevel",
    "set_drm_debug",
    "wait",
]

#: Log levels (``include/linux/kern_levels.h``): lower is more severe.
KERN_EMERG, KERN_ALERT, KERN_CRIT, KERN_ERR = 0, 1, 2, 3
KERN_WARNING, KERN_NOTICE, KERN_INFO, KERN_DEBUG = 4, 5, 6, 7
LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")

#: ``enum drm_debug_category`` bits (include/drm/drm_print.h), for :func:`set_drm_debug`.
DRM_UT_CORE, DRM_UT_DRIVER, DRM_UT_KMS, DRM_UT_PRIME = 0x01, 0x02, 0x04, 0x08
DRM_UT_ATOMIC, DRM_UT_VBL, DRM_UT_STATE, DRM_UT_LEASE = 0x10, 0x20, 0x40, 0x80
DRM_UT_DP, DRM_UT_DRMRES = 0x100, 0x200

_TEXT_MAX = 1024  # PRINTKRB_RECORD_MAX, printk.c's LOG_LINE_MAX


@dataclass(frozen=True)
class Record:
    """One line of the log: ``seq`` (its number), ``level`` (0..7),
    ``ts_nsec`` (ns since the runtime started), ``pid`` (the logging task's
    thread id) and ``text`` (no newline)."""

    seq: int
    level: int
    ts_nsec: int
    pid: int
    text: str

    def line(self) -> str:
        """The ``dmesg`` form: ``[    1.234567] text``."""
        return f"[{self.ts_nsec // 1_000_000_000:5d}.{self.ts_nsec // 1000 % 1_000_000:06d}] " \
               f"{self.text}"

    def __str__(self) -> str:
        return self.line()


def next_seq() -> int:
    """The number the next record will get (a mark for ``dmesg(since=...)``)."""
    return int(lib.pfl_log_next_seq())


def dmesg(since: int = 0, *, max_level: int = KERN_DEBUG) -> list[Record]:
    """The records in the ring from number ``since`` on (older ones may have
    been overwritten: the ring holds the last 2048), with a level of at most
    ``max_level`` (``KERN_WARNING`` gives emerg..warn).

    Thread context: any; takes the log's lock briefly per record.
    """
    seq = ffi.new("unsigned long long *", since)
    level = ffi.new("int *")
    ts = ffi.new("unsigned long long *")
    pid = ffi.new("int *")
    buf = ffi.new("char[]", _TEXT_MAX)
    out = []
    while lib.pfl_log_read(seq, level, ts, pid, buf, _TEXT_MAX) >= 0:
        if level[0] <= max_level:
            out.append(Record(int(seq[0]), int(level[0]), int(ts[0]), int(pid[0]),
                              ffi.string(buf).decode(errors="replace")))
        seq[0] += 1
    return out


def wait(seq: int, timeout_ms: int) -> bool:
    """Wait (GIL released) up to ``timeout_ms`` for a record numbered ``>= seq``."""
    return bool(lib.pfl_log_wait(seq, timeout_ms))


def clear() -> None:
    """``dmesg -C``: what is in the ring is no longer read."""
    lib.pfl_log_clear()


def console_loglevel() -> int:
    """Records of a level below this go to the console (stderr); 7 by default."""
    return int(lib.console_printk[0])


def set_console_loglevel(level: int) -> None:
    """Set the console level (``dmesg -n``); 0 silences the console."""
    if not 0 <= level <= 8:
        from pyforlinux.error import Error, code
        raise Error(code.EINVAL, f"console log level {level} is not 0..8")
    lib.console_printk[0] = level


def printk(level: int, text: str) -> None:
    """Log ``text`` (several lines allowed) at ``level`` (0..7)."""
    lib.pfl_printk_emit(level, text.encode(errors="replace"))


def pr_emerg(text: str) -> None:
    """``pr_emerg!``"""
    printk(KERN_EMERG, text)


def pr_alert(text: str) -> None:
    """``pr_alert!``"""
    printk(KERN_ALERT, text)


def pr_crit(text: str) -> None:
    """``pr_crit!``"""
    printk(KERN_CRIT, text)


def pr_err(text: str) -> None:
    """``pr_err!``"""
    printk(KERN_ERR, text)


def pr_warn(text: str) -> None:
    """``pr_warn!``"""
    printk(KERN_WARNING, text)


def pr_notice(text: str) -> None:
    """``pr_notice!``"""
    printk(KERN_NOTICE, text)


def pr_info(text: str) -> None:
    """``pr_info!``"""
    printk(KERN_INFO, text)


def pr_debug(text: str) -> None:
    """``pr_debug!`` (KERN_DEBUG: in dmesg, not on the default console)."""
    printk(KERN_DEBUG, text)


def dev_printk(level: int, dev: Any, text: str) -> None:
    """``dev_printk()``: ``text`` prefixed with the device's name
    (``dev.name()``) as ``dev_err``/``dev_info`` do ("<name>: text")."""
    printk(level, f"{dev.name()}: {text}")


def drm_debug() -> int:
    """The ``drm.debug`` category mask (``__drm_debug``)."""
    return int(lib.__drm_debug)


def set_drm_debug(mask: int) -> None:
    """Set ``drm.debug`` (``DRM_UT_*`` bits; 0 turns ``drm_dbg*`` off)."""
    lib.__drm_debug = mask


def _drm_dev_name(drm: Any) -> str:
    parent = getattr(drm, "parent", None)
    return str(parent.name()) if parent is not None and hasattr(parent, "name") else "drm"


def drm_err(drm: Any, text: str) -> None:
    """``drm_err()``: ``<device>: [drm] *ERROR* text``."""
    printk(KERN_ERR, f"{_drm_dev_name(drm)}: [drm] *ERROR* {text}")


def drm_warn(drm: Any, text: str) -> None:
    """``drm_warn()``: ``<device>: [drm] text`` at KERN_WARNING."""
    printk(KERN_WARNING, f"{_drm_dev_name(drm)}: [drm] {text}")


def drm_info(drm: Any, text: str) -> None:
    """``drm_info()``: ``<device>: [drm] text`` at KERN_INFO."""
    printk(KERN_INFO, f"{_drm_dev_name(drm)}: [drm] {text}")


def drm_dbg(drm: Any, text: str, category: int = DRM_UT_DRIVER) -> None:
    """``drm_dbg()`` (``drm_dbg_driver``; ``category`` picks another
    ``DRM_UT_*``): logged at KERN_DEBUG as ``<device>: [drm:<caller>] text``
    only when ``category`` is set in :func:`drm_debug`."""
    if not int(lib.__drm_debug) & category:
        return
    caller = sys._getframe(1).f_code.co_name
    printk(KERN_DEBUG, f"{_drm_dev_name(drm)}: [drm:{caller}] {text}")


_NOTHING = object()


def report_ioctl_bug(drm: Any, ioctl: str, errno: int, *, exc: BaseException | None = None,
                     result: object = _NOTHING) -> None:
    """Log a driver bug found by the ioctl dispatch, at KERN_ERR: the
    handler of ``ioctl`` (its name, e.g. ``NOVA_GEM_CREATE``) on DRM device
    ``drm`` raised ``exc`` (logged with its traceback), or returned
    ``result`` (``None``: a forgotten ``return 0``; not an int; out of the
    C int range); ``errno`` is what the client got. The dispatch calls it
    (pyforlinux/drm/ioctl.py; C trampolines into Python handlers call it
    the same way).
    """
    from pyforlinux.error import Error

    name = Error(errno).name()
    head = f"{_drm_dev_name(drm)}: [drm] *ERROR* ioctl {ioctl}: "
    if exc is not None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        printk(KERN_ERR, f"{head}the handler raised {type(exc).__name__}: {exc}; "
                         f"the client got {name}\n{tb}")
    elif result is None:
        printk(KERN_ERR, f"{head}the handler returned None, not an int (a missing "
                         f"'return 0'?); its side effects stay; the client got {name}")
    else:
        printk(KERN_ERR, f"{head}the handler returned {result!r}, not a C int; "
                         f"the client got {name}")


# ---------------------------------------------------------------- WARN

_PKG = __file__.rsplit("/", 1)[0] + "/"
_DRIVERS = _PKG + "drivers/"


def _is_core(filename: str) -> bool:
    """A frame of pyforlinux's own layers (not a driver shipped in it)."""
    return filename.startswith(_PKG) and not filename.startswith(_DRIVERS)


def python_site(frame: FrameType | None) -> str:
    """``file:line in function`` of ``frame``, and of the first frame above
    it outside pyforlinux's core (the driver or test that got there)."""
    if frame is None:
        return ""
    first = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    f: FrameType | None = frame
    while f is not None and _is_core(f.f_code.co_filename):
        f = f.f_back
    if f is None or f is frame:
        return first
    return f"{first}, from {f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pfl_py_warn_site(buf: Any, size: int) -> None:
    """Called by a WARN in C (pfl_warn_at): the Python frame that called into C."""
    try:
        site = python_site(sys._getframe(1)).encode(errors="replace")[: size - 1]
        ffi.memmove(buf, site + b"\0", len(site) + 1)
    except BaseException:  # never raise into C
        pass


lib.pfl_set_warn_hook(lib.pfl_py_warn_site)


def WARN(condition: object, text: str = "") -> bool:
    """``WARN(cond, fmt...)`` from Python: if ``condition`` is true, log
    ``text`` and a kernel warning at the caller's file and line, counted
    like a C WARN (tests fail on it); returns ``bool(condition)``."""
    if not condition:
        return False
    caller = sys._getframe(1)
    if caller.f_code.co_name == "WARN_ON" and caller.f_back is not None:
        caller = caller.f_back
    if text:
        printk(KERN_WARNING, text)
    lib.pfl_warn_at(caller.f_code.co_filename.encode(), caller.f_lineno,
                    (text or "WARN_ON").encode(errors="replace"), ffi.NULL)
    return True


def WARN_ON(condition: object) -> bool:
    """``WARN_ON(cond)`` from Python (see :func:`WARN`)."""
    return WARN(condition)


# ---------------------------------------------------------------- following


def follow(out: TextIO, since: int, stop: threading.Event,
           fmt: Callable[[Record], str] = Record.line) -> threading.Thread:
    """Start a thread that writes each record from ``since`` on to ``out``
    as it comes, until ``stop`` is set (then it drains what is left).
    ``pyforlinux run --dmesg``."""

    def loop() -> None:
        seq = since
        while True:
            stopping = stop.is_set()
            for rec in dmesg(seq):
                out.write(fmt(rec) + "\n")
                seq = rec.seq + 1
            out.flush()
            if stopping:
                return
            wait(seq, 100)

    t = threading.Thread(target=loop, name="pyforlinux-dmesg", daemon=True)
    t.start()
    return t


def records_since(mark: int, max_level: int = KERN_DEBUG) -> Iterator[str]:
    """The lines (text only) logged since ``mark`` (:func:`next_seq`)."""
    return (r.text for r in dmesg(mark, max_level=max_level))


# ---------------------------------------------------------------- logging


class _ToDmesg(logging.Handler):
    """Forwards the ``pyforlinux`` logging tree into the kernel log."""

    _LEVELS = ((logging.CRITICAL, KERN_CRIT), (logging.ERROR, KERN_ERR),
               (logging.WARNING, KERN_WARNING), (logging.INFO, KERN_INFO))

    def emit(self, record: logging.LogRecord) -> None:
        level = next((k for py, k in self._LEVELS if record.levelno >= py), KERN_DEBUG)
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        printk(level, text)


_logger = logging.getLogger("pyforlinux")
if not any(isinstance(h, _ToDmesg) for h in _logger.handlers):
    _logger.addHandler(_ToDmesg(logging.DEBUG))
    _logger.setLevel(logging.INFO)
    _logger.propagate = False
