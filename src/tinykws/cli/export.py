"""`tinykws export MODEL --format onnx [--out FILE]`: a .tflite as ONNX (float, or int8 QDQ)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "export", help="write a .tflite model in another format (ONNX: float, or int8 as QDQ)",
        description="Convert a .tflite (a float model, or an int8 one from `tinykws quantize` or MLPerf Tiny) to "
                    "ONNX with the same input and output tensors: float operators for a float model, "
                    "QuantizeLinear/DequantizeLinear around them for an int8 one. The model's contract (labels, "
                    "front-end, quantization) is stored in the file's metadata, so `--runtime onnxruntime` runs "
                    "it as it runs the .tflite.",
    )
    p.add_argument("model", metavar="MODEL", help="a .tflite file or a `tinykws quantize` output folder")
    p.add_argument("--format", required=True, choices=["onnx"], help="the output format")
    p.add_argument("--out", metavar="FILE", help="the output file (default: MODEL with the format's suffix)")
    p.add_argument("--frontend", metavar="NAME", help="the front-end of a model without tinykws metadata "
                   "('none' for images and stored features)")
    p.add_argument("--labels", metavar="A,B,..", help="labels of a model without tinykws metadata")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinykws.codegen.source import tflite_path
    from tinykws.export.onnx import export_onnx

    source = tflite_path(args.model)
    out = Path(args.out) if args.out else source.with_suffix(".onnx")
    labels = args.labels.split(",") if args.labels else None
    done = export_onnx(source, out, frontend=args.frontend, labels=labels)
    print(f"wrote {done.path}: {done.form} ONNX, opset {done.opset}, {done.nodes} nodes, {done.size_bytes:,} B")
    return 0
