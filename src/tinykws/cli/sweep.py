"""`tinykws sweep SWEEP.yaml --out DIR [--workers N] [--backend process|ray] [--only NAME ...]`."""

from __future__ import annotations

import argparse


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a sweep of compression settings: table, Pareto plots, report",
        description=(
            "Run every setting of a sweep file (a base or teacher, a student, distillation, pruning, float16 / "
            "int8 PTQ / QAT / n-bit simulation), each trained from the sweep's recipe and scored on its test set; "
            "finished settings are cached in DIR and an interrupted sweep resumes. Writes table.md/json, "
            "top-1 against MACs and against bytes with the Pareto front, report.md and report.html."
        ),
    )
    p.add_argument("sweep", metavar="SWEEP.yaml", help="the sweep file (see recipes/sweeps/)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (kept between runs: the cache)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="settings run at once (default 1)")
    p.add_argument("--backend", choices=["process", "ray"], default="process",
                   help="worker processes on this machine, or tasks on a Ray cluster (pip install 'tinykws[ray]')")
    p.add_argument("--ray-address", metavar="ADDR", help="a running Ray cluster (default: start a local one)")
    p.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run these settings (and what they need)")
    p.add_argument("--stop-after-epochs", type=int, default=None, metavar="E",
                   help="stop each training after E epochs in total (a time-boxed run; run again to resume)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.sweep import SweepInterrupted, run_sweep

    try:
        result = run_sweep(args.sweep, args.out, workers=args.workers, backend=args.backend, only=args.only,
                           stop_after_epochs=args.stop_after_epochs, ray_address=args.ray_address)
    except SweepInterrupted as exc:
        print(f"tinykws: interrupted: {exc}")
        return 3
    print((result.out / "table.md").read_text(encoding="utf-8"))
    for name, path in result.files.items():
        print(f"wrote {path}")
    return 1 if result.failed else 0
