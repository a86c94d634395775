"""The host side of the measuring firmware (tkws_main_semihost.c): write the inputs file,
run the firmware, read the results file, and turn counter ticks into instructions.

Arithmetic (tkws_harness.h): instructions of one tkws_invoke call, from its first
instruction to its return with everything it calls, are
    insns(invoke ticks) - insns(null-call ticks) + NULL_CALL_INSTRUCTIONS,
where the null call times a function of exactly 2 instructions through the same code.
Per layer: insns(end - begin) - insns(empty BEGIN/END pair). Stack of one call: bytes used
below the measuring frame less what the null call used there (the timing function's own
frame), i.e. tkws_invoke's frame and everything it calls.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.errors import TargetError
from tinykws.fileio import write_bytes
from tinykws.mcu.firmware import Firmware
from tinykws.mcu.qemu import ICOUNT_SHIFT, QemuRun, run_elf, ticks_to_instructions

INPUT_FILE = "tkws_in.bin"
OUTPUT_FILE = "tkws_out.bin"
NULL_CALL_INSTRUCTIONS = 2  # tkws_null_invoke: movs r0, #0; bx lr
HEADER_WORDS = 8
TRAILER_WORDS = 4


@dataclass(frozen=True, eq=False)
class HarnessResult:
    """Everything one firmware run measured, for N inputs and L timed layers.

    outputs: (N, output bytes) int8. status: (N,) tkws_invoke's return values.
    instructions: (N,) int64 per inference. layer_instructions: (N, L) int64 (L = 0 in a
    build without hooks). stack_bytes: (N,) per inference. stack_peak_bytes: deepest stack
    since reset (the harness included), of stack_reserved_bytes. calibration: the raw
    ticks and the derived fixed costs.
    """

    outputs: np.ndarray
    status: np.ndarray
    instructions: np.ndarray
    layer_instructions: np.ndarray
    stack_bytes: np.ndarray
    stack_peak_bytes: int
    stack_reserved_bytes: int
    calibration: dict[str, int]
    run: QemuRun


def _words(raw: bytes, start: int, count: int, path: Path) -> np.ndarray:
    end = start + 4 * count
    if end > len(raw):
        raise TargetError(f"{path}: results end early (the firmware stopped writing)")
    return np.frombuffer(raw, dtype="<u4", count=count, offset=start)


def parse_results(path: str | os.PathLike, firmware: Firmware, run: QemuRun,
                  icount_shift: int = ICOUNT_SHIFT) -> HarnessResult:
    """Read tkws_out.bin (layout in tkws_main_semihost.c) into a HarnessResult."""
    p = Path(path)
    raw = p.read_bytes()
    header = _words(raw, 0, HEADER_WORDS, p)
    if raw[:4] != b"TKWR" or header[1] != 1:
        raise TargetError(f"{p}: not a tinykws results file (version 1)")
    _, _, in_bytes, out_bytes, layers, null_ticks, null_stack, hook_ticks = (int(v) for v in header)
    out_words = (out_bytes + 3) // 4
    record_words = 4 + layers + out_words
    body = len(raw) - 4 * (HEADER_WORDS + TRAILER_WORDS)
    if body < 0 or body % (4 * record_words):
        raise TargetError(f"{p}: {len(raw)} bytes is not a whole number of records")
    count = body // (4 * record_words)
    records = _words(raw, 4 * HEADER_WORDS, count * record_words, p).reshape(count, record_words)
    trailer = _words(raw, 4 * (HEADER_WORDS + count * record_words), TRAILER_WORDS, p)
    if raw[-16:-12] != b"TKWE" or int(trailer[1]) != count:
        raise TargetError(f"{p}: the trailer is missing or counts {int(trailer[1])} records, found {count}")
    if np.any(records[:, 3]):
        raise TargetError(f"{firmware.elf}: an inference took more than 2^32 counter ticks "
                          f"({2**32 * 40 // 2**icount_shift:,} instructions at shift {icount_shift}); "
                          "its count would wrap")
    board = firmware.board
    null_insns = int(ticks_to_instructions(null_ticks, board, icount_shift))
    hook_insns = int(ticks_to_instructions(hook_ticks, board, icount_shift))
    instructions = ticks_to_instructions(records[:, 1], board, icount_shift) - null_insns + NULL_CALL_INSTRUCTIONS
    layer_instructions = ticks_to_instructions(records[:, 4:4 + layers], board, icount_shift) - hook_insns
    outputs = records[:, 4 + layers:].copy().view(np.int8)[:, :out_bytes]
    return HarnessResult(
        outputs=np.ascontiguousarray(outputs),
        status=records[:, 0].astype(np.int32),
        instructions=instructions,
        layer_instructions=layer_instructions.reshape(count, layers),
        stack_bytes=records[:, 2].astype(np.int64) - null_stack,
        stack_peak_bytes=int(trailer[2]),
        stack_reserved_bytes=int(trailer[3]),
        calibration={
            "input_bytes": in_bytes, "null_call_ticks": null_ticks, "null_call_instructions": null_insns,
            "null_call_stack_bytes": null_stack, "hook_pair_ticks": hook_ticks, "hook_pair_instructions": hook_insns,
            "icount_shift": icount_shift,
        },
        run=run,
    )


def run_harness(firmware: Firmware, inputs: np.ndarray | None, *, input_bytes: int,
                timeout_s: float | None = None, work_dir: str | os.PathLike | None = None) -> HarnessResult:
    """Run the measuring firmware on `inputs` ((N, ...) int8, flattened to input_bytes per
    row; None for a build with embedded inputs) and read what it measured.

    The default timeout allows 60 s plus 2 s per input. Raises TargetError on a hang, a
    crash, a non-zero exit status or a malformed results file.
    """
    with tempfile.TemporaryDirectory(prefix="tkws_qemu_", dir=work_dir) as tmp:
        folder = Path(tmp)
        count = 0
        if inputs is not None:
            rows = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
            if rows.shape[1] != input_bytes:
                raise TargetError(f"inputs have {rows.shape[1]} bytes each, the model takes {input_bytes}")
            write_bytes(folder / INPUT_FILE, rows.tobytes())
            count = len(rows)
        timeout = timeout_s if timeout_s is not None else 60.0 + 2.0 * count
        run = run_elf(firmware.elf, firmware.board, timeout_s=timeout, cwd=folder)
        if run.exit_code != 0:
            raise TargetError(f"{firmware.elf} on {firmware.board.name} exited with status {run.exit_code}: "
                              f"{(run.stdout + run.stderr).strip()}")
        return parse_results(folder / OUTPUT_FILE, firmware, run)
