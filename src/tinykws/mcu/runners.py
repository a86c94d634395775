"""Generated C on an emulated Cortex-M as ModelRunners: "c-qemu-m4" (mps2-an386),
"c-qemu-m3" (mps2-an385) and "c-qemu-m7" (mps2-an500).

The .tflite is imported with TFLite Micro arithmetic, generated as C (tinykws.codegen),
built once for the board, and every batch runs in one qemu process. Besides the outputs,
the runner keeps the exact instructions of every inference it ran (`instructions`).
"""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.errors import ConfigError
from tinykws.eval.runner import InferenceTiming, ModelRunner
from tinykws.codegen.source import tflite_path
from tinykws.export.contract import resolve_contract
from tinykws.export.runners import runner_info
from tinykws.formats.tflite_reader import read_tflite
from tinykws.mcu.boards import QEMU_BOARDS, get_board
from tinykws.mcu.project import from_codegen
from tinykws.mcu.runner import QemuModel

ARITHMETIC = "tflite_micro"  # what generated C computes


class CQemuRunner(ModelRunner):
    """A .tflite's generated C on a qemu board; `instructions`: per inference, in run order."""

    def __init__(self, path: Path, board: str, jobs: int, frontend, labels):
        from tinykws import __version__
        from tinykws.codegen import generate_project
        from tinykws.intmodel import intmodel_from_tflite
        from tinykws.mcu.toolchain import find_toolchain

        tfl = read_tflite(path)
        contract = resolve_contract(path, tfl, frontend, labels)
        tmp = tempfile.TemporaryDirectory(prefix="tkws_cqemu_")
        self._cleanup = weakref.finalize(self, tmp.cleanup)
        intmodel = intmodel_from_tflite(tfl, ARITHMETIC)
        project = from_codegen(generate_project(intmodel, Path(tmp.name) / "project"), intmodel)
        self.model = QemuModel(project, board, jobs=jobs, build_dir=Path(tmp.name) / "build")
        self.output_shape = contract.output.shape
        self.instructions: list[int] = []
        softmax = bool(intmodel.ops) and intmodel.ops[-1].kind == "softmax"
        tools = find_toolchain().describe()
        b = QEMU_BOARDS[board]
        self.info = runner_info(
            f"c-qemu-{b.core.name.removeprefix('cortex-')}",
            f"tinykws generated C on qemu {board} ({b.core.name}), gcc -O2, qemu {tools['qemu']}",
            str(path), contract, softmax, ARITHMETIC, __version__,
            facts={"board": board, "arena_bytes": project.arena_bytes,
                   "flash_bytes": self.model.firmware.sizes.flash},
        )

    def run(self, inputs: np.ndarray) -> np.ndarray:
        result = self.model.run(np.asarray(inputs))
        self.instructions.extend(int(v) for v in result.instructions)
        # The facts travel with the runner's info into evaluation results (JSON).
        self.info.facts.update(instructions_per_inference_min=min(self.instructions),
                               instructions_per_inference_max=max(self.instructions),
                               inferences_run=len(self.instructions))
        return result.outputs.reshape((len(result.outputs), *self.output_shape))

    def time_inferences(self, inputs: np.ndarray, count: int, warmup: int = 0) -> InferenceTiming:
        """`count` inferences of the input in one qemu run: the exact instructions of each
        tkws_invoke call, summed; seconds under the core's reference-board clock and CPI 1
        (an estimate). Warm-up changes nothing on the emulator and is not run."""
        from tinykws.profile.mcu import DEFAULT_CPI, REFERENCE_BOARDS

        if count < 1 or warmup < 0:
            raise ConfigError(f"infer needs count >= 1 and warmup >= 0, got {count} and {warmup}")
        board = QEMU_BOARDS[self.info.facts["board"]]
        clock = get_board(REFERENCE_BOARDS[board.core.name]).clock_hz
        result = self.model.run(np.repeat(np.asarray(inputs)[:1], count, axis=0))
        instructions = int(result.instructions.sum())
        return InferenceTiming(count, instructions * DEFAULT_CPI / clock,
                               f"exact instructions on qemu x CPI {DEFAULT_CPI:g} / {clock / 1e6:g} MHz",
                               instructions=instructions, estimated=True)

    def close(self) -> None:
        self._cleanup()


def _path(model: Any) -> Path:
    return tflite_path(model)


def open_c_qemu_runner(model: Any, board: str = "mps2-an386", jobs: int = 1,
                       frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> CQemuRunner:
    """The generated C of the .tflite `model` on qemu `board`, with `jobs` qemu processes."""
    return CQemuRunner(_path(model), board, jobs, frontend, labels)


def open_c_qemu_m4_runner(model: Any, jobs: int = 1, frontend=None, labels=None) -> CQemuRunner:
    """Cortex-M4F: qemu mps2-an386."""
    return open_c_qemu_runner(model, "mps2-an386", jobs, frontend, labels)


def open_c_qemu_m3_runner(model: Any, jobs: int = 1, frontend=None, labels=None) -> CQemuRunner:
    """Cortex-M3: qemu mps2-an385."""
    return open_c_qemu_runner(model, "mps2-an385", jobs, frontend, labels)


def open_c_qemu_m7_runner(model: Any, jobs: int = 1, frontend=None, labels=None) -> CQemuRunner:
    """Cortex-M7: qemu mps2-an500."""
    return open_c_qemu_runner(model, "mps2-an500", jobs, frontend, labels)
