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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.codegen.frontends.generate import FrontendCodegenResult
from tinykws.errors import TargetError
from tinykws.mcu.boards import Board
from tinykws.mcu.firmware import CProject, SectionSizes
from tinykws.profile.wrapped import run_wrapped, wrapper_project

# the harness's input buffer is 8-byte aligned, so the cast to int16 is safe
FRONTEND_CALL = """int tkws_invoke(const int8_t *input, int8_t *output)
{
    return tkws_features((const int16_t *)(const void *)input, TKWS_FEATURES_CLIP_SAMPLES, output);
}"""


@dataclass(frozen=True, eq=False)
class FrontendMcuRun:
    """A front-end measured on `board`: per clip instructions ((N,) int64), stack bytes
    ((N,) int64) and the device's int8 features ((N, frames, features)); the firmware's
    section sizes and the front-end's own (code, tables, static RAM; bytes)."""

    board: str
    core: str
    opt: str
    instructions: np.ndarray
    stack_bytes: np.ndarray
    features: np.ndarray
    firmware_sizes: SectionSizes
    own_sizes: SectionSizes

    def summary(self) -> dict[str, object]:
        """JSON-ready figures: instructions (min, median, max) and stack peak over the clips."""
        i = self.instructions
        return {"board": self.board, "core": self.core, "opt": self.opt, "clips": int(len(i)),
                "instructions_min": int(i.min()), "instructions_median": int(np.median(i)),
                "instructions_max": int(i.max()), "stack_bytes_max": int(self.stack_bytes.max())}


def _adapter(frontend: FrontendCodegenResult, folder: Path) -> tuple[CProject, CProject]:
    return wrapper_project(folder, input_bytes=2 * frontend.clip_samples, output_bytes=frontend.feature_count,
                           includes=["frontend.h"], body=FRONTEND_CALL, sources=frontend.sources,
                           include_dirs=(frontend.out_dir,), what="a generated front-end")


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
    rows = pcm.astype("<i2").view(np.int8).reshape(len(pcm), -1)
    run = run_wrapped(lambda folder: _adapter(frontend, folder), rows, board, opt=opt, work_dir=work_dir,
                      what="tkws_features")
    return FrontendMcuRun(
        board=run.board.name, core=run.board.core.name, opt=opt, instructions=run.instructions,
        stack_bytes=run.stack_bytes, features=run.outputs.reshape(len(pcm), *frontend.output_shape),
        firmware_sizes=run.firmware_sizes, own_sizes=run.own_sizes,
    )
