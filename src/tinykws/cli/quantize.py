"""`tinykws quantize RUN_OR_CHECKPOINT --out DIR [--data DIR] [--test-data DIR] [settings...]`.

A run folder brings its recipe: the `quant` and `export` sections of its config.yaml
(calibration data, observer, bits, QAT, test data, verification) apply unless a flag
overrides them. A checkpoint or float .tflite needs `--data`.
"""

from __future__ import annotations

import argparse
import json
import sys

from tinykws.cli._types import count, positive_float, positive_int


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "quantize",
        help="int8-quantize a trained model (PTQ or QAT), export model.tflite + manifest, verify it in every engine",
        description=(
            "Quantize a float model to the TFLite int8 scheme: batch norm folded, per-channel conv weights, "
            "activation ranges from calibration clips of the training split of the data; optional QAT "
            "fine-tuning. Writes model.tflite, manifest.json, quantized.pt and summary.json into --out (replaced "
            "whole), then reads the file back and runs it in the tinykws numpy runtime, LiteRT (reference "
            "kernels) and TFLite Micro on the test inputs: any int8 output that differs is an error. "
            "A run folder's recipe (sections quant and export) gives the defaults."
        ),
    )
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT",
                   help="a run folder (best.pt/last.pt and config.yaml), a .pt checkpoint, or a float .tflite "
                        "(e.g. the MLPerf reference, imported as ds_cnn)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced whole)")
    p.add_argument("--data", metavar="DIR",
                   help="dataset folder for calibration (training split); default: the run recipe's quant.calib_data "
                        "or first data source")
    p.add_argument("--test-data", metavar="DIR",
                   help="dataset whose test split measures accuracy and verifies the file (default: the recipe's "
                        "export.test_data, else the validation split of the calibration data)")
    p.add_argument("--calib", type=positive_int, default=None, metavar="N", help="calibration clips (default 500)")
    p.add_argument("--observer", choices=["minmax", "percentile", "mse"], default=None,
                   help="how activation ranges are chosen (default minmax)")
    p.add_argument("--qat-epochs", type=count, default=None, metavar="E", help="QAT fine-tuning epochs (default 0)")
    p.add_argument("--qat-clips", type=positive_int, default=None, metavar="N", help="training clips for QAT (default 4000)")
    p.add_argument("--qat-lr", type=positive_float, default=None, metavar="LR", help="QAT learning rate (default 1e-4)")
    p.add_argument("--qat-labels", action="store_true",
                   help="QAT on the labels (default: distil the float model's outputs)")
    p.add_argument("--weight-bits", type=positive_int, default=None, metavar="B", help="weight bits, 2..8 (default 8)")
    p.add_argument("--act-bits", type=positive_int, default=None, metavar="B",
                   help="activation bits, 4..8 (default 8; below 8 is simulation only, no .tflite)")
    p.add_argument("--seed", type=count, default=None, help="seed for choosing clips (default 0)")
    p.add_argument("--no-arena", action="store_true", help="do not run TFLite Micro to measure the arena")
    p.add_argument("--no-verify", action="store_true", help="do not run the written file in every engine")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="leave out calibration and test clips that cannot be decoded (default: name them all and stop)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


# flag -> field of the recipe's `quant` section
QUANT_FLAGS = {"calib": "calib_clips", "observer": "observer", "qat_epochs": "qat_epochs", "qat_clips": "qat_clips",
               "qat_lr": "qat_lr", "weight_bits": "weight_bits", "act_bits": "act_bits", "seed": "seed"}


def resolve_settings(args: argparse.Namespace):
    """(quant section, export section, calibration data, test data) from the run's recipe
    and the flags (flags win)."""
    from dataclasses import replace
    from pathlib import Path

    from tinykws.errors import ConfigError
    from tinykws.export.quantize_job import sections_from_run
    from tinykws.train.config import ExportSection, QuantSection

    quant, export, calib_data = QuantSection(), ExportSection(), ""
    if Path(args.source).is_dir() and (Path(args.source) / "config.yaml").is_file():
        quant, export, calib_data = sections_from_run(args.source)
    changes = {field: getattr(args, flag) for flag, field in QUANT_FLAGS.items() if getattr(args, flag) is not None}
    if args.qat_labels:
        changes["qat_distill"] = False
    quant = replace(quant, **changes)
    export = replace(export, arena=export.arena and not args.no_arena, verify=export.verify and not args.no_verify,
                     test_data=args.test_data or export.test_data)
    calib_data = args.data or calib_data
    if not calib_data:
        raise ConfigError(f"{args.source}: say which data calibrates it with --data DIR (no run recipe names any)")
    return quant, export, calib_data, export.test_data or None


def run(args: argparse.Namespace) -> int:
    from tinykws.export.quantize_job import quantize_job
    from tinykws.export.verify import VerificationError

    quant, export, calib_data, test_data = resolve_settings(args)
    try:
        result = quantize_job(args.source, args.out, quant, export, calib_data, test_data,
                              progress=not args.no_progress, skip_unreadable=args.skip_unreadable)
    except VerificationError as exc:
        print(f"tinykws: error: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(result.summary(), indent=2, default=str))
        return 0
    acc = ", ".join(f"{k} {v:.2f} %" for k, v in result.accuracy.items())
    print(f"calibrated on {result.calib_clips} clips; top-1 on the {result.test_source}: {acc}")
    if result.fake_quant_int8_agreement is not None:
        print(f"the fake-quant simulation picks the integer network's top-1 on {result.fake_quant_int8_agreement:.2f} % "
              "of clips")
    if result.tflite_path is not None:
        arena = f", TFLite Micro arena {result.arena_bytes:,} B" if result.arena_bytes else ""
        print(f"wrote {result.tflite_path} ({result.size_bytes:,} B{arena}), {result.manifest_path}")
        if result.arena_note:
            print(f"note: {result.arena_note}")
    if result.verification is not None:
        print(f"verified on {result.verification.inputs} inputs ({result.verification.source}):")
        for line in result.verification.lines():
            print(f"  {line}")
    for note in result.notes:
        print(f"note: {note}")
    if result.skipped_unreadable:
        print(f"skipped {len(result.skipped_unreadable)} unreadable clip(s) (--skip-unreadable)", file=sys.stderr)
    print(f"wrote {result.checkpoint_path}, {result.summary_path}")
    return 0
