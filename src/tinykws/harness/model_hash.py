"""Hashes that say whether a model is the reference model: the SHA-256 of the file, and
the SHA-256 of its weights and graph.

The graph hash covers what changes the numbers a model computes: every subgraph's
operators (builtin name, version, inputs, outputs, options), its tensors (shape, type,
quantization) and every constant's bytes; not tensor names, the description or metadata,
so the same network re-serialised or re-labelled keeps its hash, and a changed weight,
scale or operator does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.formats.tflite_model import TFLiteModel
from tinykws.formats.tflite_reader import read_tflite


@dataclass(frozen=True)
class ModelHashes:
    """`file_sha256` of the bytes, `graph_sha256` of weights and graph, `size_bytes`."""

    path: str
    file_sha256: str
    graph_sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.file_sha256, "graph_sha256": self.graph_sha256,
                "size_bytes": self.size_bytes}


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def graph_sha256(tfl: TFLiteModel) -> str:
    """Hex SHA-256 of the weights and graph of a parsed .tflite (see the module doc)."""
    h = hashlib.sha256()
    for sg in tfl.subgraphs:
        for t in sg.tensors:
            q = t.quantization
            record = {"shape": list(t.shape), "type": t.type_name, "variable": t.is_variable,
                      "scales": q.scales.tolist() if q is not None else None,
                      "zero_points": q.zero_points.tolist() if q is not None else None,
                      "axis": q.quantized_dimension if q is not None else None}
            h.update(json.dumps(record, sort_keys=True).encode())
            if t.data is not None:
                h.update(np.ascontiguousarray(t.data).tobytes())
        for op in sg.operators:
            record = {"op": op.opcode, "custom": op.custom_code, "version": op.opcode_version,
                      "in": list(op.inputs), "out": list(op.outputs), "options": _plain(op.options)}
            h.update(json.dumps(record, sort_keys=True, default=str).encode())
        h.update(json.dumps({"inputs": list(sg.inputs), "outputs": list(sg.outputs)}).encode())
    return h.hexdigest()


def model_hashes(path: str | os.PathLike) -> ModelHashes:
    """The file and graph hashes of the model at `path`: a .tflite gets both; another
    file (a checkpoint, an ONNX file) or a folder (a run folder) only the SHA-256 of its
    bytes (of each file's name and bytes, in sorted order, for a folder), graph "n/a"."""
    p = Path(path)
    if p.is_dir():
        h = hashlib.sha256()
        size = 0
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            data = f.read_bytes()
            h.update(f.relative_to(p).as_posix().encode() + b"\0" + data)
            size += len(data)
        return ModelHashes(str(p), h.hexdigest(), "n/a", size)
    raw = p.read_bytes()
    graph = graph_sha256(read_tflite(p)) if p.suffix == ".tflite" else "n/a"
    return ModelHashes(str(p), hashlib.sha256(raw).hexdigest(), graph, len(raw))
