"""The kernel log: printk's formats, levels and ring, dmesg(), WARN with its
C and Python call sites, drm.debug, and leak reports with their sites."""

from __future__ import annotations

import io
import pathlib
import sys
import threading
from typing import Any

import pytest

from pyforlinux import alloc, kmemleak, module, printk
from pyforlinux._bindings import ffi, lib

GFP = lib.GFP_KERNEL


def fmt(f: bytes, *args: Any) -> str:
    buf = ffi.new("char[512]")
    n = lib.pfl_snprintf(buf, 512, f, *args)
    out = ffi.string(buf).decode()
    assert n == len(out)
    return out


def ptr(v: int) -> Any:
    return ffi.cast("void *", v)


def test_integer_and_string_conversions_are_libc_s() -> None:
    assert fmt(b"%d|%5s|%-4d|%lx|%llu|%zu|%%|%c", ffi.cast("int", -3), ffi.new("char[]", b"ab"),
               ffi.cast("int", 7), ffi.cast("long", 255), ffi.cast("unsigned long long", 1 << 40),
               ffi.cast("size_t", 9), ffi.cast("int", 65)) == "-3|   ab|7   |ff|1099511627776|9|%|A"
    # lib/vsprintf.c's check_pointer(): NULL and error pointers are not dereferenced
    assert fmt(b"%s %s", ffi.NULL, ptr(-12)) == "(null) (efault)"


def test_pointer_extensions() -> None:
    assert fmt(b"%pe %pe %pe", ptr(-12), ptr(-517), ptr(-4095)) == "-ENOMEM -EPROBE_DEFER -4095"
    hashed = fmt(b"%p", ptr(0x1234))
    assert len(hashed) == 16 and hashed.startswith("00000000") and hashed != f"{0x1234:016x}"
    assert fmt(b"%pK", ptr(0x1234)) == hashed == fmt(b"%p", ptr(0x1234))  # kptr_restrict=0
    assert fmt(b"%p %p", ffi.NULL, ptr(-22)) == "0000000000000000 ffffffffffffffea"
    assert fmt(b"%px", ptr(0x1234)) == "0000000000001234"
    assert fmt(b"%*ph|%3phC|%2phN", ffi.cast("int", 3), ffi.new("char[]", b"\x01\x02\x03"),
               ffi.new("char[]", b"\xaa\xbb\xcc"), ffi.new("char[]", b"\x0f\xf0")) == \
        "01 02 03|aa:bb:cc|0ff0"
    u = ffi.new("char[]", bytes(range(16)))
    assert fmt(b"%pUb", u) == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    pa = ffi.new("unsigned long long *", 0xABC)
    assert fmt(b"%pa", pa) == "0x0000000000000abc"
    # the kernel consumes every alphanumeric after %p
    assert fmt(b"%pfoo!", ptr(0)) == "0000000000000000!"


def test_pV_formats_a_va_format_in_place() -> None:
    buf = ffi.new("char[128]")
    n = lib.pfl_snprintf_pV(buf, 128, b"[drm] %pV!", b"%s=%d %pe",
                            ffi.new("char[]", b"x"), ffi.cast("int", 7), ptr(-2))
    assert ffi.string(buf).decode() == "[drm] x=7 -ENOENT!" and n == 18


def test_levels_lines_and_continuations_in_the_ring() -> None:
    mark = printk.next_seq()
    lib.pfl_printk(b"\0013an error %d\n", ffi.cast("int", 5))
    lib.pfl_printk(b"no level\n")
    lib.pfl_printk(b"\0016part one, ")
    lib.pfl_printk(b"\001cpart two\n")
    printk.pr_debug("two\nlines")
    recs = printk.dmesg(mark)
    assert [(r.level, r.text) for r in recs] == [
        (printk.KERN_ERR, "an error 5"), (printk.KERN_WARNING, "no level"),
        (printk.KERN_INFO, "part one, part two"), (printk.KERN_DEBUG, "two"),
        (printk.KERN_DEBUG, "lines")]
    assert [r.seq for r in recs] == list(range(recs[0].seq, recs[0].seq + 5))
    assert all(r.pid == recs[0].pid for r in recs) and recs[0].ts_nsec <= recs[-1].ts_nsec
    assert [r.text for r in printk.dmesg(mark, max_level=printk.KERN_WARNING)] == \
        ["an error 5", "no level"]
    assert recs[0].line().endswith("] an error 5") and recs[0].line().startswith("[")
    printk.clear()
    assert printk.dmesg(mark) == []


def test_the_ring_keeps_the_newest_records() -> None:
    mark = printk.next_seq()
    old = printk.console_loglevel()
    printk.set_console_loglevel(0)
    try:
        for i in range(2100):
            printk.pr_info(f"record {i}")
    finally:
        printk.set_console_loglevel(old)
    recs = printk.dmesg(mark)
    assert len(recs) == 2048 and recs[-1].text == "record 2099" and recs[0].text == "record 52"


def test_the_console_gets_what_is_below_console_loglevel(
        capfd: pytest.CaptureFixture[str]) -> None:
    printk.pr_info("to the console")
    printk.pr_debug("not to the console")
    old = printk.console_loglevel()
    printk.set_console_loglevel(printk.KERN_WARNING)  # levels 0..3 reach it
    try:
        printk.pr_warn("filtered")
        printk.pr_err("an error")
    finally:
        printk.set_console_loglevel(old)
    err = capfd.readouterr().err
    assert err == "to the console\nan error\n"


def test_follow_prints_new_records_as_they_come() -> None:
    out = io.StringIO()
    stop = threading.Event()
    t = printk.follow(out, printk.next_seq(), stop, lambda r: r.text)
    printk.pr_info("one")
    printk.pr_info("two")
    stop.set()
    t.join()
    assert out.getvalue() == "one\ntwo\n"


@pytest.mark.kernel_warns
def test_a_c_warn_names_the_c_and_the_python_call_sites(kernel_clean: Any) -> None:
    mark = printk.next_seq()
    p = lib.pfl_kmalloc(32, GFP, 0)
    lib.pfl_kfree(p, 0)
    lib.pfl_kfree(p, 0)  # double free: a WARN in slab.c
    line = sys._getframe().f_lineno - 1
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    text = "\n".join(r.text for r in printk.dmesg(mark))
    assert "------------[ cut here ]------------" in text
    assert "WARNING: CPU: 0 PID: " in text and " at csrc/runtime/slab.c:" in text
    assert f"Python: {__file__}:{line} in test_a_c_warn_names_the_c_and_the_python_call_sites" \
        in text


@pytest.mark.kernel_warns
def test_warn_from_python_is_counted_and_logged_at_the_caller(kernel_clean: Any) -> None:
    mark = printk.next_seq()
    assert printk.WARN_ON(0) is False
    assert printk.WARN(1, "something is off") is True
    line = sys._getframe().f_lineno - 1
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    text = "\n".join(r.text for r in printk.dmesg(mark))
    assert "something is off" in text and f"at {__file__}:{line}" in text


def test_drm_debug_categories_gate_drm_dbg() -> None:
    class Parent:
        def name(self) -> str:
            return "toy.0"

    class Dev:
        parent = Parent()

    mark = printk.next_seq()
    old = printk.drm_debug()
    try:
        printk.set_drm_debug(0)
        printk.drm_dbg(Dev(), "hidden")
        printk.set_drm_debug(printk.DRM_UT_CORE)
        printk.drm_dbg(Dev(), "hidden too")  # a DRIVER message
        printk.drm_dbg(Dev(), "core message", printk.DRM_UT_CORE)
        assert int(lib.__drm_debug) == printk.DRM_UT_CORE  # the kernel's variable
    finally:
        printk.set_drm_debug(old)
    printk.drm_err(Dev(), "bad")
    texts = [r.text for r in printk.dmesg(mark)]
    assert texts == ["toy.0: [drm:test_drm_debug_categories_gate_drm_dbg] core message",
                     "toy.0: [drm] *ERROR* bad"]


def test_python_logging_of_the_package_goes_to_dmesg() -> None:
    import logging

    mark = printk.next_seq()
    logging.getLogger("pyforlinux.test").error("from logging")
    assert [(r.level, r.text) for r in printk.dmesg(mark)] == \
        [(printk.KERN_ERR, "pyforlinux.test: from logging")]


def test_leaked_owners_are_named_by_the_frame_that_created_them() -> None:
    mark = kmemleak.owner_scan()
    old = kmemleak.track_owner_sites(True)
    try:
        box = alloc.KBox.new("struct list_head", alloc.GFP_KERNEL)
        line = sys._getframe().f_lineno - 1
    finally:
        kmemleak.track_owner_sites(old)
    try:
        left = kmemleak.owners_since(mark)
        assert len(left) == 1
        _what, site = left[0]
        assert site is not None and (site.file, site.line) == (__file__, line)
        report = kmemleak.owner_report(left)
        assert report.startswith("unreleased Python owners: 1")
        assert f"created at {__file__}:{line} in test_leaked_owners" in report
    finally:
        box.close()
    assert kmemleak.owners_since(mark) == []


@pytest.mark.kernel_warns
def test_unloading_a_module_that_leaked_is_a_warn(tmp_path: pathlib.Path,
                                                  kernel_clean: Any) -> None:
    src = tmp_path / "leaky.py"
    src.write_text(
        "from pyforlinux import alloc\n"
        "from pyforlinux.module import module\n"
        "KEPT = []\n"
        "@module(name='leaky', authors=['t'], description='leaks', license='GPL')\n"
        "class Leaky:\n"
        "    def __init__(self, this):\n"
        "        KEPT.append(alloc.KBox.new('struct list_head', alloc.GFP_KERNEL))\n"
        "    def close(self):\n"
        "        pass\n")
    mark = printk.next_seq()
    old = kmemleak.track_owner_sites(True)
    try:
        module.load(str(src))
        module.unload("leaky")
    finally:
        kmemleak.track_owner_sites(old)
    assert lib.pfl_warn_count() == kernel_clean.warnings + 1
    text = "\n".join(r.text for r in printk.dmesg(mark))
    assert "module leaky: 1 object(s) it created are still alive after its exit" in text
    assert f"created at {src}:7 in __init__" in text
    sys.modules["pyforlinux_mod_leaky"].KEPT.pop().close()
