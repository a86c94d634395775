"""How to feed a .tflite file and read its output: its front-end, labels and tensors.

Embedded tinykws metadata wins; else a manifest.json beside the file whose SHA-256
matches; else (a foreign file such as the MLPerf reference model) the front-end given, or
`mlperf_mfcc` for a 49x10 input, and the MLPerf labels, with notes saying what was assumed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.eval.runner import TensorSpec
from tinykws.export.manifest import METADATA_NAME, embedded_manifest, read_manifest
from tinykws.formats.tflite_model import Tensor, TFLiteModel

MLPERF_INPUT = (49, 10)  # frames x MFCC coefficients of the MLPerf Tiny reference model
DEFAULT_FOREIGN_FRONTEND = "mlperf_mfcc"
# `frontend="none"`: the model's input is not made from audio (images, stored features).
NO_FRONTEND = "none"


@dataclass(frozen=True)
class ModelContract:
    """Front-end config, labels and input/output tensors of a .tflite file.

    `source`: "embedded metadata", "manifest.json" or "assumed"; `notes` say what was
    assumed or overridden, in words.
    """

    frontend: dict[str, Any]
    labels: tuple[str, ...]
    input: TensorSpec
    output: TensorSpec
    source: str
    notes: tuple[str, ...] = ()


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at `path`."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tensor_spec(t: Tensor) -> TensorSpec:
    """The TensorSpec (no batch dimension) of a .tflite tensor with one scale, or float."""
    shape = tuple(int(d) for d in t.shape[1:])
    q = t.quantization
    if t.dtype == np.float32 or q is None or not q.scales.size:
        return TensorSpec(shape, np.dtype(t.dtype).name)
    if q.per_channel:
        raise UnsupportedOpError(f"tensor {t.name!r} is quantized per channel; a model input or output needs one "
                                 "scale")
    return TensorSpec(shape, np.dtype(t.dtype).name, float(q.scales[0]),
                      int(q.zero_points[0]) if q.zero_points.size else 0)


def io_tensors(tfl: TFLiteModel, where: str) -> tuple[Tensor, Tensor]:
    """The single input and output tensors of the main subgraph."""
    sg = tfl.main
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnsupportedOpError(f"{where}: only models with one input and one output can be run here "
                                 f"({len(sg.inputs)} inputs, {len(sg.outputs)} outputs)")
    return sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]


def _frontend_dict(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    from tinykws.audio.frontends import build_frontend

    if spec == NO_FRONTEND or (isinstance(spec, Mapping) and spec.get("kind") == NO_FRONTEND):
        return {"kind": NO_FRONTEND}

    return build_frontend(spec).to_dict()


def resolve_contract(path: str | os.PathLike | None, tfl: TFLiteModel,
                     frontend: str | Mapping[str, Any] | None = None,
                     labels: tuple[str, ...] | list[str] | None = None) -> ModelContract:
    """The contract of the .tflite at `path` (parsed as `tfl`; `path` None for a model
    that exists only in memory). `frontend` / `labels` given override the file's (noted)."""
    where = os.fspath(path) if path is not None else (tfl.path or "<tflite model>")
    inp, out = io_tensors(tfl, where)
    notes: list[str] = []
    manifest = None
    source = "assumed"
    if METADATA_NAME in tfl.metadata:
        manifest, source = embedded_manifest(tfl.metadata, where), "embedded metadata"
    elif path is not None:
        beside = Path(path).with_name("manifest.json")
        if beside.is_file():
            candidate = read_manifest(beside)
            if candidate.get("sha256") == file_sha256(path):
                manifest, source = candidate, "manifest.json"
            else:
                notes.append(f"ignored {beside}: it describes another file (SHA-256 differs)")
    if manifest is not None:
        names = tuple(manifest["labels"])
        fe = dict(manifest["frontend"])
        if frontend is not None:
            fe = _frontend_dict(frontend)
            notes.append(f"front-end {fe['kind']!r} given overrides the file's {manifest['frontend']!r}")
    else:
        shape = tuple(inp.shape[1:])
        if frontend is None:
            if shape not in (MLPERF_INPUT, MLPERF_INPUT + (1,)):
                raise ConfigError(f"{where}: no tinykws metadata and input shape {shape} is not the MLPerf 49x10; "
                                  "say which front-end made its input with --frontend NAME")
            frontend = DEFAULT_FOREIGN_FRONTEND
            notes.append(f"no tinykws metadata: assumed front-end {DEFAULT_FOREIGN_FRONTEND!r} "
                         f"(the MLPerf Tiny reference input, 49x10 MFCC)")
        else:
            notes.append(f"no tinykws metadata: front-end {frontend if isinstance(frontend, str) else 'given'} "
                         "from --frontend")
        fe = _frontend_dict(frontend)
        names = tuple(MLPERF_LABELS)
        if labels is None:
            notes.append("no tinykws metadata: assumed the MLPerf Tiny labels in the reference model's order ("
                         + ", ".join(MLPERF_LABELS) + ")")
    if labels is not None:
        names = tuple(labels)
    n_outputs = int(np.prod(out.shape[1:], dtype=np.int64))
    if len(names) != n_outputs:
        raise ConfigError(f"{where}: the model has {n_outputs} outputs but {len(names)} labels ({source})")
    return ModelContract(fe, names, tensor_spec(inp), tensor_spec(out), source, tuple(notes))
