"""Kernel errors as Python exceptions.

Mirrors ``rust/kernel/error.rs``: :class:`Error` carries a kernel errno,
:class:`code` names them (``code.EINVAL``), :func:`to_result` turns a C
return value into success or an exception, :func:`from_err_ptr` decodes
``ERR_PTR()`` values and :func:`from_result` goes the other way, for
Python code called back from C.

An :class:`Error` is an :class:`OSError`: ``e.errno`` is positive, as Python
expects, and ``e.to_errno()`` is negative, as the kernel keeps it. Only
values in ``1..MAX_ERRNO`` (4095) are errors; :meth:`Error.from_errno`
maps anything else to ``EINVAL`` with a :class:`RuntimeWarning`, as the
Rust code does (``pr_warn!``).

Allocation failure anywhere in pyforlinux raises ``Error(ENOMEM)``
(:class:`pyforlinux.alloc.AllocError`, a subclass).

C header: include/linux/err.h, include/uapi/asm-generic/errno-base.h,
include/uapi/asm-generic/errno.h, include/linux/errno.h.
Rust: rust/kernel/error.rs
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Final, NoReturn, TypeVar

MAX_ERRNO: Final = 4095
"""Largest errno (``include/linux/err.h``); ``-MAX_ERRNO..-1`` are errors."""

_R = TypeVar("_R")


class code:
    """The kernel's errno values, by name (positive ``int``).

    Every name of include/uapi/asm-generic/errno-base.h, errno.h and the
    kernel-internal include/linux/errno.h (``ERESTARTSYS``,
    ``EPROBE_DEFER``, ``ENOTSUPP`` ...); the values are checked against
    those headers by tests/test_error.py. Use as ``Error(code.EINVAL)``.

    Rust: ``kernel::error::code`` (there each is an ``Error`` constant; here
    an ``int``, as Python raises a fresh exception each time).
    """

    EPERM: Final = 1
    """Operation not permitted."""
    ENOENT: Final = 2
    """No such file or directory."""
    ESRCH: Final = 3
    """No such process."""
    EINTR: Final = 4
    """Interrupted system call."""
    EIO: Final = 5
    """I/O error."""
    ENXIO: Final = 6
    """No such device or address."""
    E2BIG: Final = 7
    """Argument list too long."""
    ENOEXEC: Final = 8
    """Exec format error."""
    EBADF: Final = 9
    """Bad file number."""
    ECHILD: Final = 10
    """No child processes."""
    EAGAIN: Final = 11
    """Try again."""
    ENOMEM: Final = 12
    """Out of memory."""
    EACCES: Final = 13
    """Permission denied."""
    EFAULT: Final = 14
    """Bad address."""
    ENOTBLK: Final = 15
    """Block device required."""
    EBUSY: Final = 16
    """Device or resource busy."""
    EEXIST: Final = 17
    """File exists."""
    EXDEV: Final = 18
    """Cross-device link."""
    ENODEV: Final = 19
    """No such device."""
    ENOTDIR: Final = 20
    """Not a directory."""
    EISDIR: Final = 21
    """Is a directory."""
    EINVAL: Final = 22
    """Invalid argument."""
    ENFILE: Final = 23
    """File table overflow."""
    EMFILE: Final = 24
    """Too many open files."""
    ENOTTY: Final = 25
    """Not a typewriter."""
    ETXTBSY: Final = 26
    """Text file busy."""
    EFBIG: Final = 27
    """File too large."""
    ENOSPC: Final = 28
    """No space left on device."""
    ESPIPE: Final = 29
    """Illegal seek."""
    EROFS: Final = 30
    """Read-only file system."""
    EMLINK: Final = 31
    """Too many links."""
    EPIPE: Final = 32
    """Broken pipe."""
    EDOM: Final = 33
    """Math argument out of domain of func."""
    ERANGE: Final = 34
    """Math result not representable."""
    EDEADLK: Final = 35
    """Resource deadlock would occur."""
    ENAMETOOLONG: Final = 36
    """File name too long."""
    ENOLCK: Final = 37
    """No record locks available."""
    ENOSYS: Final = 38
    """Invalid system call number."""
    ENOTEMPTY: Final = 39
    """Directory not empty."""
    ELOOP: Final = 40
    """Too many symbolic links encountered."""
    EWOULDBLOCK: Final = 11
    """Operation would block."""
    ENOMSG: Final = 42
    """No message of desired type."""
    EIDRM: Final = 43
    """Identifier removed."""
    ECHRNG: Final = 44
    """Channel number out of range."""
    EL2NSYNC: Final = 45
    """Level 2 not synchronized."""
    EL3HLT: Final = 46
    """Level 3 halted."""
    EL3RST: Final = 47
    """Level 3 reset."""
    ELNRNG: Final = 48
    """Link number out of range."""
    EUNATCH: Final = 49
    """Protocol driver not attached."""
    ENOCSI: Final = 50
    """No CSI structure available."""
    EL2HLT: Final = 51
    """Level 2 halted."""
    EBADE: Final = 52
    """Invalid exchange."""
    EBADR: Final = 53
    """Invalid request descriptor."""
    EXFULL: Final = 54
    """Exchange full."""
    ENOANO: Final = 55
    """No anode."""
    EBADRQC: Final = 56
    """Invalid request code."""
    EBADSLT: Final = 57
    """Invalid slot."""
    EDEADLOCK: Final = 35
    """Resource deadlock would occur."""
    EBFONT: Final = 59
    """Bad font file format."""
    ENOSTR: Final = 60
    """Device not a stream."""
    ENODATA: Final = 61
    """No data available."""
    ETIME: Final = 62
    """Timer expired."""
    ENOSR: Final = 63
    """Out of streams resources."""
    ENONET: Final = 64
    """Machine is not on the network."""
    ENOPKG: Final = 65
    """Package not installed."""
    EREMOTE: Final = 66
    """Object is remote."""
    ENOLINK: Final = 67
    """Link has been severed."""
    EADV: Final = 68
    """Advertise error."""
    ESRMNT: Final = 69
    """Srmount error."""
    ECOMM: Final = 70
    """Communication error on send."""
    EPROTO: Final = 71
    """Protocol error."""
    EMULTIHOP: Final = 72
    """Multihop attempted."""
    EDOTDOT: Final = 73
    """RFS specific error."""
    EBADMSG: Final = 74
    """Not a data message."""
    EOVERFLOW: Final = 75
    """Value too large for defined data type."""
    ENOTUNIQ: Final = 76
    """Name not unique on network."""
    EBADFD: Final = 77
    """File descriptor in bad state."""
    EREMCHG: Final = 78
    """Remote address changed."""
    ELIBACC: Final = 79
    """Can not access a needed shared library."""
    ELIBBAD: Final = 80
    """Accessing a corrupted shared library."""
    ELIBSCN: Final = 81
    """.lib section in a.out corrupted."""
    ELIBMAX: Final = 82
    """Attempting to link in too many shared libraries."""
    ELIBEXEC: Final = 83
    """Cannot exec a shared library directly."""
    EILSEQ: Final = 84
    """Illegal byte sequence."""
    ERESTART: Final = 85
    """Interrupted system call should be restarted."""
    ESTRPIPE: Final = 86
    """Streams pipe error."""
    EUSERS: Final = 87
    """Too many users."""
    ENOTSOCK: Final = 88
    """Socket operation on non-socket."""
    EDESTADDRREQ: Final = 89
    """Destination address required."""
    EMSGSIZE: Final = 90
    """Message too long."""
    EPROTOTYPE: Final = 91
    """Protocol wrong type for socket."""
    ENOPROTOOPT: Final = 92
    """Protocol not available."""
    EPROTONOSUPPORT: Final = 93
    """Protocol not supported."""
    ESOCKTNOSUPPORT: Final = 94
    """Socket type not supported."""
    EOPNOTSUPP: Final = 95
    """Operation not supported on transport endpoint."""
    EPFNOSUPPORT: Final = 96
    """Protocol family not supported."""
    EAFNOSUPPORT: Final = 97
    """Address family not supported by protocol."""
    EADDRINUSE: Final = 98
    """Address already in use."""
    EADDRNOTAVAIL: Final = 99
    """Cannot assign requested address."""
    ENETDOWN: Final = 100
    """Network is down."""
    ENETUNREACH: Final = 101
    """Network is unreachable."""
    ENETRESET: Final = 102
    """Network dropped connection because of reset."""
    ECONNABORTED: Final = 103
    """Software caused connection abort."""
    ECONNRESET: Final = 104
    """Connection reset by peer."""
    ENOBUFS: Final = 105
    """No buffer space available."""
    EISCONN: Final = 106
    """Transport endpoint is already connected."""
    ENOTCONN: Final = 107
    """Transport endpoint is not connected."""
    ESHUTDOWN: Final = 108
    """Cannot send after transport endpoint shutdown."""
    ETOOMANYREFS: Final = 109
    """Too many references: cannot splice."""
    ETIMEDOUT: Final = 110
    """Connection timed out."""
    ECONNREFUSED: Final = 111
    """Connection refused."""
    EHOSTDOWN: Final = 112
    """Host is down."""
    EHOSTUNREACH: Final = 113
    """No route to host."""
    EALREADY: Final = 114
    """Operation already in progress."""
    EINPROGRESS: Final = 115
    """Operation now in progress."""
    ESTALE: Final = 116
    """Stale file handle."""
    EUCLEAN: Final = 117
    """Structure needs cleaning."""
    ENOTNAM: Final = 118
    """Not a XENIX named type file."""
    ENAVAIL: Final = 119
    """No XENIX semaphores available."""
    EISNAM: Final = 120
    """Is a named type file."""
    EREMOTEIO: Final = 121
    """Remote I/O error."""
    EDQUOT: Final = 122
    """Quota exceeded."""
    ENOMEDIUM: Final = 123
    """No medium found."""
    EMEDIUMTYPE: Final = 124
    """Wrong medium type."""
    ECANCELED: Final = 125
    """Operation Canceled."""
    ENOKEY: Final = 126
    """Required key not available."""
    EKEYEXPIRED: Final = 127
    """Key has expired."""
    EKEYREVOKED: Final = 128
    """Key has been revoked."""
    EKEYREJECTED: Final = 129
    """Key was rejected by service."""
    EOWNERDEAD: Final = 130
    """Owner died."""
    ENOTRECOVERABLE: Final = 131
    """State not recoverable."""
    ERFKILL: Final = 132
    """Operation not possible due to RF-kill."""
    EHWPOISON: Final = 133
    """Memory page has hardware error."""
    ERESTARTSYS: Final = 512
    """Restart the system call."""
    ERESTARTNOINTR: Final = 513
    """System call was interrupted by a signal and will be restarted."""
    ERESTARTNOHAND: Final = 514
    """Restart if no handler..."""
    ENOIOCTLCMD: Final = 515
    """No ioctl command."""
    ERESTART_RESTARTBLOCK: Final = 516
    """Restart by calling sys_restart_syscall."""
    EPROBE_DEFER: Final = 517
    """Driver requests probe retry."""
    EOPENSTALE: Final = 518
    """Open found a stale dentry."""
    ENOPARAM: Final = 519
    """Parameter not supported."""
    EBADHANDLE: Final = 521
    """Illegal NFS file handle."""
    ENOTSYNC: Final = 522
    """Update synchronization mismatch."""
    EBADCOOKIE: Final = 523
    """Cookie is stale."""
    ENOTSUPP: Final = 524
    """Operation is not supported."""
    ETOOSMALL: Final = 525
    """Buffer or request is too small."""
    ESERVERFAULT: Final = 526
    """An untranslatable error occurred."""
    EBADTYPE: Final = 527
    """Type not supported by server."""
    EJUKEBOX: Final = 528
    """Request initiated, but will not complete before timeout."""
    EIOCBQUEUED: Final = 529
    """Iocb queued, will get completion event."""
    ERECALLCONFLICT: Final = 530
    """Conflict with recalled state."""
    ENOGRACE: Final = 531
    """NFS file lock reclaim refused."""


# errno -> (name, description); aliases (EWOULDBLOCK, EDEADLOCK) map to
# the first name the headers define for the value.
_DESCRIPTIONS: Final[dict[int, tuple[str, str]]] = {
    1: ('EPERM', 'Operation not permitted'),
    2: ('ENOENT', 'No such file or directory'),
    3: ('ESRCH', 'No such process'),
    4: ('EINTR', 'Interrupted system call'),
    5: ('EIO', 'I/O error'),
    6: ('ENXIO', 'No such device or address'),
    7: ('E2BIG', 'Argument list too long'),
    8: ('ENOEXEC', 'Exec format error'),
    9: ('EBADF', 'Bad file number'),
    10: ('ECHILD', 'No child processes'),
    11: ('EAGAIN', 'Try again'),
    12: ('ENOMEM', 'Out of memory'),
    13: ('EACCES', 'Permission denied'),
    14: ('EFAULT', 'Bad address'),
    15: ('ENOTBLK', 'Block device required'),
    16: ('EBUSY', 'Device or resource busy'),
    17: ('EEXIST', 'File exists'),
    18: ('EXDEV', 'Cross-device link'),
    19: ('ENODEV', 'No such device'),
    20: ('ENOTDIR', 'Not a directory'),
    21: ('EISDIR', 'Is a directory'),
    22: ('EINVAL', 'Invalid argument'),
    23: ('ENFILE', 'File table overflow'),
    24: ('EMFILE', 'Too many open files'),
    25: ('ENOTTY', 'Not a typewriter'),
    26: ('ETXTBSY', 'Text file busy'),
    27: ('EFBIG', 'File too large'),
    28: ('ENOSPC', 'No space left on device'),
    29: ('ESPIPE', 'Illegal seek'),
    30: ('EROFS', 'Read-only file system'),
    31: ('EMLINK', 'Too many links'),
    32: ('EPIPE', 'Broken pipe'),
    33: ('EDOM', 'Math argument out of domain of func'),
    34: ('ERANGE', 'Math result not representable'),
    35: ('EDEADLK', 'Resource deadlock would occur'),
    36: ('ENAMETOOLONG', 'File name too long'),
    37: ('ENOLCK', 'No record locks available'),
    38: ('ENOSYS', 'Invalid system call number'),
    39: ('ENOTEMPTY', 'Directory not empty'),
    40: ('ELOOP', 'Too many symbolic links encountered'),
    42: ('ENOMSG', 'No message of desired type'),
    43: ('EIDRM', 'Identifier removed'),
    44: ('ECHRNG', 'Channel number out of range'),
    45: ('EL2NSYNC', 'Level 2 not synchronized'),
    46: ('EL3HLT', 'Level 3 halted'),
    47: ('EL3RST', 'Level 3 reset'),
    48: ('ELNRNG', 'Link number out of range'),
    49: ('EUNATCH', 'Protocol driver not attached'),
    50: ('ENOCSI', 'No CSI structure available'),
    51: ('EL2HLT', 'Level 2 halted'),
    52: ('EBADE', 'Invalid exchange'),
    53: ('EBADR', 'Invalid request descriptor'),
    54: ('EXFULL', 'Exchange full'),
    55: ('ENOANO', 'No anode'),
    56: ('EBADRQC', 'Invalid request code'),
    57: ('EBADSLT', 'Invalid slot'),
    59: ('EBFONT', 'Bad font file format'),
    60: ('ENOSTR', 'Device not a stream'),
    61: ('ENODATA', 'No data available'),
    62: ('ETIME', 'Timer expired'),
    63: ('ENOSR', 'Out of streams resources'),
    64: ('ENONET', 'Machine is not on the network'),
    65: ('ENOPKG', 'Package not installed'),
    66: ('EREMOTE', 'Object is remote'),
    67: ('ENOLINK', 'Link has been severed'),
    68: ('EADV', 'Advertise error'),
    69: ('ESRMNT', 'Srmount error'),
    70: ('ECOMM', 'Communication error on send'),
    71: ('EPROTO', 'Protocol error'),
    72: ('EMULTIHOP', 'Multihop attempted'),
    73: ('EDOTDOT', 'RFS specific error'),
    74: ('EBADMSG', 'Not a data message'),
    75: ('EOVERFLOW', 'Value too large for defined data type'),
    76: ('ENOTUNIQ', 'Name not unique on network'),
    77: ('EBADFD', 'File descriptor in bad state'),
    78: ('EREMCHG', 'Remote address changed'),
    79: ('ELIBACC', 'Can not access a needed shared library'),
    80: ('ELIBBAD', 'Accessing a corrupted shared library'),
    81: ('ELIBSCN', '.lib section in a.out corrupted'),
    82: ('ELIBMAX', 'Attempting to link in too many shared libraries'),
    83: ('ELIBEXEC', 'Cannot exec a shared library directly'),
    84: ('EILSEQ', 'Illegal byte sequence'),
    85: ('ERESTART', 'Interrupted system call should be restarted'),
    86: ('ESTRPIPE', 'Streams pipe error'),
    87: ('EUSERS', 'Too many users'),
    88: ('ENOTSOCK', 'Socket operation on non-socket'),
    89: ('EDESTADDRREQ', 'Destination address required'),
    90: ('EMSGSIZE', 'Message too long'),
    91: ('EPROTOTYPE', 'Protocol wrong type for socket'),
    92: ('ENOPROTOOPT', 'Protocol not available'),
    93: ('EPROTONOSUPPORT', 'Protocol not supported'),
    94: ('ESOCKTNOSUPPORT', 'Socket type not supported'),
    95: ('EOPNOTSUPP', 'Operation not supported on transport endpoint'),
    96: ('EPFNOSUPPORT', 'Protocol family not supported'),
    97: ('EAFNOSUPPORT', 'Address family not supported by protocol'),
    98: ('EADDRINUSE', 'Address already in use'),
    99: ('EADDRNOTAVAIL', 'Cannot assign requested address'),
    100: ('ENETDOWN', 'Network is down'),
    101: ('ENETUNREACH', 'Network is unreachable'),
    102: ('ENETRESET', 'Network dropped connection because of reset'),
    103: ('ECONNABORTED', 'Software caused connection abort'),
    104: ('ECONNRESET', 'Connection reset by peer'),
    105: ('ENOBUFS', 'No buffer space available'),
    106: ('EISCONN', 'Transport endpoint is already connected'),
    107: ('ENOTCONN', 'Transport endpoint is not connected'),
    108: ('ESHUTDOWN', 'Cannot send after transport endpoint shutdown'),
    109: ('ETOOMANYREFS', 'Too many references: cannot splice'),
    110: ('ETIMEDOUT', 'Connection timed out'),
    111: ('ECONNREFUSED', 'Connection refused'),
    112: ('EHOSTDOWN', 'Host is down'),
    113: ('EHOSTUNREACH', 'No route to host'),
    114: ('EALREADY', 'Operation already in progress'),
    115: ('EINPROGRESS', 'Operation now in progress'),
    116: ('ESTALE', 'Stale file handle'),
    117: ('EUCLEAN', 'Structure needs cleaning'),
    118: ('ENOTNAM', 'Not a XENIX named type file'),
    119: ('ENAVAIL', 'No XENIX semaphores available'),
    120: ('EISNAM', 'Is a named type file'),
    121: ('EREMOTEIO', 'Remote I/O error'),
    122: ('EDQUOT', 'Quota exceeded'),
    123: ('ENOMEDIUM', 'No medium found'),
    124: ('EMEDIUMTYPE', 'Wrong medium type'),
    125: ('ECANCELED', 'Operation Canceled'),
    126: ('ENOKEY', 'Required key not available'),
    127: ('EKEYEXPIRED', 'Key has expired'),
    128: ('EKEYREVOKED', 'Key has been revoked'),
    129: ('EKEYREJECTED', 'Key was rejected by service'),
    130: ('EOWNERDEAD', 'Owner died'),
    131: ('ENOTRECOVERABLE', 'State not recoverable'),
    132: ('ERFKILL', 'Operation not possible due to RF-kill'),
    133: ('EHWPOISON', 'Memory page has hardware error'),
    512: ('ERESTARTSYS', 'Restart the system call'),
    513: ('ERESTARTNOINTR', 'System call was interrupted by a signal and will be restarted'),
    514: ('ERESTARTNOHAND', 'Restart if no handler..'),
    515: ('ENOIOCTLCMD', 'No ioctl command'),
    516: ('ERESTART_RESTARTBLOCK', 'Restart by calling sys_restart_syscall'),
    517: ('EPROBE_DEFER', 'Driver requests probe retry'),
    518: ('EOPENSTALE', 'Open found a stale dentry'),
    519: ('ENOPARAM', 'Parameter not supported'),
    521: ('EBADHANDLE', 'Illegal NFS file handle'),
    522: ('ENOTSYNC', 'Update synchronization mismatch'),
    523: ('EBADCOOKIE', 'Cookie is stale'),
    524: ('ENOTSUPP', 'Operation is not supported'),
    525: ('ETOOSMALL', 'Buffer or request is too small'),
    526: ('ESERVERFAULT', 'An untranslatable error occurred'),
    527: ('EBADTYPE', 'Type not supported by server'),
    528: ('EJUKEBOX', 'Request initiated, but will not complete before timeout'),
    529: ('EIOCBQUEUED', 'Iocb queued, will get completion event'),
    530: ('ERECALLCONFLICT', 'Conflict with recalled state'),
    531: ('ENOGRACE', 'NFS file lock reclaim refused'),
}


class Error(OSError):
    """A kernel error: an errno in ``1..MAX_ERRNO``.

    ``Error(EINVAL)`` or ``Error(EINVAL, "what went wrong")``: ``errno`` is
    the positive value, :meth:`to_errno` the kernel's negative one, ``str()``
    reads ``"EINVAL: what went wrong"``.

    Args:
        errno: positive errno, ``1..MAX_ERRNO``.
        message: what went wrong; defaults to the errno's description.

    Raises:
        ValueError: for an errno outside ``1..MAX_ERRNO`` (convert untrusted
            or negative values with :meth:`from_errno`).

    Rust: ``kernel::error::Error``
    """

    def __init__(self, errno: int, message: str | None = None) -> None:
        if isinstance(errno, bool) or not isinstance(errno, int) or not 0 < errno <= MAX_ERRNO:
            raise ValueError(f"{errno!r} is not a kernel errno (1..{MAX_ERRNO})")
        name = _DESCRIPTIONS.get(errno, (f"E{errno}", ""))[0]
        self._message = message
        self._errno = errno
        super().__init__(errno, f"{name}: {message or describe(errno)}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._errno, self._message))

    @classmethod
    def from_errno(cls, errno: int) -> Error:
        """An :class:`Error` from a kernel error code (negative: ``-EINVAL``).

        It is a bug to pass an out-of-range value (``>= 0`` or below
        ``-MAX_ERRNO``): like Rust, this warns (:class:`RuntimeWarning`)
        and returns ``EINVAL``.

        Rust: ``kernel::error::Error::from_errno``
        """
        if not -MAX_ERRNO <= errno < 0:
            warnings.warn(
                f"attempted to create an Error with an out of range errno: {errno}",
                RuntimeWarning,
                stacklevel=2,
            )
            return cls(code.EINVAL)
        return cls(-errno)

    def to_errno(self) -> int:
        """The kernel's negative errno (``-22`` for ``EINVAL``).

        Rust: ``kernel::error::Error::to_errno``
        """
        return -self._errno

    def to_ptr(self) -> Any:
        """The error as an ``ERR_PTR()``: a ``void *`` cffi pointer.

        C header: include/linux/err.h (``ERR_PTR``).
        Rust: ``kernel::error::Error::to_ptr``
        """
        return _c().ERR_PTR(self.to_errno())

    def name(self) -> str | None:
        """The errno's symbolic name (``"EINVAL"``), or ``None`` if it has none.

        Rust: ``kernel::error::Error::name`` (``errname()`` in C)
        """
        entry = _DESCRIPTIONS.get(self._errno)
        return entry[0] if entry else None


def describe(errno: int) -> str:
    """The kernel's description of a positive errno (``"Invalid argument"``)."""
    entry = _DESCRIPTIONS.get(errno)
    return entry[1] if entry else f"Unknown error {errno}"


def to_result(ret: int) -> int:
    """``ret`` if it is not a negative errno, else raise it.

    Args:
        ret: a C ``int`` return value (``0``/positive on success).

    Returns:
        ``ret`` unchanged (Rust returns ``Ok(())``; the value is handy here).

    Raises:
        Error: for ``ret`` in ``-MAX_ERRNO..-1``; ``EINVAL`` (with a
            warning) for a negative ``ret`` below ``-MAX_ERRNO``.

    Rust: ``kernel::error::to_result``
    """
    if ret < 0:
        raise Error.from_errno(ret)
    return ret


def is_err(ptr: int) -> bool:
    """``IS_ERR()`` of an address: it is in the top ``MAX_ERRNO`` values.

    C header: include/linux/err.h
    """
    return (1 << 64) - MAX_ERRNO <= ptr < (1 << 64)


_lib: Any = None


def _c() -> Any:
    """The bindings' ``lib``, imported on first use (the errno names work
    without the built extension) and kept: an import per call cost ~1 µs
    on hot paths (``from_err_ptr``)."""
    global _lib
    if _lib is None:
        from pyforlinux._bindings import lib

        _lib = lib
    return _lib


def from_err_ptr(ptr: Any) -> Any:
    """Return the pointer, or raise the error an ``ERR_PTR()`` encodes.

    Args:
        ptr: a cffi pointer (``void *`` or any ``T *``); ``NULL`` is
            returned as is.

    Returns:
        ``ptr`` itself when ``!IS_ERR(ptr)``.

    Raises:
        Error: with the errno of ``PTR_ERR(ptr)`` if ``IS_ERR(ptr)``.

    C header: include/linux/err.h (``IS_ERR``, ``PTR_ERR``).
    Rust: ``kernel::error::from_err_ptr``
    """
    lib = _lib if _lib is not None else _c()
    if lib.IS_ERR(ptr):
        raise Error(-int(lib.PTR_ERR(ptr)))
    return ptr


def from_result(
    f: Callable[[], _R], *, on_error: Callable[[Error], _R] | None = None
) -> _R | int:
    """Call ``f`` and turn an :class:`Error` it raises into the kernel's ``-errno``.

    For Python functions that C calls back (``extern "Python"``) and that
    must return an ``int`` error result rather than raise.

    Args:
        f: the body; its return value is passed through.
        on_error: maps the error to the return value instead of
            ``err.to_errno()`` (for callbacks returning pointers, say
            ``lambda e: e.to_ptr()``).

    Returns:
        ``f()``, or ``err.to_errno()`` (an ``int``, ``-MAX_ERRNO..-1``).

    Raises:
        Exception: anything ``f`` raises that is not an :class:`Error`.

    Rust: ``kernel::error::from_result``
    """
    try:
        return f()
    except Error as err:
        return on_error(err) if on_error is not None else err.to_errno()


def raise_errno(errno: int, message: str | None = None) -> NoReturn:
    """Raise :class:`Error` for an errno given either way round (``22`` or ``-22``).

    Raises:
        Error: always.
        ValueError: if ``abs(errno)`` is not in ``1..MAX_ERRNO``.
    """
    raise Error(abs(errno), message)


_RESTART_ERRNOS: Final = frozenset(
    {code.ERESTARTSYS, code.ERESTARTNOINTR, code.ERESTARTNOHAND, code.ERESTART_RESTARTBLOCK}
)


def syscall_exit_errno(errno: int) -> int:
    """The errno userspace sees for a syscall's result (positive or negative in, positive out).

    The kernel-internal restart codes (``ERESTARTSYS`` 512,
    ``ERESTARTNOINTR``, ``ERESTARTNOHAND``, ``ERESTART_RESTARTBLOCK``) never
    reach userspace: at syscall exit the kernel delivers the pending signal
    and turns them into ``EINTR`` (a handler without ``SA_RESTART``), as
    arch/x86/kernel/signal.c ``handle_signal()`` does. This does the same for
    the DRM ioctl path: it consumes the calling task's pending signal
    (delivered) and returns ``EINTR``; any other errno passes through.

    Args:
        errno: ``512`` or ``-512`` alike.

    Returns:
        The positive errno for userspace.

    C: arch/x86/kernel/signal.c (``handle_signal``), kernel/entry/common.c.
    """
    e = abs(errno)
    if e in _RESTART_ERRNOS:
        lib = _c()
        lib.pfl_task_clear_signal(lib.pfl_current())
        return code.EINTR
    return e
