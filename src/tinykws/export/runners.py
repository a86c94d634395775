"""The .tflite runtimes as ModelRunners: "reference" (the tinykws numpy integer runtime, in
either arithmetic), "litert" (ai-edge-litert, reference kernels by default) and "tflm"
(the TFLite Micro Python interpreter, which also reports its tensor arena).

Each takes a .tflite path (or, for "reference", a parsed TFLiteModel or an IntModel with
its labels and front-end) and resolves its contract (`export.contract`).
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.errors import ConfigError, EngineUnavailableError, ModelFormatError
from tinykws.eval.runner import ModelRunner, RunnerInfo
from tinykws.export.contract import ModelContract, resolve_contract
from tinykws.export.engines import LiteRTEngine, TFLMEngine
from tinykws.fixedpoint.arithmetic import DEFAULT_ARITHMETIC, check_arithmetic
from tinykws.formats.tflite_model import TFLiteModel
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel import IntModel, intmodel_from_tflite, run

# LiteRT kernel set -> (OpResolverType, the arithmetic it computes). Only "reference" is
# TFLite's reference arithmetic; the others are measured to differ on some inputs.
LITERT_KERNELS = {
    "reference": ("BUILTIN_REF", "litert_ref"),
    "optimized": ("BUILTIN_WITHOUT_DEFAULT_DELEGATES", "litert_optimized"),
    "xnnpack": ("AUTO", "xnnpack"),
}
_INSTALL_HINT = "; install the tflite extra (pip install 'tinykws[tflite]') or use --runtime reference"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def ends_in_softmax(tfl: TFLiteModel) -> bool:
    """True when the model's (first) output is computed by SOFTMAX: probabilities, not logits."""
    sg = tfl.main
    producers = [op for op in sg.operators if sg.outputs[0] in op.outputs]
    return bool(producers) and producers[0].opcode == "SOFTMAX"


def runner_info(runtime: str, description: str, model: str, contract: ModelContract, softmax: bool, arithmetic: str,
          version: str, facts: dict[str, Any] | None = None) -> RunnerInfo:
    """The RunnerInfo of a runtime running the .tflite `model` under `contract`."""
    return RunnerInfo(runtime=runtime, description=description, model=model, labels=contract.labels,
                      frontend=contract.frontend, input=contract.input, output=contract.output,
                      output_kind="probabilities" if softmax else "logits", arithmetic=arithmetic, version=version,
                      contract_source=contract.source, notes=contract.notes, facts=dict(facts or {}))


def _parsed(model: str | os.PathLike | TFLiteModel) -> tuple[Path | None, TFLiteModel]:
    if isinstance(model, TFLiteModel):
        return (Path(model.path) if model.path else None), model
    path = Path(model)
    if path.is_dir():
        path = path / "model.tflite"  # a `tinykws quantize` output folder
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such .tflite file")
    return path, read_tflite(path)


class ReferenceRunner(ModelRunner):
    """The tinykws numpy integer runtime on an IntModel."""

    def __init__(self, intmodel: IntModel, info: RunnerInfo):
        self.intmodel = intmodel
        self.info = info

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return run(self.intmodel, inputs).output

    def run_all(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        return run(self.intmodel, list(inputs)).outputs


def open_reference_runner(model: Any, arithmetic: str = DEFAULT_ARITHMETIC,
                          frontend: str | Mapping[str, Any] | None = None,
                          labels: Sequence[str] | None = None) -> ReferenceRunner:
    """The numpy integer runtime for a .tflite path, a parsed TFLiteModel, or an IntModel
    (then `frontend` and `labels` are required), computing `arithmetic`."""
    from tinykws import __version__

    check_arithmetic(arithmetic)
    description = f"tinykws numpy integer runtime, arithmetic {arithmetic}"
    if isinstance(model, IntModel):
        if frontend is None or labels is None:
            raise ConfigError("an in-memory integer network needs its front-end and labels to be run")
        if model.arithmetic != arithmetic:
            raise ConfigError(f"the integer network was built for arithmetic {model.arithmetic!r}, not {arithmetic!r}")
        from tinykws.eval.runner import TensorSpec

        def spec(tensor) -> TensorSpec:
            return TensorSpec(tuple(tensor.shape[1:]), np.dtype(tensor.dtype).name, tensor.scale, tensor.zero_point)

        contract = ModelContract(dict(frontend), tuple(labels), spec(model.input_tensors[0]),
                                 spec(model.output_tensors[0]), "given")
        softmax = bool(model.ops) and model.ops[-1].kind == "softmax"
        name = str(model.metadata.get("source", "integer network"))
        return ReferenceRunner(model, runner_info("reference", description, name, contract, softmax, arithmetic,
                                            __version__))
    path, tfl = _parsed(model)
    contract = resolve_contract(path, tfl, frontend, labels)
    info = runner_info("reference", description, str(path or tfl.path), contract, ends_in_softmax(tfl), arithmetic,
                 __version__)
    return ReferenceRunner(intmodel_from_tflite(tfl, arithmetic), info)


class _EngineRunner(ModelRunner):
    def __init__(self, engine, info: RunnerInfo):
        self.engine = engine
        self.info = info

    def run(self, inputs: np.ndarray) -> np.ndarray:
        return self.engine.run(inputs)

    def run_all(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        return tuple(self.engine.run_all(list(inputs)))

    def run_steps(self, frames: Sequence[np.ndarray], state: Sequence[np.ndarray]
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.engine.run_steps(list(frames), list(state))  # one call of the engine's child process

    def close(self) -> None:
        self.engine.close()


def open_litert_runner(model: Any, kernels: str = "reference", frontend: str | Mapping[str, Any] | None = None,
                       labels: Sequence[str] | None = None) -> ModelRunner:
    """ai-edge-litert on a .tflite path with `kernels` "reference" (BUILTIN_REF, TFLite's
    reference arithmetic), "optimized" or "xnnpack" (LiteRT's default delegate)."""
    if kernels not in LITERT_KERNELS:
        raise ConfigError(f"unknown LiteRT kernels {kernels!r}; choose from {', '.join(LITERT_KERNELS)}")
    path, tfl = _parsed(model)
    if path is None:
        raise ConfigError("LiteRT runs a .tflite file: write the model first")
    resolver, arithmetic = LITERT_KERNELS[kernels]
    contract = resolve_contract(path, tfl, frontend, labels)
    try:
        engine = LiteRTEngine(path, resolver)
    except EngineUnavailableError as exc:
        raise EngineUnavailableError(f"{exc}{_INSTALL_HINT}") from None
    info = runner_info("litert", f"ai-edge-litert {_version('ai-edge-litert')}, OpResolverType.{resolver}", str(path),
                 contract, ends_in_softmax(tfl), arithmetic, _version("ai-edge-litert"), {"litert_kernels": kernels})
    return _EngineRunner(engine, info)


def open_tflm_runner(model: Any, frontend: str | Mapping[str, Any] | None = None,
                     labels: Sequence[str] | None = None) -> ModelRunner:
    """The TFLite Micro Python interpreter on a .tflite path; `info.facts["arena_bytes"]`
    is the tensor arena it allocated."""
    path, tfl = _parsed(model)
    if path is None:
        raise ConfigError("TFLite Micro runs a .tflite file: write the model first")
    contract = resolve_contract(path, tfl, frontend, labels)
    try:
        engine = TFLMEngine(path)
    except EngineUnavailableError as exc:
        raise EngineUnavailableError(f"{exc}{_INSTALL_HINT}") from None
    info = runner_info("tflm", f"TFLite Micro Python interpreter {_version('tflite-micro')}", str(path), contract,
                 ends_in_softmax(tfl), "tflite_micro", _version("tflite-micro"),
                 {"arena_bytes": engine.arena_bytes})
    return _EngineRunner(engine, info)
