"""ioctl fuzzing of the Nova driver through the path clients use.

Hypothesis strategies feed random command numbers, struct bytes, struct
fields (handles, sizes, user pointers, lengths) and mmap requests to Nova
through :meth:`pyforlinux.drm.client.Client.ioctl` -- the command number
and argument bytes ``ioctl(2)`` would carry -- interleaved with valid
sessions (create, info, map, write and read back through the mapping,
close). For every input: no crash, no hang, no Python exception other
than :class:`~pyforlinux.error.Error`, an errno only from the documented set
:data:`ALLOWED`, and after every example nothing left behind (no handle, no
GEM object, VRAM back to full, no lock held, no WARN, no lock-validator
report, no live object outside the RCU-freed radix-tree nodes, which the
test's own end-of-run check covers).

``make test`` runs a bounded, reproducible run (``derandomize``; 10 000
examples: :data:`PROGRAM_EXAMPLES` programs and :data:`RAW_EXAMPLES`
single ioctls), in both builds, plus the saved corpus. ``make fuzz`` runs long
(``PYFORLINUX_FUZZ_EXAMPLES``, default 1 000 000, in randomly seeded rounds)
and adds each input with a new outcome -- (node, command, result) not yet
in the corpus -- to ``tests/fuzz_corpus/`` (``PYFORLINUX_FUZZ_CORPUS=update``).
A corpus file is the input and what led to it, replayed by one client:
``PFLFUZZ1``, a byte for the node (0 primary, 1 render), then records --
``A`` + u32 size (a user buffer) or ``I`` + u32 command + u16 length + the
argument bytes (an ioctl); the last ioctl's outcome is the file's name.
"""

from __future__ import annotations

import faulthandler
import os
import pathlib
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyforlinux import drm, module
from pyforlinux._bindings import ffi, lib
from pyforlinux.drivers import nova_core
from pyforlinux.drm import ioctl as drm_ioctl
from pyforlinux.drm.client import Client
from pyforlinux.error import Error, code

#: Every errno the real drm_ioctl() and Nova give bad input: unknown
#: commands and bad values (EINVAL), another subsystem's command (ENOTTY),
#: no such handle (ENOENT), bad user pointers or an argument shorter than the
#: command's size (EFAULT), VRAM full (ENOSPC), a command the node or client
#: may not issue (EACCES, EPERM), the core's display and syncobj ioctls on a
#: driver without them (EOPNOTSUPP), prime without a dma-buf fd (EBADF,
#: ENOSYS). EIO would be a handler bug.
ALLOWED = frozenset({code.EINVAL, code.ENOTTY, code.ENOENT, code.EFAULT, code.ENOSPC,
                     code.EACCES, code.EPERM, code.EOPNOTSUPP, code.EBADF, code.ENOSYS})

LONG = int(os.environ.get("PYFORLINUX_FUZZ_EXAMPLES", "0") or 0)
PROGRAM_EXAMPLES = 3_000
RAW_EXAMPLES = 7_000
CORPUS = pathlib.Path(__file__).parent / "fuzz_corpus"
UPDATE_CORPUS = os.environ.get("PYFORLINUX_FUZZ_CORPUS") == "update"
VRAM = 8 << 20

COMMANDS: dict[int, str] = {}  # filled by the fixture: cmd -> name
COMMAND_BASE = drm_ioctl.COMMAND_BASE
U64 = (1 << 64) - 1
INTERESTING = (0, 1, 2, 3, 7, 0xFF, 0x1000, 0x1001, 0xFFFF, 1 << 20, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 1 << 32, VRAM, VRAM + 1, 1 << 63, U64)


# ---------------------------------------------------------------- the device


@dataclass
class Nova:
    """The loaded driver stack and what a clean state looks like."""

    card: str
    render: str
    dev: Any
    gpu: nova_core.VirtualGpu
    warnings: int
    lockdep: tuple[int, ...]
    caches: dict[str, int]


_KINDS = (lib.PFL_LOCKDEP_INVERSION, lib.PFL_LOCKDEP_RECURSION, lib.PFL_LOCKDEP_MIGHT_SLEEP,
          lib.PFL_LOCKDEP_BAD_UNLOCK)


def _caches() -> dict[str, int]:
    """Live objects per cache, without waiting for RCU (the radix-tree nodes of
    the handle idr and the mmap-offset xarray are freed through call_rcu and
    cached per CPU by idr_preload, so they are left to the quiesced check)."""
    out = {}
    name = ffi.new("char[64]")
    live = ffi.new("long *")
    total = ffi.new("unsigned long *")
    osize = ffi.new("unsigned int *")
    i = 0
    while lib.pfl_slab_cache_info(i, name, 64, live, total, osize) == 0:
        n = ffi.string(name).decode()
        if n != "radix_tree_node":
            out[n] = out.get(n, 0) + int(live[0])
        i += 1
    return out


@pytest.fixture(scope="module")
def nova() -> Iterator[Nova]:
    module.load("pyforlinux.drivers.nova_core", [f"vram_size={VRAM}", "bar1_size=4M"])
    module.load("pyforlinux.drivers.nova")
    try:
        nodes = drm.driver.nodes()
        card = next(n for n in nodes if "card" in n)
        render = next(n for n in nodes if "renderD" in n)
        dev = drm.driver.lookup_node(card)
        for name in ("VERSION", "GEM_CLOSE", "MODE_MAP_DUMB"):
            COMMANDS[int(getattr(lib, f"DRM_IOCTL_{name}")) & 0xFFFFFFFF] = name
        for desc in dev.driver.IOCTLS:
            COMMANDS[desc.cmd] = desc.name
        gpu = nova_core.gpu_of(dev.bound_parent())
        yield Nova(card, render, dev, gpu, 0, (), {})
    finally:
        module.unload("Nova")
        module.unload("NovaCore")


@pytest.fixture
def clean(nova: Nova) -> Nova:
    """The state every example must return to, taken at the start of a test."""
    nova.warnings = int(lib.pfl_warn_count())
    nova.lockdep = tuple(int(lib.pfl_lockdep_count(k)) for k in _KINDS)
    nova.caches = _caches()
    return nova


def check_clean(n: Nova) -> None:
    """Nothing left behind by an example."""
    assert n.dev.open_count() == 0
    assert not n.dev.gem_objects
    assert n.gpu.buddy.avail() == n.gpu.buddy.size() == VRAM
    assert lib.pfl_lockdep_depth() == 0
    assert int(lib.pfl_warn_count()) == n.warnings
    assert tuple(int(lib.pfl_lockdep_count(k)) for k in _KINDS) == n.lockdep
    assert _caches() == n.caches
    assert all(m.refcount() == 0 for m in module.loaded())


# ---------------------------------------------------------------- inputs


def _cmd_name(cmd: int) -> str:
    """The class of a command, for the corpus: a table entry's name; that
    name with ``~`` for its number with other direction or size bits; an
    unknown number in the core's or the driver's range; another subsystem's."""
    cmd &= 0xFFFFFFFF
    name = COMMANDS.get(cmd)
    if name is not None:
        return name
    if (cmd >> 8) & 0xFF != drm_ioctl.BASE:
        return "not-drm"
    nr = drm_ioctl.ioc_nr(cmd)
    same_nr = [d for c, d in COMMANDS.items() if drm_ioctl.ioc_nr(c) == nr]
    if same_nr:
        return same_nr[0] + "~"
    return "driver-unknown" if COMMAND_BASE <= nr < drm_ioctl.COMMAND_END else "core-unknown"


def _known_cmds() -> list[int]:
    # Built from the uapi (not the fixture): strategies exist at import time.
    return [int(c) & 0xFFFFFFFF for c in (
        lib.DRM_IOCTL_VERSION, lib.DRM_IOCTL_GEM_CLOSE, lib.DRM_IOCTL_MODE_MAP_DUMB,
        lib.DRM_IOCTL_NOVA_GETPARAM, lib.DRM_IOCTL_NOVA_GEM_CREATE, lib.DRM_IOCTL_NOVA_GEM_INFO)]


KNOWN = _known_cmds()
STRUCTS = {
    int(lib.DRM_IOCTL_VERSION) & 0xFFFFFFFF: "struct drm_version",
    int(lib.DRM_IOCTL_GEM_CLOSE) & 0xFFFFFFFF: "struct drm_gem_close",
    int(lib.DRM_IOCTL_MODE_MAP_DUMB) & 0xFFFFFFFF: "struct drm_mode_map_dumb",
    int(lib.DRM_IOCTL_NOVA_GETPARAM) & 0xFFFFFFFF: "struct drm_nova_getparam",
    int(lib.DRM_IOCTL_NOVA_GEM_CREATE) & 0xFFFFFFFF: "struct drm_nova_gem_create",
    int(lib.DRM_IOCTL_NOVA_GEM_INFO) & 0xFFFFFFFF: "struct drm_nova_gem_info",
}


# The strategies are built once, not per draw: making a strategy costs
# Hypothesis more than drawing from it (make fuzz's throughput).
_KINDS4 = st.integers(0, 3)
_KNOWN_CMD = st.sampled_from(KNOWN)
_BIT = st.integers(0, 31)
_SIZE = st.one_of(st.sampled_from([0, 8, 16, 24, 64]), st.integers(0, 0x3FFF))
_NR = st.one_of(st.integers(0, 0x10), st.integers(COMMAND_BASE, COMMAND_BASE + 8),
                st.integers(0, 0xFF))
_TYPE = st.one_of(st.just(drm_ioctl.BASE), st.integers(0, 0xFF))
_U32 = st.integers(0, 0xFFFFFFFF)
_ONE_IN_FIVE = st.integers(0, 4)
_ANY_BYTES = st.binary(max_size=80)
_EXACT_BYTES = {n: st.binary(min_size=n, max_size=n) for n in range(257)}


@st.composite
def commands(draw: st.DrawFn) -> int:
    """A command: a valid one, one with a bit flipped (direction, size, type,
    number), one built from parts (DRM type, numbers around the core and the
    driver's ranges), or any u32."""
    kind = draw(_KINDS4)
    if kind == 0:
        return draw(_KNOWN_CMD)
    if kind == 1:
        return draw(_KNOWN_CMD) ^ (1 << draw(_BIT))
    if kind == 2:
        direction = draw(_KINDS4)
        size = draw(_SIZE)
        nr = draw(_NR)
        typ = draw(_TYPE)
        return (direction << 30) | (size << 16) | (typ << 8) | nr
    return draw(_U32)


def _payload(draw: st.DrawFn, cmd: int) -> bytes:
    """Argument bytes: mostly exactly ``_IOC_SIZE(cmd)`` long (so that the
    handler runs), sometimes any length."""
    size = drm_ioctl.ioc_size(cmd)
    if size <= 256 and draw(_ONE_IN_FIVE):
        return draw(_EXACT_BYTES[size])
    return draw(_ANY_BYTES)


@dataclass(frozen=True)
class Raw:
    """Any command with any bytes."""

    cmd: int
    arg: bytes


@dataclass(frozen=True)
class Fields:
    """A known command with its struct's fields set to interesting values;
    ``handle_of``: replace the handle field with live handle number k."""

    cmd: int
    values: tuple[tuple[str, int], ...]
    handle_of: int | None
    user_ptrs: bool


@dataclass(frozen=True)
class Valid:
    """A valid step of a session: create (size), info/map+rw/close (handle k)."""

    what: str
    arg: int
    data: bytes = b""


@dataclass(frozen=True)
class Mmap:
    """An mmap of any offset and length, then a read."""

    offset: int
    length: int


@st.composite
def _raw_op(draw: st.DrawFn) -> Raw:
    cmd = draw(_COMMANDS)
    return Raw(cmd, _payload(draw, cmd))


_COMMANDS = commands()
raw_ops = _raw_op()


@st.composite
def field_ops(draw: st.DrawFn) -> Fields:
    """A known command's struct with interesting values in its fields."""
    cmd = draw(_KNOWN_CMD)
    values = []
    for fname, bits in _FIELDS[cmd]:
        v = draw(_FIELD_VALUES[bits])
        values.append((fname, v & ((1 << bits) - 1)))
    handle_of = draw(_HANDLE_OF)
    return Fields(cmd, tuple(values), handle_of, draw(st.booleans()))


#: cmd -> (field name, bits) of its struct; bits -> the values of such a field.
_FIELDS = {cmd: [(fname, 8 * ffi.sizeof(f.type)) for fname, f in ffi.typeof(ctype).fields]
           for cmd, ctype in STRUCTS.items()}
_FIELD_VALUES = {bits: st.one_of(st.sampled_from(INTERESTING), st.integers(0, (1 << bits) - 1))
                 for bits in {b for fields in _FIELDS.values() for _, b in fields}}
_HANDLE_OF = st.one_of(st.none(), st.integers(0, 7))


valid_ops = st.one_of(
    st.builds(Valid, st.just("create"), st.one_of(st.sampled_from([1, 4096, 10_000, 1 << 20]),
                                                  st.integers(1, VRAM))),
    st.builds(Valid, st.sampled_from(["info", "close"]), st.integers(0, 7)),
    st.builds(Valid, st.just("rw"), st.integers(0, 7), st.binary(min_size=1, max_size=64)),
)
mmap_ops = st.builds(Mmap, st.one_of(st.sampled_from([0, 1 << 32, 0x200000000, 0x200000001000]),
                                     st.integers(0, U64)),
                     st.one_of(st.sampled_from([0, 1, 4096, 8192]), st.integers(-1, 1 << 24)))
programs = st.tuples(st.booleans(), st.lists(st.one_of(raw_ops, field_ops(), valid_ops, mmap_ops),
                                             min_size=1, max_size=8))


# ---------------------------------------------------------------- running them


class Program:
    """One client running a list of operations; every outcome checked.

    The ioctls and user allocations are kept as a trace, so that an input
    with a new outcome can be saved with what led to it (a corpus file).
    """

    def __init__(self, n: Nova, render: bool) -> None:
        self.n = n
        self.render = render
        self.client = Client(n.render if render else n.card)
        self.handles: list[int] = []
        self.trace: list[bytes] = []
        self.outcomes: list[tuple[str, str, int]] = []  # (command class, result, trace length)

    def alloc(self, size: int) -> int:
        """A user buffer of ``size`` bytes in the client's address space."""
        self.trace.append(b"A" + struct.pack("<I", size))
        return self.client.mm.alloc(size)

    def ioctl(self, cmd: int, arg: bytes) -> tuple[int | None, bytes]:
        """The ioctl: its errno (None on success) checked against ALLOWED, and
        the argument bytes as the kernel left them."""
        self.trace.append(b"I" + struct.pack("<IH", cmd, len(arg)) + arg)
        try:
            ret, out = self.client.ioctl(cmd, arg)
        except Error as e:
            assert e.errno in ALLOWED, f"{_cmd_name(cmd)}: {e}"
            self.outcomes.append((_cmd_name(cmd), Error(e.errno or 0).name(), len(self.trace)))
            return e.errno, arg
        assert ret >= 0 and len(out) == len(arg)
        self.outcomes.append((_cmd_name(cmd), "ok", len(self.trace)))
        if cmd == CREATE:
            self.handles.append(int(struct.unpack_from("<I", out, 0)[0]))  # .handle
        return None, out

    def blob(self, upto: int) -> bytes:
        """The corpus file of the first ``upto`` trace records."""
        return MAGIC + bytes([self.render]) + b"".join(self.trace[:upto])

    def run(self, op: object) -> None:
        if isinstance(op, Raw):
            self.ioctl(op.cmd, op.arg)
        elif isinstance(op, Fields):
            self.fields(op)
        elif isinstance(op, Valid):
            self.valid(op)
        elif isinstance(op, Mmap):
            try:
                with self.client.mmap(op.offset, op.length) as m:
                    m.read(0, min(op.length, 16))
            except Error as e:
                assert e.errno in ALLOWED, f"mmap({op.offset:#x}, {op.length}): {e}"

    def fields(self, op: Fields) -> None:
        ctype = STRUCTS[op.cmd]
        data = ffi.new(f"{ctype} *")
        ftypes = dict(ffi.typeof(ctype).fields)
        for name, v in op.values:
            t = ftypes[name].type
            if t.kind == "pointer" and op.user_ptrs and v % 3:
                v = self.alloc(64)  # a real user buffer
            setattr(data, name, ffi.cast(t, v))
        if op.handle_of is not None and self.handles and "handle" in ftypes:
            data.handle = self.handles[op.handle_of % len(self.handles)]
        self.ioctl(op.cmd, bytes(ffi.buffer(data)))

    def valid(self, op: Valid) -> None:
        if op.what == "create":
            before = len(self.handles)
            self.ioctl(CREATE, struct.pack("<IIQ", 0, 0, op.arg))  # handle, pad, size
            assert len(self.handles) in (before, before + 1)
            return
        if not self.handles:
            return
        h = self.handles[op.arg % len(self.handles)]
        if op.what == "info":
            err, _ = self.ioctl(INFO, struct.pack("<IIQ", h, 0, 0))
            assert err in (None, code.ENOENT)  # ENOENT: closed by an earlier input
        elif op.what == "close":
            err, _ = self.ioctl(CLOSE, struct.pack("<II", h, 0))
            assert err in (None, code.EINVAL)
        elif op.what == "rw":
            err, out = self.ioctl(MAP, struct.pack("<IIQ", h, 0, 0))
            if err is not None:
                assert err in (code.ENOENT, code.EACCES)  # closed; render node
                return
            offset = int(struct.unpack_from("<Q", out, 8)[0])
            with self.client.mmap(offset, len(op.data)) as mapping:
                mapping.write(0, op.data)
                assert mapping.read(0, len(op.data)) == op.data

    def replay(self, blob: bytes) -> None:
        """Run a corpus file's trace (after its header)."""
        pos = len(MAGIC) + 1
        while pos < len(blob):
            kind = blob[pos : pos + 1]
            if kind == b"A":
                self.alloc(struct.unpack_from("<I", blob, pos + 1)[0])
                pos += 5
            elif kind == b"I":
                cmd, length = struct.unpack_from("<IH", blob, pos + 1)
                self.ioctl(cmd, blob[pos + 7 : pos + 7 + length])
                pos += 7 + length
            else:
                raise AssertionError(f"bad corpus record at {pos}")

    def close(self) -> None:
        self.client.close()


MAGIC = b"PFLFUZZ1"
CREATE = int(lib.DRM_IOCTL_NOVA_GEM_CREATE) & 0xFFFFFFFF
INFO = int(lib.DRM_IOCTL_NOVA_GEM_INFO) & 0xFFFFFFFF
CLOSE = int(lib.DRM_IOCTL_GEM_CLOSE) & 0xFFFFFFFF
MAP = int(lib.DRM_IOCTL_MODE_MAP_DUMB) & 0xFFFFFFFF


def run_program(n: Nova, render: bool, ops: list[object]) -> Program:
    """Run ``ops`` as one client on the primary or render node; check it left nothing."""
    p = Program(n, render)
    try:
        for op in ops:
            p.run(op)
    finally:
        p.close()
    check_clean(n)
    return p


# ---------------------------------------------------------------- corpus


def _signature(render: bool, name: str, result: str) -> str:
    return f"{'render' if render else 'card'}-{name.replace('~', '_variant')}-{result}"


def corpus() -> list[pathlib.Path]:
    """The saved inputs, sorted."""
    return sorted(CORPUS.glob("*.bin")) if CORPUS.is_dir() else []


_known_signatures: set[str] = {p.stem for p in corpus()}
_examples = [0]


def _record(p: Program) -> None:
    if not UPDATE_CORPUS:
        return
    for name, result, upto in p.outcomes:
        sig = _signature(p.render, name, result)
        if sig not in _known_signatures:
            _known_signatures.add(sig)
            CORPUS.mkdir(exist_ok=True)
            (CORPUS / f"{sig}.bin").write_bytes(p.blob(upto))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------- the tests


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    """No hang: a stuck ioctl dumps every thread's stack and ends the run."""
    faulthandler.dump_traceback_later(3600 * 24 if LONG else 600, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


ROUND = 20_000  # examples per Hypothesis run in make fuzz (a fresh seed each)
#: Inputs per Hypothesis example in make fuzz: the engine costs about 1 ms
#: per example on this machine, more than running one input, so each
#: example is a list of up to BATCH inputs, each run and checked as its
#: own example (own client, check_clean after it). Shrinking still finds
#: the shortest failing list and shrinks its inputs.
BATCH = 16
#: (test, inputs, seconds) of each fuzz run, reported at the end of the module.
THROUGHPUT: list[tuple[str, int, float]] = []


def _fuzz(strategy: Any, total: int, body: Any, what: str) -> None:
    """At least ``total`` inputs of ``strategy``: one derandomized run, or
    (make fuzz) randomly seeded rounds of up to :data:`ROUND` examples of up
    to :data:`BATCH` inputs each."""
    start, t0 = _examples[0], time.perf_counter()

    def one(x: Any) -> None:
        _examples[0] += 1
        body(x)

    if not LONG:
        @_settings(total)
        @given(strategy)
        def run(x: Any) -> None:
            one(x)

        run()
    else:
        batches = st.lists(strategy, min_size=1, max_size=BATCH)
        done = -1
        while (left := total - (_examples[0] - start)) > 0 and _examples[0] != done:
            done = _examples[0]  # a round that runs nothing ends the loop (the test fails)
            # Lists average about BATCH / 2 inputs.
            @_settings(min(ROUND, -(-left // (BATCH // 2))))
            @given(batches)
            def run_batch(xs: list[Any]) -> None:
                for x in xs:
                    one(x)

            run_batch()
    THROUGHPUT.append((what, _examples[0] - start, time.perf_counter() - t0))


@pytest.fixture(scope="module", autouse=True)
def _report_throughput(request: pytest.FixtureRequest) -> Iterator[None]:
    """The fuzzer's throughput (inputs per second) on the terminal, -q or not."""
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and tr is not None:
        with capture.global_and_fixture_disabled():
            for what, n, secs in THROUGHPUT:
                tr.write_line(f"fuzz: {what}: {n} inputs in {secs:.1f} s, "
                              f"{n / secs:.0f} inputs/s")
    THROUGHPUT.clear()


def test_fuzz_single_ioctls(clean: Nova) -> None:
    start = _examples[0]

    def body(x: tuple[bool, Raw]) -> None:
        _record(run_program(clean, x[0], [x[1]]))

    _fuzz(st.tuples(st.booleans(), raw_ops), LONG // 2 or RAW_EXAMPLES, body, "single ioctls")
    assert _examples[0] - start >= (LONG // 2 or RAW_EXAMPLES)


def test_fuzz_programs_interleaved_with_valid_sessions(clean: Nova) -> None:
    start = _examples[0]

    def body(x: tuple[bool, list[object]]) -> None:
        _record(run_program(clean, x[0], x[1]))

    _fuzz(programs, LONG // 2 or PROGRAM_EXAMPLES, body, "programs")
    assert _examples[0] - start >= (LONG // 2 or PROGRAM_EXAMPLES)


def test_replay_the_corpus(clean: Nova) -> None:
    files = corpus()
    assert files, "tests/fuzz_corpus/ is empty: run make fuzz"
    for path in files:
        blob = path.read_bytes()
        assert blob.startswith(MAGIC), path
        p = Program(clean, bool(blob[len(MAGIC)]))
        try:
            p.replay(blob)
        finally:
            p.close()
        check_clean(clean)
        name, result, _ = p.outcomes[-1]
        assert _signature(p.render, name, result) == path.stem
