"""`tinykws codegen MODEL.tflite|QUANT_DIR --out DIR [--arithmetic A] [--frontend [NAME]] [--clip WAV]
[--board NAME] [--name N] [--no-in-place] [--block-pixels N] [--json]`."""

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
            "the post-processing (argmax and smoothing, tkws_postprocess.h), an example main.c, a Makefile "
            "and manifest.json with the expected outputs of a few inputs. With --frontend the project also "
            "gets the model's front-end in C (frontend.h: tkws_features, 16-bit PCM -> the int8 network "
            "input) and main.c spots the keyword in a clip: PCM -> features -> network -> label. With --board "
            "a model that cannot fit the board's RAM or flash is refused and nothing is written."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="an int8 .tflite file, or a folder holding model.tflite")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write the C project into (replaced whole; an existing folder must be empty "
                        "or an earlier tinykws output)")
    p.add_argument("--arithmetic", choices=["tflite_micro", "litert_ref"], default="tflite_micro",
                   help="whose int8 arithmetic the C reproduces bit for bit: tflite_micro (default; TFLite "
                        "Micro) or litert_ref (LiteRT's reference kernels: FULLY_CONNECTED rounds once)")
    p.add_argument("--frontend", nargs="?", const="", default=None, metavar="NAME",
                   help="add the front-end in C and make main.c go PCM -> label: the model's own front-end "
                        "(its tinykws metadata; a file without it, such as the MLPerf reference model, gets "
                        "mlperf_mfcc for a 49x10 input, as `tinykws evaluate` assumes), or the preset NAME")
    p.add_argument("--clip", metavar="WAV",
                   help="with --frontend: the audio clip main.c classifies (default: seeded noise)")
    p.add_argument("--board", metavar="NAME",
                   help="refuse a model whose arena (+ front-end + the board's stack) exceeds the board's RAM or "
                        "whose weights (+ tables) exceed its flash, and compile for its core: nucleo-l4r5zi, "
                        "stm32f746-disco, nrf52840-dk, arduino-nano-33-ble, rpi-pico, nucleo-f103rb, mps2-an386, "
                        "mps2-an385, mps2-an500")
    p.add_argument("--name", default="model", help="base name of the network's files (default: model)")
    p.add_argument("--no-in-place", action="store_true",
                   help="give every tensor its own arena bytes (no layer overwrites its input)")
    p.add_argument("--block-pixels", type=int, default=16, metavar="N",
                   help="output pixels the Cortex-M DSP convolutions prepare at once (even; default 16): more "
                        "is faster and needs N x depth x 2 bytes more arena")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=run)


def board_budget(name: str):
    """The MemoryBudget of the board `name` (tinykws.mcu.boards) for the code generator."""
    from tinykws.mcu.boards import get_board

    return get_board(name).budget()


def generate(args: argparse.Namespace, source, out_dir):
    """Write the project into `out_dir`: (CodegenResult, PipelineExample or None, what the
    example clip is or None)."""
    from tinykws.codegen import generate_project

    options = {"name": args.name, "in_place": not args.no_in_place, "block_pixels": args.block_pixels,
               "budget": board_budget(args.board) if args.board else None}
    if args.frontend is None:
        return generate_project(source.model, out_dir, **options), None, None
    from tinykws.codegen.frontends import generate_pipeline_example
    from tinykws.codegen.frontends.generate import resolve_frontend
    from tinykws.codegen.frontends.pipeline import example_clip

    frontend = resolve_frontend(source.frontend)
    pcm, what = example_clip(args.clip, frontend)
    example = generate_pipeline_example(source.model, frontend, out_dir, pcm, clip_description=what, **options)
    return example.project, example, what


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinykws.codegen.source import load_network
    from tinykws.errors import ConfigError
    from tinykws.fileio import atomic_dir

    if args.clip is not None and args.frontend is None:
        raise ConfigError("--clip is the clip of the --frontend example; add --frontend")
    source = load_network(args.model, args.arithmetic, with_frontend=args.frontend is not None,
                          frontend=args.frontend or None)
    if args.board:
        board_budget(args.board)  # an unknown board is refused before anything is generated
    with atomic_dir(args.out, "codegen") as tmp:
        result, example, clip = generate(args, source, tmp)
    out = Path(args.out)
    files = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    if args.json:
        print(json.dumps(facts(source, result, example, clip, out, files), indent=2))
        return 0
    print_summary(source, result, example, clip, out, files)
    return 0


def facts(source, result, example, clip, out, files) -> dict:
    """Everything `--json` prints."""
    data = {
        "model": str(source.path), "out_dir": str(out), "arithmetic": result.arithmetic,
        "labels_and_frontend": source.contract, "notes": list(source.notes), "files": files,
        "sources": [p.name for p in result.sources], "arena_bytes": result.arena_bytes,
        "scratch_bytes": result.scratch_bytes, "param_bytes": result.param_bytes, "macs": result.macs,
        "input_bytes": result.input_bytes, "output_bytes": result.output_bytes,
        "layers": [layer.to_dict() for layer in result.layers],
        "board_fit": result.fit.to_dict() if result.fit else None, "frontend_c": None, "example": None,
    }
    if example is not None:
        front = example.frontend
        data["frontend_c"] = {"kind": front.kind, "config": front.frontend, "output_shape": list(front.output_shape),
                              "table_bytes": front.table_bytes, "state_bytes": front.state_bytes,
                              "scratch_bytes": front.scratch_bytes}
        data["example"] = {"clip": clip, "expected_index": example.expected_index,
                           "expected_label": example.expected_label}
    return data


def print_summary(source, result, example, clip, out, files) -> None:
    print(f"wrote {out}: {', '.join(files)}")
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
    if example is not None:
        front = example.frontend
        frames, per_frame = front.output_shape
        print(f"front-end in C: {front.kind} ({frames}x{per_frame} int8 features of {front.clip_samples:,} samples "
              f"at {front.sample_rate:,} Hz), tables {front.table_bytes:,} B, RAM {front.ram_bytes:,} B; "
              "tkws_features() in frontend.h")
        label = example.expected_label or f"index {example.expected_index}"
        print(f"example: main.c classifies {clip} as {label!r} (what tinykws' numpy pipeline gives)")
    if result.fit is not None:
        fit = result.fit
        print(f"fits {fit.budget.name}: RAM {fit.ram_needed:,} of {fit.budget.ram_bytes:,} B ({fit.ram_terms()}), "
              f"flash {fit.flash_needed:,} of {fit.budget.flash_bytes:,} B before code ({fit.flash_terms()})")
    for note in source.notes:
        print(f"note: {note}")
    print(f"build and run the example: make -C {out} run")
