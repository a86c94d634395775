"""`tinykws stream-eval MODEL --data DIR [--runtime R] [--out DIR]`: false rejection rate
against false accepts per hour, per keyword, on the streams of `tinykws data streams`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    from tinykws.eval.runner import runner_names

    p = subparsers.add_parser(
        "stream-eval",
        help="FRR against false accepts per hour per keyword on long streams (DET curve, operating points)",
        description=(
            "Listen to every stream of --data (made by `tinykws data streams`) as `tinykws stream` would, then "
            "apply the detection rule at every threshold of a grid: a keyword event is found when its keyword is "
            "detected from its clip's start to --tolerance-s after its end; every detection in the negative "
            "stream is a false accept. Prints the FRR of each keyword at 0.5 and 1 false accept per hour (the "
            "lowest FRR of the thresholds that stay within it), and writes the curves (JSON) and the DET plot."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a .pt checkpoint or run folder, a .tflite, or a quantize folder")
    p.add_argument("--data", required=True, metavar="DIR", help="a folder made by `tinykws data streams`")
    p.add_argument("--runtime", choices=runner_names(), default=None,
                   help="torch (default for checkpoints), reference (default for .tflite), litert, tflm, ...")
    p.add_argument("--arithmetic", choices=["litert_ref", "tflite_micro"], default=None,
                   help="integer arithmetic of --runtime reference")
    p.add_argument("--litert-kernels", choices=["reference", "optimized", "xnnpack"], default=None,
                   help="LiteRT kernels (default reference, bit-exact; optimized is faster and not bit-exact)")
    p.add_argument("--mode", choices=["auto", "incremental", "window"], default="auto",
                   help="as for `tinykws stream`")
    p.add_argument("--hop-ms", type=float, default=None, help="a row of probabilities every MS (default 20)")
    p.add_argument("--smoothing-ms", type=float, default=100.0)
    p.add_argument("--refractory-ms", type=float, default=1000.0)
    p.add_argument("--tolerance-s", type=float, default=0.5,
                   help="a keyword may be detected up to this long after its clip ends (default 0.5)")
    p.add_argument("--out", metavar="DIR", help="write stream_eval.json and det.png here")
    p.add_argument("--json", action="store_true", help="print the operating points as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.data.eval_streams import load_stream_set
    from tinykws.stream.detector import DetectorConfig
    from tinykws.stream.evaluate import TARGETS, evaluate_streams
    from tinykws.stream.open import open_stream

    streams = load_stream_set(args.data)
    options = {k: v for k, v in (("arithmetic", args.arithmetic), ("kernels", args.litert_kernels)) if v}
    config = DetectorConfig(smoothing_ms=args.smoothing_ms, refractory_ms=args.refractory_ms)
    posteriors = open_stream(args.model, runtime=args.runtime, hop_ms=args.hop_ms, mode=args.mode, **options)
    try:
        print(f"# {posteriors.mode}: {posteriors.description}", file=sys.stderr)
        result = evaluate_streams(streams, posteriors, str(args.model), config, tolerance_s=args.tolerance_s,
                                  progress=lambda line: print(f"# {line}", file=sys.stderr))
    finally:
        posteriors.close()
    points = result.operating_points()
    if args.json:
        print(json.dumps(points, indent=2))
    else:
        _print_table(result, points, TARGETS)
    if args.out:
        from tinykws.fileio import atomic_dir, write_json
        from tinykws.report.stream_plots import det_png

        with atomic_dir(Path(args.out), "stream evaluation") as tmp:
            write_json(tmp / "stream_eval.json", result.to_dict())
            det_png({k: (c.fa_per_hour, c.frr) for k, c in result.curves.items()}, tmp / "det.png",
                    title=f"{Path(args.model).name}: {result.negative_hours:.1f} h negative, "
                          f"{sum(c.positives for c in result.curves.values())} keywords")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _print_table(result, points, targets) -> None:
    head = "".join(f"  FRR@{t:g}FA/h (thr)" for t in targets)
    print(f"{'keyword':<10} {'positives':>9}{head}")
    for label, curve in result.curves.items():
        cells = ""
        for t in targets:
            p = points[f"{t:g}"][label]
            thr = "-" if p["threshold"] is None else f"{p['threshold']:.3f}"
            cells += f"  {100 * p['frr']:8.1f} % ({thr})"
        print(f"{label:<10} {curve.positives:>9}{cells}")
    means = "".join(f"  {100 * points[f'{t:g}']['mean_frr']:8.1f} %        " for t in targets)
    print(f"{'mean':<10} {'':>9}{means}")
    print(f"{result.negative_hours:.2f} h negative, {result.positive_hours:.2f} h positive, "
          f"{result.real_time_factor:.0f}x real time")
