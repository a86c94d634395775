"""Generated C on the host as a ModelRunner: runtime "c-host".

The .tflite is imported in the named arithmetic (TFLite Micro's by default, what
generated C is meant to match), generated as C once, compiled with the host compiler
(cached), and every batch runs in one process (`tinykws.codegen.host`). `emulate_dsp`
compiles the Cortex-M DSP path with C models of its intrinsics.
"""

from __future__ import annotations

import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.codegen.host import build_host, host_compiler, run_host_build
from tinykws.codegen.project import generate_project
from tinykws.errors import ConfigError
from tinykws.eval.runner import InferenceTiming, ModelRunner, RunnerInfo
from tinykws.export.contract import resolve_contract, tflite_path
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel import intmodel_from_tflite


class CHostRunner(ModelRunner):
    """A .tflite's generated C, compiled for this machine."""

    def __init__(self, path: Path, arithmetic: str, emulate_dsp: bool, frontend, labels):
        from tinykws import __version__

        tfl = read_tflite(path)
        contract = resolve_contract(path, tfl, frontend, labels)
        tmp = tempfile.TemporaryDirectory(prefix="tkws_chost_")
        self._cleanup = weakref.finalize(self, tmp.cleanup)
        intmodel = intmodel_from_tflite(tfl, arithmetic)
        self.project = generate_project(intmodel, Path(tmp.name) / "project")
        self.build = build_host(self.project, emulate_dsp=emulate_dsp)
        self.output_shape = contract.output.shape
        softmax = bool(intmodel.ops) and intmodel.ops[-1].kind == "softmax"
        path_name = "Cortex-M DSP path (emulated intrinsics)" if emulate_dsp else "portable C"
        self.info = RunnerInfo(
            runtime="c-host", description=f"tinykws generated C ({path_name}) built with {host_compiler()} -O2",
            model=str(path), labels=contract.labels, frontend=contract.frontend, input=contract.input,
            output=contract.output, output_kind="probabilities" if softmax else "logits", arithmetic=arithmetic,
            version=__version__, contract_source=contract.source, notes=contract.notes,
            facts={"arena_bytes": self.project.arena_bytes, "emulate_dsp": emulate_dsp},
        )

    def run(self, inputs: np.ndarray) -> np.ndarray:
        flat = run_host_build(self.build, self.project, np.asarray(inputs))
        return flat.reshape((len(flat), *self.output_shape))

    def time_inferences(self, inputs: np.ndarray, count: int, warmup: int = 0) -> InferenceTiming:
        """`count` copies of the input through one process (its start and the pipe included)."""
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


def open_c_host_runner(model: Any, arithmetic: str = "tflite_micro", emulate_dsp: bool = False,
                       frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> CHostRunner:
    """The generated C of the .tflite `model` (a path or a `tinykws quantize` folder)."""
    return CHostRunner(tflite_path(model, "the c-host runtime"), arithmetic, bool(emulate_dsp), frontend, labels)
