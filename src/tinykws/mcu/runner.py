"""Running a C model on an emulated Cortex-M: build once, then many inputs per qemu run.

    from tinykws.mcu.runner import run_c_qemu
    outputs, instructions = run_c_qemu(project_dir, int8_inputs, board="mps2-an386")

All inputs of a call go through one qemu process (or `jobs` processes on contiguous
chunks), through the semihosting files of tkws_main_semihost.c, so thousands of clips cost
one boot and one build.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from tinykws.errors import TargetError
from tinykws.mcu.boards import Board, get_board
from tinykws.mcu.firmware import CProject, Firmware, build_firmware
from tinykws.mcu.harness import HarnessResult, run_harness
from tinykws.mcu.project import ModelProject, as_model_project


@dataclass(frozen=True, eq=False)
class CRunResult:
    """Outputs ((N, output bytes) int8) and instructions per inference ((N,) int64) of a
    batch, with the stack each inference used (bytes), the firmware (its files live as long
    as the QemuModel that built it), and the wall time (s). Unpacks as (outputs, instructions)."""

    outputs: np.ndarray
    instructions: np.ndarray
    stack_bytes: np.ndarray
    firmware: Firmware
    seconds: float

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.outputs
        yield self.instructions


class QemuModel:
    """A model project built once for an emulated board, run on any number of batches.

    project: a ModelProject, a CProject, a codegen result or a generated project folder.
    jobs: qemu processes per batch (contiguous chunks; 1 on a shared machine).
    The build folder is temporary unless `build_dir` is given.
    """

    def __init__(self, project, board: str | Board = "mps2-an386", *, jobs: int = 1,
                 build_dir: str | os.PathLike | None = None, opt: str = "-O2"):
        self.project: ModelProject = as_model_project(project)
        self.board = get_board(board) if isinstance(board, str) else board
        if not self.board.emulated:
            raise TargetError(f"board {self.board.name} is a real board; run_c_qemu needs an emulated one")
        if jobs < 1:
            raise TargetError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        if build_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="tkws_fw_")
            self._cleanup = weakref.finalize(self, tmp.cleanup)
            build_dir = tmp.name
        self.firmware = build_firmware(self.project.c_project, self.board, Path(build_dir), opt=opt)

    @property
    def input_bytes(self) -> int:
        return self.project.input_bytes

    def run(self, inputs: np.ndarray, *, timeout_s: float | None = None) -> CRunResult:
        """Run every row of `inputs` ((N, ...) int8, input_bytes per row) once."""
        rows = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
        if rows.shape[1] != self.input_bytes:
            raise TargetError(f"inputs have {rows.shape[1]} bytes each, the model takes {self.input_bytes}")
        chunks = [c for c in np.array_split(rows, min(self.jobs, max(len(rows), 1))) if len(c)]
        if not chunks:
            raise TargetError("no inputs to run")
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            results: list[HarnessResult] = list(pool.map(
                lambda chunk: run_harness(self.firmware, chunk, input_bytes=self.input_bytes,
                                          timeout_s=timeout_s), chunks))
        failed = np.concatenate([r.status for r in results]) != 0
        if failed.any():
            raise TargetError(f"tkws_invoke returned an error on {int(failed.sum())} of {len(rows)} inputs "
                              f"({self.firmware.elf} on {self.board.name})")
        return CRunResult(
            outputs=np.concatenate([r.outputs for r in results]),
            instructions=np.concatenate([r.instructions for r in results]),
            stack_bytes=np.concatenate([r.stack_bytes for r in results]),
            firmware=self.firmware,
            seconds=max(r.run.seconds for r in results),
        )


def run_c_qemu(project_or_result, inputs: np.ndarray, board: str | Board = "mps2-an386", *,
               jobs: int = 1, timeout_s: float | None = None) -> CRunResult:
    """Build `project_or_result` for `board`, run every input once on qemu, and return the
    outputs and the exact instructions per inference (see tinykws.mcu.harness)."""
    return QemuModel(project_or_result, board, jobs=jobs).run(inputs, timeout_s=timeout_s)
