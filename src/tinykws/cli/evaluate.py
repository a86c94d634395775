"""`tinykws evaluate MODEL --data DIR [--runtime NAME] [--layout] [--split] [--json] [--out DIR]`.

MODEL is a checkpoint or run folder (runtime "torch" by default) or a .tflite file
(runtime "reference", the tinykws numpy integer runtime, by default). Every runtime goes
through the same path: the model's front-end makes the features, the runner runs them,
the outputs are scored (`--outputs OUT.npy` saves them for comparing runtimes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    from tinykws.eval.runner import runner_names

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
    p.add_argument("model", metavar="MODEL", help="a .pt checkpoint or run folder, or a .tflite file")
    p.add_argument("--data", required=True, metavar="DIR", help="dataset folder (raw Speech Commands or class folders)")
    p.add_argument("--layout", choices=["auto", "raw", "folders"], default="auto", help="dataset layout (default: auto)")
    p.add_argument(
        "--split", choices=["test", "validation", "train", "all"], default="test",
        help="which split (default: test; a class-folder dataset without lists is all one split)",
    )
    p.add_argument("--batch-size", type=int, default=256, metavar="N", help="clips per batch")
    p.add_argument("--out", metavar="DIR", help="write eval.json, confusion.png and roc.png here")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--runtime", choices=runner_names(), default=None,
                   help="torch (float checkpoints; default for .pt), reference (the tinykws numpy integer "
                        "runtime; default for .tflite), litert (ai-edge-litert with TFLite's reference kernels, "
                        "see --litert-kernels), tflm (the TFLite Micro Python interpreter, also reports its "
                        "tensor arena), fake-quant (a quantized.pt simulated in float32), or a plugin's runtime")
    p.add_argument("--arithmetic", choices=["litert_ref", "tflite_micro"], default=None,
                   help="integer arithmetic of --runtime reference: litert_ref (default; bit-exact with LiteRT "
                        "BUILTIN_REF) or tflite_micro (bit-exact with TFLite Micro)")
    p.add_argument("--profile", dest="profile_alias", choices=["litert_ref", "tflite_micro"], default=None,
                   help=argparse.SUPPRESS)  # deprecated alias of --arithmetic, kept for one version
    p.add_argument("--litert-kernels", choices=["reference", "optimized", "xnnpack"], default=None,
                   help="LiteRT kernels: reference (BUILTIN_REF, default), optimized (BUILTIN_WITHOUT_DEFAULT_"
                        "DELEGATES) or xnnpack (LiteRT's default delegate); only reference is bit-exact")
    p.add_argument("--frontend", metavar="NAME",
                   help="front-end preset for a file without tinykws metadata (default: mlperf_mfcc for a 49x10 "
                        "input); overrides the embedded one if given")
    p.add_argument("--outputs", metavar="OUT.npy",
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


def _options(args: argparse.Namespace) -> dict:
    if args.profile_alias is not None:
        print("tinykws: note: --profile is deprecated; use --arithmetic", file=sys.stderr)
        if args.arithmetic is None:
            args.arithmetic = args.profile_alias
    given = {"arithmetic": args.arithmetic, "kernels": args.litert_kernels, "frontend": args.frontend}
    return {k: v for k, v in given.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    from tinykws.eval.evaluate import evaluate_folder, write_outputs

    runtime = args.runtime or ("reference" if is_tflite(args.model) else "torch")
    evaluation = evaluate_folder(args.model, args.data, runtime, args.split, args.layout, args.batch_size,
                                 not args.no_progress, **_options(args))
    info = evaluation.info
    summary = evaluation.to_dict()
    summary.update(data=str(args.data), split=args.split)
    if is_tflite(args.model):
        from tinykws.export.contract import file_sha256

        summary.update(size_bytes=Path(args.model).stat().st_size, sha256=file_sha256(args.model))
    lines = [f"runtime: {info.description}"
             + (f"; arena {info.facts['arena_bytes']:,} B" if info.facts.get("arena_bytes") else "")]
    if info.contract_source:
        lines.append(f"front-end and labels: {info.contract_source}")
    lines += [f"note: {n}" for n in info.notes]
    if args.outputs:
        files = write_outputs(args.outputs, evaluation)
        summary.update(outputs=str(files.outputs), outputs_clips=str(files.clips))
        lines.append(f"wrote {files.outputs} ({evaluation.outputs.dtype} {tuple(evaluation.outputs.shape)}), "
                     f"{files.clips}")
    if args.out:
        from tinykws.fileio import write_json
        from tinykws.report.plots import evaluation_plots

        plots = evaluation_plots(evaluation.result, Path(args.out))
        summary["plots"] = {k: str(v) for k, v in plots.items()}
        write_json(Path(args.out) / "eval.json", summary)
        lines.append(f"wrote {Path(args.out) / 'eval.json'}, {summary['plots']['confusion']}, "
                     f"{summary['plots']['roc']}")
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(format_result(summary))
    for line in lines:
        print(line)
    return 0


def format_result(summary: dict) -> str:
    """A readable table of an `EvalResult.to_dict()`."""

    def pct(x):
        return "   n/a" if x is None else f"{100 * x:6.2f}"

    def rounded(x):
        return x if x is None else round(x, 4)

    lines = [
        f"top-1 {pct(summary['top1']).strip()} % on {summary['num_clips']} clips   "
        f"macro AUC {rounded(summary['macro_auc'])}   MLPerf simplified AUC {rounded(summary['eembc_auc'])}",
        f"{'class':<10} {'clips':>6} {'acc %':>7} {'prec %':>7} {'AUC':>7}",
    ]
    for name, row in summary["per_class"].items():
        auc = "    n/a" if row["auc"] is None else f"{row['auc']:7.4f}"
        lines.append(f"{name:<10} {row['clips']:>6} {pct(row['accuracy']):>7} {pct(row['precision']):>7} {auc}")
    return "\n".join(lines)
