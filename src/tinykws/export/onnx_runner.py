"""ONNX Runtime as a ModelRunner: runtime "onnxruntime".

The model is a .onnx written by `tinykws export --format onnx` (its contract rides in the
metadata entry "tinykws"), or a .tflite converted on the fly (`tinykws.export.onnx`).
`optimization` picks ONNX Runtime's graph optimization level: "all" (default) fuses the
QDQ pattern into its integer kernels (QLinearConv, ...), which requantize in float and
round half to even, so int8 outputs are close to TFLite's but not TFLite's; "none" runs
every QuantizeLinear / DequantizeLinear and float operator as written (a float simulation
of the int8 grid).
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.errors import ConfigError, EngineUnavailableError, ModelFormatError
from tinykws.eval.runner import ModelRunner, RunnerInfo, TensorSpec
from tinykws.export.onnx import METADATA_KEY, contract_metadata, tflite_to_onnx
from tinykws.formats.tflite_reader import read_tflite

OPTIMIZATIONS = {"all": "ORT_ENABLE_ALL", "basic": "ORT_ENABLE_BASIC", "none": "ORT_DISABLE_ALL"}


def _spec(d: Mapping[str, Any]) -> TensorSpec:
    return TensorSpec(tuple(d["shape"]), d["dtype"], d.get("scale"), int(d.get("zero_point") or 0))


class OnnxRuntimeRunner(ModelRunner):
    """An ONNX Runtime session on one thread."""

    def __init__(self, model_bytes: bytes, contract: Mapping[str, Any], source: str, optimization: str):
        try:
            import onnxruntime as ort
        except ImportError:
            raise EngineUnavailableError("the onnxruntime runtime needs onnxruntime; install the onnx extra "
                                         "(pip install 'tinykws[onnx]')") from None
        if optimization not in OPTIMIZATIONS:
            raise ConfigError(f"unknown optimization {optimization!r}; choose from {', '.join(OPTIMIZATIONS)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATIONS[optimization])
        try:
            self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelFormatError(f"{source}: ONNX Runtime cannot load the model ({exc})") from None
        inp, out = _spec(contract["input"]), _spec(contract["output"])
        int8 = inp.quantized
        arithmetic = "float32" if not int8 else ("onnxruntime_int8" if optimization != "none" else
                                                 "onnxruntime_qdq_float")
        version = metadata.version("onnxruntime")
        self.info = RunnerInfo(
            runtime="onnxruntime", description=f"ONNX Runtime {version} CPU, graph optimization {optimization}",
            model=source, labels=tuple(contract["labels"]), frontend=dict(contract["frontend"]), input=inp,
            output=out, output_kind=contract["output_kind"], arithmetic=arithmetic, version=version,
            contract_source="onnx metadata", facts={"onnx_optimization": optimization})
        self.input_name = self.session.get_inputs()[0].name

    def run(self, inputs: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(inputs, dtype=np.dtype(self.info.input.dtype))
        return self.session.run(None, {self.input_name: x})[0]

    def close(self) -> None:
        self.session = None


def open_onnxruntime_runner(model: Any, optimization: str = "all", frontend: str | Mapping[str, Any] | None = None,
                            labels: Sequence[str] | None = None) -> OnnxRuntimeRunner:
    """ONNX Runtime on a .onnx from `tinykws export` or on a .tflite (exported first)."""
    path = Path(model) if isinstance(model, (str, os.PathLike)) else None
    if path is None or not path.is_file():
        raise ModelFormatError(f"{model}: the onnxruntime runtime takes a .onnx or .tflite file")
    if path.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(path))
        found = {p.key: p.value for p in proto.metadata_props}
        if METADATA_KEY not in found:
            raise ModelFormatError(f"{path}: no tinykws contract in its metadata (export it with tinykws export)")
        contract = json.loads(found[METADATA_KEY])
        if labels is not None:
            contract["labels"] = list(labels)
        return OnnxRuntimeRunner(path.read_bytes(), contract, str(path), optimization)
    tfl = read_tflite(path)
    proto, _ = tflite_to_onnx(tfl, path.stem)
    contract = json.loads(contract_metadata(path, frontend, labels, tfl))
    return OnnxRuntimeRunner(proto.SerializeToString(), contract, f"{path} (as ONNX)", optimization)
