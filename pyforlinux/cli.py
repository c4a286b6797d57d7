"""The ``pyforlinux`` command (also ``python -m pyforlinux``).

Subcommands:
    kunit [SUITE ...]   run the kernel's own test suites (KTAP output)
    run nova [NAME=VALUE ...] [--exec -- PROGRAM [ARGS ...]]
                        load nova-core and Nova, run a client session (or
                        PROGRAM, a real process through the bridge), unload
    serve nova [NAME=VALUE ...] --dev DIR
                        the same stack, serving /dev/dri and /sys under DIR
                        to real processes until interrupted
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
        if args.exec is not None:
            argv = args.exec[1:] if args.exec[:1] == ["--"] else args.exec
            if not argv:
                print("pyforlinux run: --exec needs a PROGRAM", file=sys.stderr)
                return 2
            return run.run_exec(args.target, args.params, argv)
        return run.run(args.target, args.params)
    except Error as e:
        print(f"pyforlinux run: {e.strerror}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    from pyforlinux import run
    from pyforlinux.error import Error

    try:
        return run.serve(args.target, args.params, args.dev)
    except Error as e:
        print(f"pyforlinux serve: {e.strerror}", file=sys.stderr)
        return 1


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
    p.add_argument("--exec", nargs="*", metavar="PROGRAM",
                   help="(last, as --exec -- PROGRAM [ARGS...]) run PROGRAM as a real process "
                        "against the driver (umockdev's preload); its exit status is returned")
    p.set_defaults(func=_run)
    p = sub.add_parser("serve", help="load a driver stack and serve /dev/dri and /sys "
                                     "to real processes")
    p.add_argument("target", help="what to serve: nova")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")
    p.add_argument("--dev", required=True, metavar="DIR",
                   help="an empty directory: the testbed (UMOCKDEV_DIR) to serve")
    p.set_defaults(func=_serve)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after --exec is the program's, options included.
    exec_argv = None
    if "--exec" in argv:
        i = argv.index("--exec")
        argv, exec_argv = argv[:i], argv[i + 1:]
    args = parser.parse_args(argv)
    if exec_argv is not None:
        args.exec = exec_argv
    elif not hasattr(args, "exec"):
        args.exec = None
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
