"""`tinykws profile MODEL [--target cortex-m4|cortex-m7|cortex-m3] [--board NAME]
[--clock-mhz F] [--cpi C] [--inputs N] [--html OUT] [--json]`."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "profile",
        help="instructions, flash and RAM of a model's generated C on an emulated Cortex-M (qemu)",
        description=(
            "Generate the model's C code, build it for the emulated board of --target, run it on qemu and report "
            "per layer op, output shape, parameters, MACs, instructions, instructions per MAC and arena bytes; "
            "totals: flash, RAM (arena, data, bss and the measured stack peak), instructions per inference, and "
            "inferences per second at a clock under a stated cycles-per-instruction assumption (qemu counts "
            "instructions, not cycles). With --board, the model's share of that board's flash and RAM."
        ),
    )
    p.add_argument("model", metavar="MODEL",
                   help="an int8 .tflite, a `tinykws quantize` output folder, or a generated C project folder")
    p.add_argument("--target", default="cortex-m4", choices=["cortex-m4", "cortex-m7", "cortex-m3"],
                   help="the emulated core (default cortex-m4: qemu mps2-an386)")
    p.add_argument("--board", metavar="NAME",
                   help="a board to size the model for: nucleo-l4r5zi, stm32f746-disco, nrf52840-dk, "
                        "arduino-nano-33-ble, rpi-pico, nucleo-f103rb (its core replaces --target when emulated)")
    p.add_argument("--clock-mhz", type=float, metavar="F",
                   help="clock for the speed estimate (default: the board's, else the core's reference board)")
    p.add_argument("--cpi", type=float, default=1.0, metavar="C",
                   help="assumed cycles per instruction for the speed estimate (default 1.0)")
    p.add_argument("--inputs", type=int, default=1, metavar="N",
                   help="seeded random inputs to run (the counts are from the first; default 1)")
    p.add_argument("--html", metavar="OUT", help="write an HTML page (OUT), its PNG and JSON beside it")
    p.add_argument("--json", action="store_true", help="print every figure as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tinykws.fileio import write_json
    from tinykws.mcu.boards import get_board
    from tinykws.profile.mcu import default_inputs
    from tinykws.profile.model import profile_model

    board = get_board(args.board) if args.board else None
    profile = profile_model(
        args.model, target=args.target, board=board,
        clock_hz=None if args.clock_mhz is None else args.clock_mhz * 1e6, cpi=args.cpi,
        inputs_fn=lambda input_bytes: default_inputs(input_bytes, count=max(args.inputs, 1)),
    )
    data = profile.to_dict()
    if args.html:
        from tinykws.report.mcu import write_profile_html

        page = write_profile_html(profile, args.html)
        write_json(Path(page).with_suffix(".json"), data)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    from tinykws.report.mcu import layer_rows, summary_facts

    rows = layer_rows(profile)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(v).rjust(w) if i >= 4 or i == 0 else str(v).ljust(w)
                        for i, (v, w) in enumerate(zip(row, widths))).rstrip())
    print()
    for key, value in summary_facts(profile).items():
        print(f"{key}: {value}")
    for note in profile.notes[1:]:
        print(f"note: {note}")
    if args.html:
        print(f"wrote {args.html} (+ .png, .json)")
    return 0
