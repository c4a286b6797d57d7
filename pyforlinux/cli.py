"""The ``pyforlinux`` command (also ``python -m pyforlinux``).

Subcommands:
    kunit [SUITE ...]   run the kernel's own test suites (KTAP output)
    run DRIVER [NAME=VALUE ...] [--dmesg] [--exec -- PROGRAM [ARGS ...]]
                        load a driver's modules, run its client session (or
                        PROGRAM, a real process through the bridge), unload
    serve DRIVER [NAME=VALUE ...] [--dmesg] --dev DIR
                        the same stack, serving /dev/dri and /sys under DIR
                        to real processes until interrupted
    bench [OP ...] [--json] [--quick] [--reps N]
                        safe API vs raw bindings vs C, ns/op (make bench)
    faultsweep [DRIVER] [SCENARIO ...] [--list]
                        fail each allocation of each scenario in turn (fail_nth)
    fuzz DRIVER [--examples N] [--seed S]
                        random ioctls against a driver; nothing may leak or crash

DRIVER is a driver package (pyforlinux.driver_package): a directory, a
dotted import name, or a built-in short name (nova).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any


def _kunit(args: argparse.Namespace) -> int:
    from pyforlinux import kunit
    from pyforlinux.error import Error

    try:
        results = kunit.run(args.suites)
    except Error as e:
        print(f"pyforlinux kunit: {e.strerror}", file=sys.stderr)
        return 2
    return 1 if any(r.failed for r in results) else 0


def _driver_command(cmd: str, fn: Any) -> int:
    """Run ``fn()`` (a command on a driver package); an Error, or any
    exception from a driver's code, is one line on stderr and status 1."""
    from pyforlinux.driver_package import describe_exception
    from pyforlinux.error import Error

    try:
        status: int = fn()
        return status
    except Error as e:
        print(f"pyforlinux {cmd}: {e.strerror or e}", file=sys.stderr)
    except OSError as e:
        print(f"pyforlinux {cmd}: {e}", file=sys.stderr)
    except Exception as e:  # a driver's bug outside its init: still one line
        print(f"pyforlinux {cmd}: {describe_exception(e)}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    from pyforlinux import run

    if args.exec is not None:
        argv = args.exec[1:] if args.exec[:1] == ["--"] else args.exec
        if not argv:
            print("pyforlinux run: --exec needs a PROGRAM", file=sys.stderr)
            return 2
        return _driver_command("run", lambda: run.run_exec(args.target, args.params, argv,
                                                           dmesg=args.dmesg))
    return _driver_command("run", lambda: run.run(args.target, args.params, dmesg=args.dmesg))


def _serve(args: argparse.Namespace) -> int:
    from pyforlinux import run

    return _driver_command("serve", lambda: run.serve(args.target, args.params, args.dev,
                                                      dmesg=args.dmesg))


def _fuzz(args: argparse.Namespace) -> int:
    from pyforlinux import fuzz

    return _driver_command("fuzz", lambda: fuzz.fuzz(args.target, args.examples, args.seed,
                                                     tuple(args.params)))


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

    names = list(args.scenarios)
    target = names.pop(0) if names and _is_driver(names[0]) else None
    try:
        if args.list:
            table = faultsweep.SCENARIOS
            if target is not None:
                from pyforlinux.driver_package import resolve
                table = faultsweep.package_scenarios(resolve(target))
            for name, scenario in table.items():
                print(f"{name:<14} {scenario.summary}")
            return 0
        return faultsweep.main(names, target=target)
    except Error as e:
        print(f"pyforlinux faultsweep: {e.strerror}", file=sys.stderr)
        return 2


def _is_driver(arg: str) -> bool:
    """Whether a faultsweep argument names a driver package rather than a scenario."""
    from pyforlinux import faultsweep
    from pyforlinux.driver_package import BUILTIN

    if arg in faultsweep.SCENARIOS:
        return False
    return arg in BUILTIN or "/" in arg or "." in arg or pathlib.Path(arg).is_dir()


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the subcommand; returns the exit status."""
    parser = argparse.ArgumentParser(prog="pyforlinux", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("kunit", help="run the kernel's own test suites, KTAP output")
    p.add_argument("suites", nargs="*", metavar="SUITE", help="suite name or glob (default: all)")
    p.set_defaults(func=_kunit)
    driver_help = "a driver package: a directory, a dotted name, or nova"
    p = sub.add_parser("run", help="load a driver stack and serve a client session (make run)")
    p.add_argument("target", metavar="DRIVER", help=driver_help)
    p.add_argument("params", nargs="*", metavar="NAME=VALUE",
                   help="module parameters, e.g. vram_size=512M")
    p.add_argument("--dmesg", action="store_true",
                   help="print the kernel log's new lines as they come")
    p.add_argument("--exec", nargs="*", metavar="PROGRAM",
                   help="(last, as --exec -- PROGRAM [ARGS...]) run PROGRAM as a real process "
                        "against the driver (umockdev's preload); its exit status is returned")
    p.set_defaults(func=_run)
    p = sub.add_parser("serve", help="load a driver stack and serve /dev/dri and /sys "
                                     "to real processes")
    p.add_argument("target", metavar="DRIVER", help=driver_help)
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")
    p.add_argument("--dev", required=True, metavar="DIR",
                   help="an empty directory: the testbed (UMOCKDEV_DIR) to serve")
    p.add_argument("--dmesg", action="store_true",
                   help="print the kernel log's new lines as they come")
    p.set_defaults(func=_serve)
    p = sub.add_parser("fuzz", help="random ioctls against a driver package")
    p.add_argument("target", metavar="DRIVER", help=driver_help)
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")
    p.add_argument("--examples", type=int, default=2000, help="ioctls to issue")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    p.set_defaults(func=_fuzz)
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
    p.add_argument("scenarios", nargs="*", metavar="[DRIVER] SCENARIO",
                   help="a driver package first (its scenarios), then scenarios (default: all)")
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
