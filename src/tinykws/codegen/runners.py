"""Generated C on the host as a ModelRunner: "c-host".

The .tflite is imported in the chosen arithmetic, generated as C (`generate_project`),
built once with the host compiler (cached by a hash of the sources) and every batch runs
in one process (`tinykws.codegen.host`). `dsp="emulated"` builds the Cortex-M DSP path
with C models of its intrinsics instead of the portable path. A streaming step (state as
extra inputs and outputs) runs a whole sequence of steps in one process (`run_steps`).
"""

from __future__ import annotations

import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.codegen.host import CExecutionError, build_host, host_compiler, run_executable, run_host_build
from tinykws.codegen.project import generate_project
from tinykws.codegen.scaffold import host_harness
from tinykws.codegen.source import tflite_path
from tinykws.errors import ConfigError
from tinykws.eval.runner import InferenceTiming, ModelRunner
from tinykws.export.contract import resolve_contract
from tinykws.export.runners import ends_in_softmax, runner_info
from tinykws.fixedpoint.arithmetic import check_arithmetic
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel.from_tflite import intmodel_from_tflite

DSP_PATHS = {"portable": False, "emulated": True}


class CHostRunner(ModelRunner):
    """A .tflite's generated C, compiled for and run on the host."""

    def __init__(self, path: Path, arithmetic: str, dsp: str, frontend, labels):
        from tinykws import __version__

        tfl = read_tflite(path)
        contract = resolve_contract(path, tfl, frontend, labels)
        intmodel = intmodel_from_tflite(tfl, arithmetic)
        tmp = tempfile.TemporaryDirectory(prefix="tkws_chost_")
        self._cleanup = weakref.finalize(self, tmp.cleanup)
        self.project = generate_project(intmodel, Path(tmp.name) / "project")
        self.build = build_host(self.project, emulate_dsp=DSP_PATHS[dsp])
        self._stream_build = None  # built on the first run_steps
        self.output_shape = contract.output.shape
        path_text = "the Cortex-M DSP path with emulated intrinsics" if DSP_PATHS[dsp] else "the portable path"
        self.info = runner_info(
            "c-host", f"tinykws generated C on the host ({Path(host_compiler()).name} -O2, {path_text})", str(path),
            contract, ends_in_softmax(tfl), arithmetic, __version__,
            {"arena_bytes": self.project.arena_bytes, "param_bytes": self.project.param_bytes, "dsp": dsp})

    def run(self, inputs: np.ndarray) -> np.ndarray:
        outputs = run_host_build(self.build, self.project, np.asarray(inputs))
        return outputs.reshape((len(outputs), *self.output_shape))

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
        """A streaming step over `frames` in one process: a harness keeps the state in C and
        feeds each step's state outputs back into its state inputs, as firmware would."""
        state_bytes = sum(int(np.asarray(s).size) for s in state)
        if self._stream_build is None:
            self._stream_build = build_host(self.project, emulate_dsp=self.build.emulate_dsp,
                                            harness=host_harness(self.project.name, state_bytes))
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

    def time_inferences(self, inputs: np.ndarray, count: int, warmup: int = 0) -> InferenceTiming:
        """`count` copies of the input through one process, timed from its start to its
        end (process start and pipe included; a few ms against runs of seconds)."""
        if count < 1 or warmup < 0:
            raise ConfigError(f"infer needs count >= 1 and warmup >= 0, got {count} and {warmup}")
        one = np.asarray(inputs)[:1]
        if warmup:
            run_host_build(self.build, self.project, np.repeat(one, warmup, axis=0))
        batch = np.repeat(one, count, axis=0)
        start = time.perf_counter()
        run_host_build(self.build, self.project, batch)
        return InferenceTiming(count, time.perf_counter() - start, "host perf_counter around one process")

    def close(self) -> None:
        self._cleanup()


def open_c_host_runner(model: Any, arithmetic: str = "tflite_micro", dsp: str = "portable",
                       frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> CHostRunner:
    """The generated C of the .tflite `model` (or a `tinykws quantize` folder) on the host,
    computing `arithmetic`, through the `dsp` path ("portable" or "emulated")."""
    check_arithmetic(arithmetic)
    if dsp not in DSP_PATHS:
        raise ConfigError(f"unknown C path {dsp!r}; choose from {', '.join(DSP_PATHS)}")
    return CHostRunner(tflite_path(model), arithmetic, dsp, frontend, labels)
