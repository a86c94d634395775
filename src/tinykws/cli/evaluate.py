"""`tinykws evaluate MODEL --data DIR [--layout] [--split] [--json] [--out DIR]`.

MODEL is a checkpoint (.pt, run in float by torch) or a .tflite file, run by one of three
runtimes: `--runtime reference|litert|tflm` (with `--outputs OUT.npy` to save its raw
outputs for comparing runtimes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinykws.cli._types import positive_int

# Options that only make sense for a .tflite model (all default to None to notice them).
TFLITE_ONLY = ("runtime", "profile", "litert_kernels", "frontend", "outputs")


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a checkpoint or a .tflite model on a dataset folder (top-1, per class, confusion, ROC)",
        description=(
            "Run a tinykws checkpoint or a .tflite model on the clean clips of a dataset folder and report "
            "top-1, per-class accuracy, confusion matrix and one-vs-rest ROC AUC (plus the MLPerf Tiny "
            "'simplified AUC'). A checkpoint uses the front-end stored in it. A .tflite uses the front-end and "
            "labels of its embedded tinykws metadata (or a matching manifest.json beside it); a foreign file "
            "such as the MLPerf reference model gets --frontend (default mlperf_mfcc for a 49x10 input) and the "
            "MLPerf labels, and the result says so. Features are quantized with the input tensor's scale and "
            "zero point."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a .pt checkpoint written by `tinykws train`, or a .tflite file")
    p.add_argument("--data", required=True, metavar="DIR", help="dataset folder (raw Speech Commands or class folders)")
    p.add_argument("--layout", choices=["auto", "raw", "folders"], default="auto", help="dataset layout (default: auto)")
    p.add_argument(
        "--split", choices=["test", "validation", "train", "all"], default="test",
        help="which split (default: test; a class-folder dataset without lists is all one split)",
    )
    p.add_argument("--batch-size", type=positive_int, default=256, metavar="N", help="clips per forward pass")
    p.add_argument("--out", metavar="DIR", help="write eval.json, confusion.png and roc.png here")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="leave out clips that cannot be decoded (default: name them all and stop)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    t = p.add_argument_group(".tflite models")
    t.add_argument("--runtime", choices=["reference", "litert", "tflm"], default=None,
                   help="reference: the tinykws numpy integer runtime (default); litert: ai-edge-litert with "
                        "TFLite's reference kernels (OpResolverType.BUILTIN_REF, see --litert-kernels); tflm: the "
                        "TFLite Micro Python interpreter (also reports its tensor arena)")
    t.add_argument("--profile", choices=["litert_ref", "tflite_micro"], default=None,
                   help="arithmetic of --runtime reference: litert_ref (default; bit-exact with LiteRT BUILTIN_REF) "
                        "or tflite_micro (bit-exact with TFLite Micro)")
    t.add_argument("--litert-kernels", choices=["reference", "optimized", "xnnpack"], default=None,
                   help="LiteRT kernels: reference (BUILTIN_REF, default), optimized (BUILTIN_WITHOUT_DEFAULT_"
                        "DELEGATES) or xnnpack (LiteRT's default delegate); only reference is bit-exact")
    t.add_argument("--frontend", metavar="NAME",
                   help="front-end preset for a file without tinykws metadata (default: mlperf_mfcc for a 49x10 "
                        "input); overrides the embedded one if given")
    t.add_argument("--outputs", metavar="OUT.npy",
                   help="save the raw outputs of every clip (data order) here, and the clip order in OUT.json")
    p.set_defaults(func=run)


def is_tflite(path: str) -> bool:
    """A .tflite name, or a file whose flatbuffer identifier is TFL3."""
    p = Path(path)
    if p.suffix.lower() == ".tflite":
        return True
    try:
        with open(p, "rb") as fh:
            return fh.read(8)[4:8] == b"TFL3"
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    if is_tflite(args.model):
        result, summary, extra_lines = _run_tflite(args)
    else:
        result, summary, extra_lines = _run_checkpoint(args)
    if args.out:
        _write_out(result, Path(args.out), summary)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(format_result(summary))
    if summary.get("skipped_unreadable"):
        print(f"skipped {len(summary['skipped_unreadable'])} unreadable clip(s) (--skip-unreadable)")
    for line in extra_lines:
        print(line)
    if args.out:
        print(f"wrote {Path(args.out) / 'eval.json'}, {summary['plots']['confusion']}, {summary['plots']['roc']}")
    return 0


# What `--out DIR` holds; written as one set (a stale plot never sits beside a new eval.json).
OUT_FILES = ("eval.json", "confusion.png", "roc.png")


def _write_out(result, out: Path, summary: dict) -> None:
    from tinykws.fileio import staged_outputs, write_json
    from tinykws.report.plots import evaluation_plots

    with staged_outputs(out, owned=OUT_FILES) as stage:
        plots = evaluation_plots(result, stage)
        summary["plots"] = {k: str(out / Path(v).name) for k, v in plots.items()}
        write_json(stage / "eval.json", summary)


def _run_checkpoint(args: argparse.Namespace) -> tuple[object, dict, list[str]]:
    from tinykws.errors import ConfigError
    from tinykws.train.evaluation import evaluate_checkpoint

    given = [f"--{name.replace('_', '-')}" for name in TFLITE_ONLY if getattr(args, name) is not None]
    if given:
        raise ConfigError(f"{', '.join(given)} apply only to .tflite models, and {args.model} is not one")
    result = evaluate_checkpoint(
        args.model, args.data, layout=args.layout, split=args.split,
        batch_size=args.batch_size, progress=not args.no_progress, skip_unreadable=args.skip_unreadable,
    )
    summary = result.to_dict()
    summary["checkpoint"] = str(args.model)
    summary["data"] = str(args.data)
    summary["split"] = args.split
    return result, summary, []


def _run_tflite(args: argparse.Namespace) -> tuple[object, dict, list[str]]:
    from tinykws.export.evaluate_tflite import evaluate_tflite, write_outputs

    ev = evaluate_tflite(
        args.model, args.data, layout=args.layout, split=args.split, runtime=args.runtime or "reference",
        profile=args.profile, litert_kernels=args.litert_kernels, frontend=args.frontend,
        batch_size=args.batch_size, progress=not args.no_progress, skip_unreadable=args.skip_unreadable,
    )
    summary = ev.to_dict()
    summary["data"] = str(args.data)
    summary["split"] = args.split
    lines = [f"runtime: {ev.run.description}"
             + (f"; TFLite Micro arena {ev.arena_bytes:,} B" if ev.arena_bytes is not None else "")]
    lines += [f"front-end and labels: {ev.prepared.contract.source}"] + [f"note: {n}" for n in ev.notes]
    if args.outputs:
        files = write_outputs(args.outputs, ev)
        summary["outputs"] = str(files.outputs)
        summary["outputs_clips"] = str(files.clips)
        lines.append(f"wrote {files.outputs} ({ev.outputs.dtype} {tuple(ev.outputs.shape)}), {files.clips}")
    return ev.result, summary, lines


def format_result(summary: dict) -> str:
    """A readable table of an `EvalResult.to_dict()`."""

    def pct(x):
        return "   n/a" if x is None else f"{100 * x:6.2f}"

    lines = [
        f"top-1 {pct(summary['top1']).strip()} % on {summary['num_clips']} clips   "
        f"macro AUC {summary['macro_auc'] if summary['macro_auc'] is None else round(summary['macro_auc'], 4)}   "
        f"MLPerf simplified AUC {summary['eembc_auc'] if summary['eembc_auc'] is None else round(summary['eembc_auc'], 4)}",
        f"{'class':<10} {'clips':>6} {'acc %':>7} {'prec %':>7} {'AUC':>7}",
    ]
    for name, row in summary["per_class"].items():
        auc = "    n/a" if row["auc"] is None else f"{row['auc']:7.4f}"
        lines.append(f"{name:<10} {row['clips']:>6} {pct(row['accuracy']):>7} {pct(row['precision']):>7} {auc}")
    return "\n".join(lines)
