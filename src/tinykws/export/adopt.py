"""Give a foreign int8 .tflite (e.g. the MLPerf Tiny reference model) a tinykws contract.

    result = adopt_tflite("kws_ref_model.tflite", "out/model.tflite", "mlperf_mfcc", MLPERF_LABELS,
                          model_name="mlperf_kws_ref")

The file is parsed (`read_tflite`) and written again by tinykws' own writer with the
model contract (front-end, labels, input/output quantization) embedded as "tinykws"
metadata, and a manifest.json beside it, exactly like a model tinykws quantized itself.
Tensors, constants, quantization and operators are carried over unchanged, so every
engine computes the same outputs; what changes is the flatbuffer layout (tinykws does not
write shape signatures, and lays buffers out its own way) and the added metadata.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.export.manifest import METADATA_NAME, model_contract
from tinykws.export.tflite import ExportResult, write_export_manifest
from tinykws.formats.tflite_model import Subgraph, TFLiteModel
from tinykws.formats.tflite_reader import read_tflite
from tinykws.formats.tflite_writer import write_tflite


def tensor_contract(sg: Subgraph, index: int) -> dict[str, Any]:
    """{"shape", "dtype", "scale", "zero_point"} of tensor `index` (as in a manifest)."""
    t = sg.tensors[index]
    q = t.quantization
    if q is None or q.per_channel:
        raise UnsupportedOpError(f"tensor {t.name!r} must have one quantization scale to be described")
    return {"shape": list(t.shape), "dtype": t.type_name.lower(), "scale": float(q.scales[0]),
            "zero_point": int(q.zero_points[0])}


def adopt_tflite(source: str | os.PathLike, dest: str | os.PathLike, frontend: str | Mapping[str, Any],
                 labels: Sequence[str], model_name: str | None = None, manifest_path: str | os.PathLike | None = None,
                 arena: bool = True) -> ExportResult:
    """Re-write the int8 .tflite `source` to `dest` with embedded tinykws metadata and a
    manifest (default `manifest.json` beside `dest`). `frontend`: a preset name or config
    dict; `labels`: one per output. `arena`: run TFLite Micro once to measure its arena."""
    from tinykws.audio.frontends import build_frontend

    tfl: TFLiteModel = read_tflite(source)
    sg = tfl.main
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnsupportedOpError(f"{source}: only one-input, one-output models can be adopted")
    io = {"input": tensor_contract(sg, sg.inputs[0]), "output": tensor_contract(sg, sg.outputs[0])}
    classes = 1
    for d in io["output"]["shape"][1:]:
        classes *= int(d)
    if len(labels) != classes:
        raise ConfigError(f"{source}: {classes} outputs but {len(labels)} labels")
    fe = build_frontend(frontend).to_dict()
    name = model_name or Path(source).stem
    contract = model_contract(name, {}, fe, list(labels), io, {"source": "imported", "file": Path(source).name})
    metadata = dict(tfl.metadata)
    metadata[METADATA_NAME] = json.dumps(contract, sort_keys=True).encode("utf-8")
    adopted = replace(tfl, metadata=metadata, description=f"tinykws: adopted {Path(source).name}", path=None)
    dest = Path(dest)
    size = write_tflite(adopted, dest)
    return write_export_manifest(dest, size, contract, arena, manifest_path)
