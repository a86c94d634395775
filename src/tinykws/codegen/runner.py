"""The "c-host" runtime: a .tflite's generated C (tinykws.codegen), compiled for this machine.

    runner = open_runner("c-host", "model.tflite")
    outputs = runner.run(inputs)                        # a batch, in one process

Generated C computes TFLite Micro's arithmetic. For a streaming step (a model whose first
input is the new frames and whose other inputs are its state, returned as its other
outputs), `run_steps` runs a whole sequence of steps in one process with a harness that
feeds each step's state outputs back into its state inputs, as firmware would.
"""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.codegen.cformat import c_comment
from tinykws.codegen.host import CExecutionError, build_host, run_executable, run_host_build
from tinykws.codegen.project import generate_project
from tinykws.eval.runner import ModelRunner, RunnerInfo
from tinykws.export.contract import resolve_contract
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel import intmodel_from_tflite

ARITHMETIC = "tflite_micro"


def stream_harness(name: str, state_bytes: int) -> str:
    """A main for a streaming step: stdin holds the initial state (`state_bytes`, the inputs
    after the first), then frames (the first input) one after another; stdout gets each
    step's first output, then the final state. The state outputs follow the first output
    in the order of the state inputs, with the same sizes."""
    return "\n".join([
        c_comment("tinykws streaming harness: state in, frames in, scores out, state fed back."),
        "#include <stdio.h>",
        "#include <string.h>",
        "",
        f'#include "{name}.h"',
        "",
        f"#define STATE_BYTES {int(state_bytes)}",
        "#define FRAME_BYTES (TKWS_INPUT_BYTES - STATE_BYTES)",
        "#define SCORE_BYTES (TKWS_OUTPUT_BYTES - STATE_BYTES)",
        "",
        "int main(void)",
        "{",
        "    static int8_t input[TKWS_INPUT_BYTES];",
        "    static int8_t output[TKWS_OUTPUT_BYTES];",
        "    size_t got;",
        "",
        "    if (fread(input + FRAME_BYTES, 1, STATE_BYTES, stdin) != STATE_BYTES) {",
        '        fprintf(stderr, "no initial state\\n");',
        "        return 5;",
        "    }",
        "    while ((got = fread(input, 1, FRAME_BYTES, stdin)) == FRAME_BYTES) {",
        "        if (tkws_invoke(input, output) != 0) {",
        '            fprintf(stderr, "tkws_invoke failed\\n");',
        "            return 3;",
        "        }",
        "        if (fwrite(output, 1, SCORE_BYTES, stdout) != SCORE_BYTES) {",
        "            return 4;",
        "        }",
        "        memcpy(input + FRAME_BYTES, output + SCORE_BYTES, STATE_BYTES);",
        "    }",
        "    if (got != 0) {",
        '        fprintf(stderr, "input is not a whole number of frames\\n");',
        "        return 5;",
        "    }",
        "    if (fwrite(input + FRAME_BYTES, 1, STATE_BYTES, stdout) != STATE_BYTES) {",
        "        return 4;",
        "    }",
        "    return fflush(stdout) == 0 ? 0 : 4;",
        "}",
        "",
    ])


class CHostRunner(ModelRunner):
    """Generated C of a .tflite on this machine (TFLite Micro arithmetic)."""

    def __init__(self, path: Path, frontend, labels):
        from tinykws import __version__

        tfl = read_tflite(path)
        contract = resolve_contract(path, tfl, frontend, labels)
        self.intmodel = intmodel_from_tflite(tfl, ARITHMETIC)
        tmp = tempfile.TemporaryDirectory(prefix="tkws_chost_")
        self._cleanup = weakref.finalize(self, tmp.cleanup)
        self.project = generate_project(self.intmodel, Path(tmp.name) / "project")
        self.build = build_host(self.project)
        self._stream_build = None
        softmax = bool(self.intmodel.ops) and self.intmodel.ops[-1].kind == "softmax"
        self.info = RunnerInfo(
            runtime="c-host", description=f"tinykws generated C, host compiler, {self.project.arena_bytes} B arena",
            model=str(path), labels=contract.labels, frontend=contract.frontend, input=contract.input,
            output=contract.output, output_kind="probabilities" if softmax else "logits", arithmetic=ARITHMETIC,
            version=__version__, contract_source=contract.source, notes=contract.notes,
            facts={"arena_bytes": self.project.arena_bytes})

    def run(self, inputs: np.ndarray) -> np.ndarray:
        flat = run_host_build(self.build, self.project, inputs)
        return flat.reshape(len(flat), *self.project.output_shapes[0][1:]) if len(self.project.output_shapes) == 1 \
            else flat

    def run_all(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        flat = run_host_build(self.build, self.project, [np.asarray(a) for a in inputs])[0]
        outs, start = [], 0
        for shape in self.project.output_shapes:
            size = int(np.prod(shape, dtype=np.int64))
            outs.append(flat[start:start + size].reshape(shape))
            start += size
        return tuple(outs)

    def run_steps(self, frames: Sequence[np.ndarray], state: Sequence[np.ndarray]
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        state_bytes = sum(int(np.asarray(s).size) for s in state)
        if self._stream_build is None:
            self._stream_build = build_host(self.project, harness=stream_harness(self.project.name, state_bytes))
        payload = b"".join([np.concatenate([np.asarray(s, np.int8).reshape(-1) for s in state]).tobytes()
                            if state else b"", *(np.asarray(f, np.int8).tobytes() for f in frames)])
        out = run_executable(self._stream_build, payload)
        score_shape = self.project.output_shapes[0]
        score = int(np.prod(score_shape, dtype=np.int64))
        if out.size != len(frames) * score + state_bytes:
            raise CExecutionError(f"{self._stream_build.path} wrote {out.size} bytes for {len(frames)} frames")
        scores = [out[i * score:(i + 1) * score].reshape(score_shape) for i in range(len(frames))]
        final, start = [], len(frames) * score
        for s in state:
            size = int(np.asarray(s).size)
            final.append(out[start:start + size].reshape(np.asarray(s).shape).copy())
            start += size
        return scores, final


def open_c_host_runner(model: Any, frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> CHostRunner:
    """Generated C of the .tflite at `model` (or a `tinykws quantize` folder), built with the
    host compiler (CompilerNotFoundError without one)."""
    path = Path(model)
    if path.is_dir():
        path = path / "model.tflite"
    if not path.is_file():
        from tinykws.errors import ModelFormatError

        raise ModelFormatError(f"{path}: no such .tflite file")
    return CHostRunner(path, frontend, labels)

