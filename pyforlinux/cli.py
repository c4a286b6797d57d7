"""The ``pyforlinux`` command (also ``python -m pyforlinux``).

Subcommands:
    kunit [SUITE ...]   run the kernel's own test suites (KTAP output)
    run nova [NAME=VALUE ...]
                        load nova-core and Nova, serve a client session, unload
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
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
