"""Generated C on the host as a ModelRunner: "c-host".

The .tflite is imported in the chosen arithmetic, generated as C (`generate_project`),
built once with the host compiler (cached by a hash of the sources) and every batch runs
in one process (`tinykws.codegen.host`). `dsp="emulated"` builds the Cortex-M DSP path
with C models of its intrinsics instead of the portable path.
"""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.codegen.host import build_host, host_compiler, run_host_build
from tinykws.codegen.project import generate_project
from tinykws.codegen.source import tflite_path
from tinykws.errors import ConfigError
from tinykws.eval.runner import ModelRunner, RunnerInfo
from tinykws.export.contract import resolve_contract
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
        self.output_shape = contract.output.shape
        softmax = bool(intmodel.ops) and intmodel.ops[-1].kind == "softmax"
        path_text = "the Cortex-M DSP path with emulated intrinsics" if DSP_PATHS[dsp] else "the portable path"
        self.info = RunnerInfo(
            runtime="c-host",
            description=f"tinykws generated C on the host ({Path(host_compiler()).name} -O2, {path_text})",
            model=str(path), labels=contract.labels, frontend=contract.frontend, input=contract.input,
            output=contract.output, output_kind="probabilities" if softmax else "logits", arithmetic=arithmetic,
            version=__version__, contract_source=contract.source, notes=contract.notes,
            facts={"arena_bytes": self.project.arena_bytes, "param_bytes": self.project.param_bytes,
                   "dsp": dsp},
        )

    def run(self, inputs: np.ndarray) -> np.ndarray:
        outputs = run_host_build(self.build, self.project, np.asarray(inputs))
        return outputs.reshape((len(outputs), *self.output_shape))

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
