"""`tinykws quantize RUN_OR_CHECKPOINT --data DIR --out DIR [--calib N] [--observer ...]
[--qat-epochs E] [--weight-bits B] [--act-bits B] [--test-data DIR] [--json]`."""

from __future__ import annotations

import argparse

from tinykws.cli._types import count, positive_float, positive_int


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "quantize",
        help="int8-quantize a trained model (PTQ or QAT) and export model.tflite + manifest",
        description=(
            "Quantize a float model to the TFLite int8 scheme: batch norm folded, per-channel conv weights, "
            "activation ranges from calibration clips of the training split of --data; optional QAT "
            "fine-tuning. Writes model.tflite, manifest.json, quantized.pt and summary.json (top-1 of the "
            "float model, the fake-quant model and the integer runtime)."
        ),
    )
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT",
                   help="a run folder (best.pt/last.pt), a .pt checkpoint, or a float .tflite (e.g. the MLPerf "
                        "reference, imported as ds_cnn)")
    p.add_argument("--data", required=True, metavar="DIR", help="dataset folder for calibration (training split)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--calib", type=positive_int, default=500, metavar="N", help="calibration clips (default 500)")
    p.add_argument("--observer", choices=["minmax", "percentile", "mse"], default="minmax",
                   help="how activation ranges are chosen (default minmax)")
    p.add_argument("--qat-epochs", type=count, default=0, metavar="E", help="QAT fine-tuning epochs (default 0)")
    p.add_argument("--qat-clips", type=positive_int, default=4000, metavar="N", help="training clips for QAT (default 4000)")
    p.add_argument("--qat-lr", type=positive_float, default=1e-4, metavar="LR", help="QAT learning rate (default 1e-4)")
    p.add_argument("--qat-labels", action="store_true",
                   help="QAT on the labels (default: distil the float model's outputs)")
    p.add_argument("--weight-bits", type=positive_int, default=8, metavar="B", help="weight bits, 2..8 (default 8)")
    p.add_argument("--act-bits", type=positive_int, default=8, metavar="B",
                   help="activation bits, 4..8 (default 8; below 8 is simulation only, no .tflite)")
    p.add_argument("--test-data", metavar="DIR",
                   help="dataset whose test split measures accuracy (default: the validation split of --data)")
    p.add_argument("--seed", type=count, default=0, help="seed for choosing clips (default 0)")
    p.add_argument("--no-arena", action="store_true", help="do not run TFLite Micro to measure the arena")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.export.pipeline import quantize_to_dir

    result = quantize_to_dir(
        args.source, args.out, args.data, calib=args.calib, observer=args.observer, qat_epochs=args.qat_epochs,
        weight_bits=args.weight_bits, act_bits=args.act_bits, test_dir=args.test_data, qat_clips=args.qat_clips,
        qat_lr=args.qat_lr, seed=args.seed, arena=not args.no_arena, qat_distill=not args.qat_labels,
    )
    if args.json:
        print(result.summary_path.read_text(encoding="utf-8"), end="")
        return 0
    acc = ", ".join(f"{k} {v:.2f} %" for k, v in result.accuracy.items())
    print(f"calibrated on {result.calib_clips} clips; top-1 on {result.test_clips} clips: {acc}")
    if result.int_fake_quant_agreement is not None:
        print(f"integer runtime agrees with the fake-quant model on {result.int_fake_quant_agreement:.2f} % of clips")
    if result.tflite_path is not None:
        arena = f", TFLite Micro arena {result.arena_bytes:,} B" if result.arena_bytes else ""
        print(f"wrote {result.tflite_path} ({result.size_bytes:,} B{arena}), {result.manifest_path}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {result.checkpoint_path}, {result.summary_path}")
    return 0
