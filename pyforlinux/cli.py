"""The ``pyforlinux`` command (also ``python -m pyforlinux``).

Subcommands:
    kunit [SUITE ...]   run the kernel's own test suites (KTAP output)
    run nova [NAME=VALUE ...]
                        load nova-core and Nova, serve a client session, unload
    serve nova [NAME=VALUE ...] [--socket PATH] [--sessions N]
                        the same stack, serving clients of other processes
    client [--socket PATH]
                        the client session, from another process
    bench [OP ...] [--json] [--quick] [--reps N]
                        safe API vs raw bindings vs C, ns/op (make bench)
    faultsweep [SCENARIO ...] [--list]
                        fail each allocation of each scenario in turn (fail_nth)
"""

from __future__ import annotations

import argparse
import sys


def _kunit(args: argparse.Namespace) -> int:
    from pyforlinux import kunit
    from pyforlinux.error import Error

    try:
        results = kunit.run(args.suites)
    except Error as e:
        print(f"pyforlinux kunit: {e.strerror}", file=sys.stderr)
        return 2
    return 1 if any(r.failed for r in results) else 0


def _run(args: argparse.Namespace) -> int:
    from pyforlinux import run
    from pyforlinux.error import Error

    try:
        return run.run(args.target, args.params)
    except Error as e:
        print(f"pyforlinux run: {e.strerror}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    from pyforlinux import run
    from pyforlinux.error import Error

    try:
        return run.serve(args.target, args.params, args.socket, args.sessions)
    except Error as e:
        print(f"pyforlinux serve: {e.strerror}", file=sys.stderr)
        return 1


def _client(args: argparse.Namespace) -> int:
    from pyforlinux import run
    from pyforlinux.drm.server import SocketClient
    from pyforlinux.error import Error

    try:
        run.nova_session(sys.stdout, SocketClient(args.socket))
    except (Error, OSError) as e:
        print(f"pyforlinux client: {e}", file=sys.stderr)
        return 1
    return 0


def _bench(args: argparse.Namespace) -> int:
    from pyforlinux import bench
    from pyforlinux.error import Error

    try:
        return bench.main(args.ops, json_out=args.json, quick=args.quick, reps=args.reps,
                          min_time_ms=args.min_time, clock=args.clock)
    except Error as e:
        print(f"pyforlinux bench: {e.strerror}", file=sys.stderr)
        return 1


def _faultsweep(args: argparse.Namespace) -> int:
    from pyforlinux import faultsweep
    from pyforlinux.error import Error

    if args.list:
        for name, scenario in faultsweep.SCENARIOS.items():
            print(f"{name:<14} {scenario.summary}")
        return 0
    try:
        return faultsweep.main(args.scenarios)
    except Error as e:
        print(f"pyforlinux faultsweep: {e.strerror}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the subcommand; returns the exit status."""
    parser = argparse.ArgumentParser(prog="pyforlinux", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("kunit", help="run the kernel's own test suites, KTAP output")
    p.add_argument("suites", nargs="*", metavar="SUITE", help="suite name or glob (default: all)")
    p.set_defaults(func=_kunit)
    p = sub.add_parser("run", help="load a driver stack and serve a client session (make run)")
    p.add_argument("target", help="what to run: nova")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE",
                   help="module parameters, e.g. vram_size=512M")
    p.set_defaults(func=_run)
    p = sub.add_parser("serve", help="load a driver stack and serve its node on a Unix socket")
    p.add_argument("target", help="what to serve: nova")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")
    p.add_argument("--socket", default="/tmp/pyforlinux-nova.sock", help="socket path")
    p.add_argument("--sessions", type=int, default=0,
                   help="stop after this many client sessions (default: until Ctrl-C)")
    p.set_defaults(func=_serve)
    p = sub.add_parser("client", help="run the Nova client session against a served socket")
    p.add_argument("--socket", default="/tmp/pyforlinux-nova.sock", help="socket path")
    p.set_defaults(func=_client)
    p = sub.add_parser("bench", help="safe API vs raw bindings vs C, ns/op (make bench)")
    p.add_argument("ops", nargs="*", metavar="OP", help="operations (default: all)")
    p.add_argument("--json", action="store_true", help="JSON for machines instead of a table")
    p.add_argument("--quick", action="store_true", help="tiny iteration counts (tests)")
    p.add_argument("--reps", type=int, default=7, help="timed runs per layer (median)")
    p.add_argument("--min-time", type=float, default=50.0, help="ms per run, at least")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="elapsed time, or the process's CPU time (steadier under load)")
    p.set_defaults(func=_bench)
    p = sub.add_parser("faultsweep", help="fail each allocation of each scenario in turn")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario (default: all)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.set_defaults(func=_faultsweep)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
