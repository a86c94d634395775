"""The cost of the post-processing (`tkws_postprocess.c`: argmax and smoothing over a
window of outputs) per keyword decision on an emulated Cortex-M, and the decisions the
device made (to compare with `tinykws.codegen.postprocess.smooth_decisions`).

The wrapper's `tkws_invoke` takes one network output and writes the decision (five int32,
little-endian) as its "output". The smoother is set up on the first call (that call
also counts the set-up); every later call costs the decision itself plus the wrapper's
flag test and its 20-byte copy of the decision, a few instructions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tinykws.codegen.postprocess import DECISION_FIELDS, POSTPROCESS_FILES
from tinykws.errors import ConfigError
from tinykws.fileio import write_text
from tinykws.mcu.boards import Board
from tinykws.mcu.firmware import CProject, SectionSizes
from tinykws.profile.wrapped import run_wrapped, wrapper_project

WRAPPER_BODY = """#include <string.h>

static int8_t history[TKWS_POST_WINDOW * TKWS_POST_CLASSES];
static int32_t sums[TKWS_POST_CLASSES];
static tkws_smoother smoother;
static int ready;

int tkws_invoke(const int8_t *input, int8_t *output)
{
    tkws_decision decision;
    if (!ready) {
        if (tkws_smoother_init(&smoother, history, sums, TKWS_POST_CLASSES, TKWS_POST_WINDOW) != 0) {
            return -1;
        }
        ready = 1;
    }
    if (tkws_postprocess(&smoother, input, &decision) != 0) {
        return -1;
    }
    memcpy(output, &decision, sizeof decision);
    return 0;
}"""


@dataclass(frozen=True, eq=False)
class PostprocessMcuRun:
    """The post-processing measured on `board` over T outputs in order: instructions and
    stack per call ((T,) int64; call 0 includes the set-up), the decisions ((T, 5) int32,
    columns DECISION_FIELDS), and its own code and static RAM (the smoother's history, sums
    and struct) as section sizes (bytes)."""

    board: str
    core: str
    window: int
    classes: int
    instructions: np.ndarray
    stack_bytes: np.ndarray
    decisions: np.ndarray
    own_sizes: SectionSizes

    @property
    def per_decision(self) -> int:
        """Instructions of the last call: a full window, the oldest output leaving it."""
        return int(self.instructions[-1])


def _project(folder: Path, classes: int, window: int) -> tuple[CProject, CProject]:
    package = resources.files("tinykws.codegen") / "c"
    for name in POSTPROCESS_FILES:
        write_text(folder / name, (package / name).read_text(encoding="utf-8"))
    body = f"#define TKWS_POST_CLASSES {classes}\n#define TKWS_POST_WINDOW {window}\n{WRAPPER_BODY}"
    return wrapper_project(folder, input_bytes=classes, output_bytes=4 * len(DECISION_FIELDS),
                           includes=["tkws_postprocess.h"], body=body,
                           sources=[folder / n for n in POSTPROCESS_FILES if n.endswith(".c")],
                           include_dirs=(), what="the post-processing")


def measure_postprocess(outputs: np.ndarray, window: int, board: str | Board = "mps2-an386", *,
                        opt: str = "-O2", work_dir: str | os.PathLike | None = None) -> PostprocessMcuRun:
    """Run the post-processing over the network outputs `outputs` ((T, classes) int8, in
    arrival order; T > window gives a steady-state last call) on the qemu `board`."""
    scores = np.ascontiguousarray(outputs)
    if scores.dtype != np.int8 or scores.ndim != 2 or len(scores) < 1:
        raise ConfigError(f"outputs must be (T, classes) int8 with T >= 1, got {scores.dtype} {scores.shape}")
    if window < 1:
        raise ConfigError(f"the smoothing window must be at least 1 output, got {window}")
    classes = scores.shape[1]
    run = run_wrapped(lambda folder: _project(folder, classes, window), scores, board, opt=opt,
                      work_dir=work_dir, what="tkws_postprocess")
    decisions = np.ascontiguousarray(run.outputs).view("<i4").reshape(len(scores), len(DECISION_FIELDS))
    return PostprocessMcuRun(board=run.board.name, core=run.board.core.name, window=window, classes=classes,
                             instructions=run.instructions, stack_bytes=run.stack_bytes,
                             decisions=decisions.astype(np.int32), own_sizes=run.own_sizes)
