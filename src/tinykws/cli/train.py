"""`tinykws train RECIPE.yaml [--set k=v ...] [--out runs/NAME] [--resume]`.

Under `torchrun --nproc_per_node N -m tinykws.cli.main train ...` every process runs this;
rank 0 writes the run folder and prints.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML recipe into a run folder",
        description=(
            "Train from a YAML recipe (see recipes/). Writes runs/<name>/ (or --out): config.yaml, "
            "metrics.jsonl, best.pt, last.pt and plots of the best checkpoint on the validation clips."
        ),
    )
    p.add_argument("recipe", metavar="RECIPE.yaml", help="the recipe")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a recipe value, e.g. --set train.epochs=5 --set optim.lr=1e-3 (repeatable)",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in the folder from its last.pt")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="leave out clips that cannot be decoded (default: name them all and stop)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinykws.train.data import build_train_data
    from tinykws.train.distributed import current
    from tinykws.train.loop import train
    from tinykws.train.recipe import load_recipe
    from tinykws.train.setup import resolve_frontend

    overrides = list(args.overrides)
    if getattr(args, "threads", None):  # `tinykws --threads N train ...` wins over the recipe
        overrides.append(f"train.threads={args.threads}")
    if args.no_progress:
        overrides.append("train.progress=false")
    cfg = load_recipe(args.recipe, overrides)
    run_dir = Path(args.out) if args.out else Path("runs") / cfg.name
    frontend = resolve_frontend(cfg)
    data = build_train_data(cfg.data, frontend, seed=cfg.train.seed, progress=cfg.train.progress,
                            skip_unreadable=args.skip_unreadable)
    skipped = data.description.get("skipped_unreadable") or []
    if skipped and current().is_main:
        print(f"skipped {len(skipped)} unreadable clip(s) (--skip-unreadable)", file=sys.stderr)
    from tinykws.compress import pruning_hooks
    from tinykws.train.batches import num_batches

    hooks = pruning_hooks(cfg.prune, num_batches(data, cfg.train.batch_size))
    result = train(cfg, data, run_dir, resume=args.resume, hooks=hooks)
    if not current().is_main:
        return 0
    summary = {
        "run_dir": str(result.run_dir),
        "epochs": result.epochs_completed,
        "best_epoch": result.best_epoch,
        "best_val_top1": result.best_val_top1,
        "stopped_early": result.stopped_early,
        "train_samples_per_s": result.train_samples_per_s,
        "data": data.description,
    }
    from tinykws.report.run import run_plots

    summary["plots"] = run_plots(result, data)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    best = "n/a" if result.best_val_top1 is None else f"{100 * result.best_val_top1:.2f} %"
    print(f"{result.run_dir}: {result.epochs_completed} epochs, best validation top-1 {best} "
          f"(epoch {result.best_epoch}){', stopped early' if result.stopped_early else ''}")
    for path in summary["plots"].values():
        print(f"wrote {path}")
    return 0
