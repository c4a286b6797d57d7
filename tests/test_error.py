"""pyforlinux.error: kernel errnos as exceptions (rust/kernel/error.rs)."""

from __future__ import annotations

import errno
import pickle

import pytest

from pyforlinux import error
from pyforlinux._bindings import ffi, lib
from pyforlinux.error import MAX_ERRNO, Error, code, from_err_ptr, from_result, to_result

CODE_NAMES = [n for n in vars(code) if n.startswith("E")]


def test_every_code_matches_the_kernel_headers() -> None:
    # errno.cdef declares every name of the three headers; cffi reads the
    # values from the real headers at build time.
    assert len(CODE_NAMES) == 152
    for name in CODE_NAMES:
        assert getattr(code, name) == getattr(lib, name), name


def test_the_issue_names_exist() -> None:
    wanted = (
        "EPERM ENOENT EINTR EIO ENXIO ENOMEM EBUSY EEXIST EINVAL ENOSPC ERANGE "
        "ETIMEDOUT ECANCELED ERESTARTSYS EPROBE_DEFER ENOTSUPP"
    ).split()
    assert set(wanted) <= set(CODE_NAMES)
    assert (code.ERESTARTSYS, code.EPROBE_DEFER, code.ENOTSUPP) == (512, 517, 524)
    # Linux's uapi values are Python's errno values.
    assert code.ETIMEDOUT == errno.ETIMEDOUT and code.ECANCELED == errno.ECANCELED


def test_error_is_an_oserror_with_positive_errno_and_negative_to_errno() -> None:
    e = Error(code.EINVAL)
    assert isinstance(e, OSError)
    assert e.errno == 22
    assert e.to_errno() == -22
    assert str(e) == "[Errno 22] EINVAL: Invalid argument"
    assert e.name() == "EINVAL"
    with pytest.raises(OSError) as info:
        raise Error(code.EBUSY, "the thing is busy")
    assert info.value.errno == code.EBUSY
    assert "EBUSY: the thing is busy" in str(info.value)


def test_kernel_only_errnos_have_names_and_descriptions() -> None:
    e = Error(code.EPROBE_DEFER)
    assert e.name() == "EPROBE_DEFER"
    assert "Driver requests probe retry" in str(e)
    assert Error(code.ENOTSUPP).name() == "ENOTSUPP"
    # Aliases map to the first name the headers give the value.
    assert Error(code.EWOULDBLOCK).name() == "EAGAIN"
    assert Error(code.EDEADLOCK).name() == "EDEADLK"


def test_unnamed_errno_has_no_name() -> None:
    e = Error(600)
    assert e.name() is None
    assert e.to_errno() == -600
    assert "E600" in str(e)


@pytest.mark.parametrize("bad", [0, -1, -22, MAX_ERRNO + 1, 1 << 40, True])
def test_constructor_rejects_values_outside_1_to_max_errno(bad: int) -> None:
    with pytest.raises(ValueError, match="not a kernel errno"):
        Error(bad)


def test_max_errno_is_the_kernels() -> None:
    assert lib.MAX_ERRNO == MAX_ERRNO
    assert Error(MAX_ERRNO).to_errno() == -MAX_ERRNO


def test_from_errno_takes_the_kernels_negative_value() -> None:
    assert Error.from_errno(-code.ENOSPC).errno == code.ENOSPC
    assert Error.from_errno(-MAX_ERRNO).errno == MAX_ERRNO


@pytest.mark.parametrize("bad", [0, 5, -MAX_ERRNO - 1, -(1 << 31)])
def test_from_errno_maps_out_of_range_to_einval_with_a_warning(bad: int) -> None:
    with pytest.warns(RuntimeWarning, match="out of range errno"):
        e = Error.from_errno(bad)
    assert e.errno == code.EINVAL


def test_to_result() -> None:
    assert to_result(0) == 0
    assert to_result(7) == 7
    with pytest.raises(Error) as info:
        to_result(-code.ENOMEM)
    assert info.value.errno == code.ENOMEM
    with pytest.warns(RuntimeWarning), pytest.raises(Error) as info:
        to_result(-100_000)
    assert info.value.errno == code.EINVAL


def test_from_err_ptr_decodes_err_ptr_and_passes_pointers() -> None:
    with pytest.raises(Error) as info:
        from_err_ptr(lib.ERR_PTR(-code.ENOSPC))
    assert info.value.errno == code.ENOSPC
    with pytest.raises(Error) as info:
        from_err_ptr(lib.ERR_PTR(-MAX_ERRNO))
    assert info.value.errno == MAX_ERRNO
    assert from_err_ptr(ffi.NULL) == ffi.NULL
    buf = ffi.new("int *")
    assert from_err_ptr(buf) == buf


def test_is_err_matches_the_kernel_macro() -> None:
    for value in (0, 1, (1 << 64) - MAX_ERRNO - 1, (1 << 64) - MAX_ERRNO, (1 << 64) - 1):
        assert error.is_err(value) == bool(lib.IS_ERR(ffi.cast("void *", value))), hex(value)


def test_to_ptr_round_trips() -> None:
    ptr = Error(code.EBUSY).to_ptr()
    assert lib.IS_ERR(ptr)
    assert lib.PTR_ERR(ptr) == -code.EBUSY
    with pytest.raises(Error) as info:
        from_err_ptr(ptr)
    assert info.value.errno == code.EBUSY


def test_from_result_turns_errors_into_negative_errnos() -> None:
    assert from_result(lambda: 5) == 5

    def fails() -> int:
        raise Error(code.ETIMEDOUT)

    assert from_result(fails) == -code.ETIMEDOUT
    assert from_result(fails, on_error=lambda e: e.errno * 10) == code.ETIMEDOUT * 10

    def crashes() -> int:
        raise KeyError("not a kernel error")

    with pytest.raises(KeyError):
        from_result(crashes)


def test_errors_pickle_with_their_message() -> None:
    e = pickle.loads(pickle.dumps(Error(code.EIO, "disk on fire")))
    assert isinstance(e, Error)
    assert e.errno == code.EIO
    assert str(e) == "[Errno 5] EIO: disk on fire"


def test_raise_errno_takes_either_sign() -> None:
    for value in (22, -22):
        with pytest.raises(Error) as info:
            error.raise_errno(value)
        assert info.value.errno == code.EINVAL
