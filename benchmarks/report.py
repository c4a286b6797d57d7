#!/usr/bin/env python3
"""Turn a ``pyforlinux bench --json`` file into the table and plot of docs/performance.md.

Usage: report.py BENCH_JSON [--doc docs/performance.md] [--plot docs/performance.png]

- prints the table (as ``pyforlinux bench`` does);
- writes the plot: ns/op of each layer (safe API, raw cffi, C loop, and
  the no-check API where an operation has it) per
  operation, log scale, with the a/b ratio over each group (matplotlib,
  the ``bench`` optional dependency: ``pip install -e '.[bench]'``);
- replaces the generated part of the doc, between the lines
  ``<!-- bench:begin -->`` and ``<!-- bench:end -->``, with the table in
  Markdown, the targets and the environment of the run.

``make bench`` runs the benchmarks and then this.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def fmt_ns(ns: float) -> str:
    """ns/op as in the text table: one decimal under 100 ns."""
    return f"{ns:,.1f}" if ns < 100 else f"{ns:,.0f}"


def markdown(report: Any) -> str:
    """The generated part of the doc: table, targets, environment."""
    from pyforlinux.bench import FLOOR, LAYER_TITLES, LAYERS

    m = report.meta
    cols = (*LAYERS, FLOOR)
    lines = [
        BEGIN,
        "",
        f"Median of {m['reps']} runs per layer after warm-up ({m['clock']} clock); "
        "ns per op (per element for `clist_*`); lower is better.",
        "",
        "| operation | what one op is | " + " | ".join(f"{LAYER_TITLES[k]} ns/op" for k in cols)
        + " | a/b | a/c | d/b |",
        "|---|---|" + "---:|" * (len(cols) + 3),
    ]
    for op in report.ops:
        fl = op.layers.get(FLOOR)
        cells = [f"`{op.name}`", op.title, *(fmt_ns(op.layers[k].ns_per_op) for k in LAYERS),
                 "-" if fl is None else fmt_ns(fl.ns_per_op),
                 f"{op.ratios['a/b']:.2f}", f"{op.ratios['a/c']:.2f}",
                 f"{op.ratios['d/b']:.2f}" if "d/b" in op.ratios else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| target | goal | this run | | (d) no-check API, same run |",
              "|---|---|---:|---|---:|"]
    for t in report.targets:
        floor = "" if t.floor is None else t.display(t.floor)
        lines.append(f"| {t.name} | {t.goal} | {t.display()} | "
                     f"{'met' if t.met else '**missed**'} | {floor} |")
    b = m.get("bridge_getparam")
    if b is not None and "bridge" in b:
        lines += ["", f"`NOVA_GETPARAM` from a real C process through the device-node bridge "
                  f"({b['ioctls']:,} in a loop): {b['bridge'] / 1000:.1f} µs per ioctl; the same "
                  f"ioctl from an in-process `Client`: {b['in_process'] / 1000:.1f} µs "
                  "(docs/real-clients.md; target <= 100 µs)."]
    elif b is not None:
        lines += ["", f"Bridge measurement skipped: {b['skipped']}."]
    lines += [
        "",
        f"Run of {m['date']}: Python {m['python']}, cffi {m['cffi']}, {m['compiler']} "
        f"(`{m['cflags']}`), CPU {m['cpu']}, {m['os']}; load average "
        f"{m['loadavg_start'][0]:.2f} at the start, {m['loadavg_end'][0]:.2f} at the end; "
        f"lock validator {'on' if m['lockdep'] else 'off'}"
        f"{'; QUICK MODE (numbers mean little)' if m['quick'] else ''}.",
        "",
        END,
    ]
    return "\n".join(lines)


def update_doc(doc: pathlib.Path, part: str) -> None:
    """Replace the text between the markers (or append it)."""
    text = doc.read_text() if doc.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + part + tail
    else:
        text = text.rstrip("\n") + "\n\n" + part + "\n"
    doc.write_text(text)


def plot(report: Any, path: pathlib.Path) -> None:
    """The PNG: grouped bars, one group per operation, log-scale ns/op."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pyforlinux.bench import FLOOR, LAYER_TITLES, LAYERS

    names = [op.name for op in report.ops]
    width = 0.21
    colors = {"safe": "#d95f02", "raw": "#7570b3", "c": "#1b9e77", FLOOR: "#e6ab02"}
    fig, ax = plt.subplots(figsize=(11, 5.2), dpi=110)
    for i, k in enumerate((*LAYERS, FLOOR)):
        have = [j for j, op in enumerate(report.ops) if k in op.layers]
        xs = [j + (i - 1.5) * width for j in have]
        ys = [report.ops[j].layers[k].ns_per_op for j in have]
        bars = ax.bar(xs, ys, width, label=LAYER_TITLES[k], color=colors[k])
        for bar, y in zip(bars, ys, strict=True):
            ax.annotate(fmt_ns(y), (bar.get_x() + bar.get_width() / 2, y), ha="center",
                        va="bottom", fontsize=6.5, xytext=(0, 1), textcoords="offset points")
    for j, op in enumerate(report.ops):
        top = max(op.layers[k].ns_per_op for k in LAYERS)
        ax.annotate(f"a/b {op.ratios['a/b']:.1f}\na/c {op.ratios['a/c']:.0f}", (j, top * 2.2),
                    ha="center", va="bottom", fontsize=7.5, color="#333333")
    ax.set_yscale("log")
    ax.set_ylim(top=max(op.layers["safe"].ns_per_op for op in report.ops) * 12)
    ax.set_xticks(range(len(names)), names, rotation=12, fontsize=8.5)
    ax.set_ylabel("ns per op (per element for clist_*), log scale")
    m = report.meta
    ax.set_title(f"pyforlinux: safe API vs raw cffi vs C, median of {m['reps']} runs "
                 f"({m['cpu']}, {m['python']})", fontsize=9.5)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Print the table, write the plot and the doc's table; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", type=pathlib.Path, help="output of pyforlinux bench --json")
    p.add_argument("--doc", type=pathlib.Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--plot", type=pathlib.Path, default=ROOT / "docs" / "performance.png")
    args = p.parse_args(argv)
    from pyforlinux.bench import Report, render

    report = Report.from_json(json.loads(args.json.read_text()))
    sys.stdout.write(render(report))
    plot(report, args.plot)
    update_doc(args.doc, markdown(report))
    print(f"wrote {args.plot} and the table of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
