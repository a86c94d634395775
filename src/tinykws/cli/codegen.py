"""`tinykws codegen MODEL.tflite|QUANT_DIR --out DIR [--arithmetic A] [--name N] [--no-in-place] [--json]`."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "codegen",
        help="generate a dependency-free C99 library (and example) from an int8 model",
        description=(
            "Write the integer network of an int8 .tflite (or of a folder with model.tflite and manifest.json, "
            "as `tinykws quantize` writes) as C99: weights and fixed-point parameters as const arrays, one "
            "static arena packed by the memory planner (layers run in place where they can), one kernel call "
            "per layer with profiling hooks, tinykws' own kernels (Cortex-M DSP path when __ARM_FEATURE_DSP), "
            "an example main.c, a Makefile and manifest.json with the expected outputs of a few inputs."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="an int8 .tflite file, or a folder holding model.tflite")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the C project into")
    p.add_argument("--arithmetic", choices=["tflite_micro", "litert_ref"], default="tflite_micro",
                   help="whose int8 arithmetic the C reproduces bit for bit: tflite_micro (default; TFLite "
                        "Micro) or litert_ref (LiteRT's reference kernels: FULLY_CONNECTED rounds once)")
    p.add_argument("--name", default="model", help="base name of the network's files (default: model)")
    p.add_argument("--no-in-place", action="store_true",
                   help="give every tensor its own arena bytes (no layer overwrites its input)")
    p.add_argument("--block-pixels", type=int, default=16, metavar="N",
                   help="output pixels the Cortex-M DSP convolutions prepare at once (even; default 16): more "
                        "is faster and needs N x depth x 2 bytes more arena")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=run)


def generate_kwargs(args: argparse.Namespace) -> dict:
    """Options of generate_project from the arguments (one place to add --frontend, --board)."""
    return {"name": args.name, "in_place": not args.no_in_place, "block_pixels": args.block_pixels}


def run(args: argparse.Namespace) -> int:
    from tinykws.codegen import generate_project
    from tinykws.codegen.source import load_network

    source = load_network(args.model, args.arithmetic)
    result = generate_project(source.model, args.out, **generate_kwargs(args))
    if args.json:
        print(json.dumps({
            "model": str(source.path), "out_dir": str(result.out_dir), "arithmetic": result.arithmetic,
            "labels_and_frontend": source.contract, "notes": list(source.notes),
            "files": sorted(p.name for p in result.out_dir.iterdir() if p.is_file()),
            "sources": [p.name for p in result.sources], "arena_bytes": result.arena_bytes,
            "scratch_bytes": result.scratch_bytes, "param_bytes": result.param_bytes, "macs": result.macs,
            "input_bytes": result.input_bytes, "output_bytes": result.output_bytes,
            "layers": [layer.to_dict() for layer in result.layers],
        }, indent=2))
        return 0
    print(f"wrote {result.out_dir}: {result.header.name}, {', '.join(p.name for p in result.sources)}, "
          f"{result.main.name}, {result.makefile.name}, {result.manifest.name}")
    print(f"{len(result.layers)} layers, {result.macs:,} MACs, arithmetic {result.arithmetic}; labels and "
          f"front-end: {source.contract}")
    print(f"RAM: arena {result.arena_bytes:,} B ({result.scratch_bytes:,} B largest kernel scratch; one buffer per "
          f"tensor would need {result.plan.naive_bytes:,} B), input {result.input_bytes:,} B, output "
          f"{result.output_bytes:,} B")
    print(f"flash: {result.param_bytes:,} B of weights and parameters (plus the kernels' code)")
    print(f"{'#':>3} {'layer':<58} {'MACs':>10} {'params B':>9} {'scratch B':>9}")
    for layer in result.layers:
        note = " (in place)" if layer.in_place else ""
        print(f"{layer.index:>3} {(layer.summary + note)[:58]:<58} {layer.macs:>10,} {layer.param_bytes:>9,} "
              f"{layer.scratch_bytes:>9,}")
    for note in source.notes:
        print(f"note: {note}")
    print(f"build and run the example: make -C {result.out_dir} run")
    return 0
