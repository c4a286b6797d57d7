"""The ``pyforlinux`` command (also ``python -m pyforlinux``).

Subcommands:
    kunit [SUITE ...]   run the kernel's own test suites (KTAP output)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the subcommand; returns the exit status."""
    parser = argparse.ArgumentParser(prog="pyforlinux", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("kunit", help="run the kernel's own test suites, KTAP output")
    p.add_argument("suites", nargs="*", metavar="SUITE", help="suite name or glob (default: all)")
    p.set_defaults(func=_kunit)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
