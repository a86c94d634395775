"""The cost of a generated C front-end on an emulated Cortex-M: exact instructions per 1 s
clip, stack, and the int8 features the device computed (to compare with the host build).

The front-end is wrapped as a model for tinykws' measuring firmware (tinykws.mcu): the
"model" input is the clip's int16 PCM as bytes (little-endian, as on the device) and its
output the int8 features; `tkws_invoke` is one tail call into `tkws_features`, so the
count is the front-end's own from its first instruction to its return, plus the two or
three instructions of that call.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.codegen.frontends.generate import FrontendCodegenResult
from tinykws.errors import TargetError
from tinykws.fileio import write_text
from tinykws.mcu.boards import Board, get_board
from tinykws.mcu.firmware import CProject, SectionSizes, build_firmware
from tinykws.mcu.harness import run_harness

ADAPTER_HEADER = "frontend_model.h"
ADAPTER_SOURCE = "frontend_model.c"


@dataclass(frozen=True, eq=False)
class FrontendMcuRun:
    """A front-end measured on `board`: per clip instructions ((N,) int64), stack bytes
    ((N,) int64) and the device's int8 features ((N, frames, features)); the firmware's
    section sizes (bytes)."""

    board: str
    core: str
    opt: str
    instructions: np.ndarray
    stack_bytes: np.ndarray
    features: np.ndarray
    firmware_sizes: SectionSizes

    def summary(self) -> dict[str, object]:
        """JSON-ready figures: instructions (min, median, max) and stack peak over the clips."""
        i = self.instructions
        return {"board": self.board, "core": self.core, "opt": self.opt, "clips": int(len(i)),
                "instructions_min": int(i.min()), "instructions_median": int(np.median(i)),
                "instructions_max": int(i.max()), "stack_bytes_max": int(self.stack_bytes.max())}


def _adapter(frontend: FrontendCodegenResult, folder: Path) -> CProject:
    input_bytes = 2 * frontend.clip_samples
    write_text(folder / ADAPTER_HEADER, f"""/* tinykws: a generated front-end as a measurable "model". */
#ifndef TKWS_FRONTEND_MODEL_H
#define TKWS_FRONTEND_MODEL_H
#include <stdint.h>
#define TKWS_INPUT_BYTES {input_bytes} /* one clip of int16 PCM */
#define TKWS_OUTPUT_BYTES {frontend.feature_count} /* its int8 features */
#define TKWS_NUM_LAYERS 0
int tkws_invoke(const int8_t *input, int8_t *output);
#endif
""")
    write_text(folder / ADAPTER_SOURCE, f"""#include "{ADAPTER_HEADER}"
#include "frontend.h"

int tkws_invoke(const int8_t *input, int8_t *output)
{{
    /* the harness's input buffer is 8-byte aligned */
    return tkws_features((const int16_t *)(const void *)input, TKWS_FEATURES_CLIP_SAMPLES, output);
}}
""")
    return CProject(sources=(*frontend.sources, folder / ADAPTER_SOURCE),
                    include_dirs=(folder, frontend.out_dir), header=ADAPTER_HEADER)


def measure_frontend(
    frontend: FrontendCodegenResult,
    pcm: np.ndarray,
    board: str | Board = "mps2-an386",
    *,
    opt: str = "-O2",
    work_dir: str | os.PathLike | None = None,
) -> FrontendMcuRun:
    """Run the front-end on every clip of `pcm` ((N, clip_samples) int16) on the qemu
    `board`, one firmware build and one qemu process, and return what it measured."""
    pcm = np.ascontiguousarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 2 or pcm.shape[1] != frontend.clip_samples:
        raise TargetError(f"expected (clips, {frontend.clip_samples}) int16 PCM, got {pcm.dtype} {pcm.shape}")
    target = get_board(board) if isinstance(board, str) else board
    if not target.emulated:
        raise TargetError(f"board {target.name} is not emulated; pick an mps2 board")
    with tempfile.TemporaryDirectory(prefix="tkws_fe_mcu_", dir=work_dir) as tmp:
        folder = Path(tmp)
        project = _adapter(frontend, folder)
        firmware = build_firmware(project, target, folder / "build", opt=opt)
        rows = pcm.astype("<i2").view(np.int8).reshape(len(pcm), -1)
        result = run_harness(firmware, rows, input_bytes=rows.shape[1], timeout_s=60.0 + 5.0 * len(rows))
    if np.any(result.status != 0):
        raise TargetError(f"tkws_features failed on {int(np.count_nonzero(result.status))} clips on {target.name}")
    return FrontendMcuRun(
        board=target.name, core=target.core.name, opt=opt,
        instructions=result.instructions.astype(np.int64),
        stack_bytes=result.stack_bytes.astype(np.int64),
        features=result.outputs.reshape(len(pcm), *frontend.output_shape),
        firmware_sizes=firmware.sizes,
    )
