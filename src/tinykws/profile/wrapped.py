"""A C routine measured as if it were a model: tinykws' measuring firmware (tinykws.mcu)
runs `tkws_invoke(input, output)` once per input record and counts its instructions and
stack exactly, so a front-end or the post-processing is wrapped in a `tkws_invoke` that
calls it. The count is the routine's own plus the wrapper's few instructions (a call, a
copy), which the callers state. Its flash and static RAM are the firmware's less those of
the same firmware with an empty `tkws_invoke` (as the model's in tinykws.profile.mcu).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tinykws.errors import TargetError
from tinykws.fileio import write_text
from tinykws.mcu.boards import Board, get_board
from tinykws.mcu.firmware import CProject, SectionSizes, build_firmware
from tinykws.mcu.harness import run_harness

WRAPPER_HEADER = "wrapped_model.h"
WRAPPER_SOURCE = "wrapped_model.c"
NULL_BODY = """int tkws_invoke(const int8_t *input, int8_t *output)
{
    (void)input;
    (void)output;
    return 0;
}"""


@dataclass(frozen=True, eq=False)
class WrappedRun:
    """What the firmware measured for N records: tkws_invoke's instructions and stack
    ((N,) int64), its int8 outputs ((N, output bytes)), the firmware's sections, and the
    routine's own (the firmware less an empty tkws_invoke's; bytes)."""

    board: Board
    opt: str
    instructions: np.ndarray
    stack_bytes: np.ndarray
    outputs: np.ndarray
    firmware_sizes: SectionSizes
    own_sizes: SectionSizes


def wrapper_project(folder: Path, *, input_bytes: int, output_bytes: int, includes: Sequence[str], body: str,
                    sources: Sequence[Path], include_dirs: Sequence[Path], what: str) -> tuple[CProject, CProject]:
    """Write a header declaring the model contract and a source whose `body` (C statements
    after the `#include`s) defines tkws_invoke: (the CProject that builds it with
    `sources`, the same contract with an empty tkws_invoke and no sources)."""
    write_text(folder / WRAPPER_HEADER, f"""/* tinykws: {what} as a measurable "model". */
#ifndef TKWS_WRAPPED_MODEL_H
#define TKWS_WRAPPED_MODEL_H
#include <stdint.h>
#define TKWS_INPUT_BYTES {input_bytes}
#define TKWS_OUTPUT_BYTES {output_bytes}
#define TKWS_NUM_LAYERS 0
int tkws_invoke(const int8_t *input, int8_t *output);
#endif
""")
    lines = [f'#include "{WRAPPER_HEADER}"', *(f'#include "{name}"' for name in includes), "", body]
    write_text(folder / WRAPPER_SOURCE, "\n".join(lines) + "\n")
    write_text(folder / f"null_{WRAPPER_SOURCE}", f'#include "{WRAPPER_HEADER}"\n\n{NULL_BODY}\n')
    return (CProject(sources=(*sources, folder / WRAPPER_SOURCE), include_dirs=(folder, *include_dirs),
                     header=WRAPPER_HEADER),
            CProject(sources=(folder / f"null_{WRAPPER_SOURCE}",), include_dirs=(folder,), header=WRAPPER_HEADER))


def run_wrapped(make_project, records: np.ndarray, board: str | Board, *, opt: str = "-O2",
                work_dir: str | os.PathLike | None = None, what: str = "the routine") -> WrappedRun:
    """Build the projects `make_project(folder)` returns (wrapper_project's pair) for the
    emulated `board`, run every int8 record ((N, input bytes)) in one qemu process, and
    return what was measured. Raises TargetError for a board qemu does not emulate or a
    call that returned non-zero."""
    target = get_board(board) if isinstance(board, str) else board
    if not target.emulated:
        raise TargetError(f"board {target.name} is not emulated; pick an mps2 board")
    rows = np.ascontiguousarray(records, dtype=np.int8).reshape(len(records), -1)
    with tempfile.TemporaryDirectory(prefix="tkws_wrapped_", dir=work_dir) as tmp:
        folder = Path(tmp)
        project, null = make_project(folder)
        firmware = build_firmware(project, target, folder / "build", opt=opt)
        empty = build_firmware(null, target, folder / "null", opt=opt).sizes
        result = run_harness(firmware, rows, input_bytes=rows.shape[1], timeout_s=60.0 + 5.0 * len(rows))
    if np.any(result.status != 0):
        raise TargetError(f"{what} failed on {int(np.count_nonzero(result.status))} of {len(rows)} inputs on "
                          f"{target.name}")
    return WrappedRun(board=target, opt=opt, instructions=result.instructions.astype(np.int64),
                      stack_bytes=result.stack_bytes.astype(np.int64), outputs=result.outputs,
                      firmware_sizes=firmware.sizes, own_sizes=firmware.sizes.minus(empty))
