"""Export a QuantizedModel as a fully int8 .tflite file with its manifest.

The file is the TFLiteModel of `tinykws.intmodel.from_quantized` (the same view the
numpy runtime executes) with the model contract (front-end config, labels, input and
output quantization) embedded as JSON metadata named "tinykws". Beside it goes
`manifest.json`: the same contract plus the file's size and SHA-256 and, when TFLite
Micro is installed, the tensor arena it needs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.errors import TinyKWSError
from tinykws.export.engines import TFLMEngine
from tinykws.export.manifest import METADATA_NAME, file_facts, model_contract, write_manifest
from tinykws.formats.tflite_writer import write_tflite
from tinykws.intmodel.from_quantized import describe, tflite_model_from_quantized


@dataclass(frozen=True)
class ExportResult:
    """Where the export went: the .tflite and manifest paths, the file size in bytes, the
    TFLite Micro arena in bytes (None when not measured, `arena_note` says why) and the
    manifest itself."""

    tflite_path: Path
    manifest_path: Path
    size_bytes: int
    arena_bytes: int | None
    manifest: dict[str, Any]
    arena_note: str = ""


@dataclass(frozen=True)
class ArenaMeasurement:
    """The tensor arena TFLite Micro allocated (bytes), or None and the reason."""

    bytes: int | None
    reason: str = ""


def measure_arena(path: str | os.PathLike) -> ArenaMeasurement:
    """Tensor arena bytes TFLite Micro allocates for the model after one inference on a
    zero input; when TFLite Micro is missing or cannot run the model, the reason."""
    from tinykws.formats.tflite_reader import read_tflite

    sg = read_tflite(path).main
    shape = sg.tensors[sg.inputs[0]].shape
    try:
        engine = TFLMEngine(path)
        engine.run(np.zeros((1, *shape[1:]), np.int8))
        return ArenaMeasurement(engine.arena_bytes)
    except TinyKWSError as exc:
        return ArenaMeasurement(None, f"TFLite Micro arena not measured: {exc}")


def export_tflite(qmodel, path: str | os.PathLike, frontend: dict, labels: list[str],
                  manifest_path: str | os.PathLike | None = None, arena: bool = True) -> ExportResult:
    """Write `qmodel` (calibrated, 8-bit activations) to `path` and its manifest beside it
    (default `manifest.json` in the same folder). `arena`: run TFLite Micro once to
    measure the tensor arena."""
    path = Path(path)
    contract = model_contract(qmodel.model_name, qmodel.model_kwargs, frontend, labels, describe(qmodel),
                              qmodel.config.to_dict())
    metadata = {METADATA_NAME: json.dumps(contract, sort_keys=True).encode("utf-8")}
    tfl = tflite_model_from_quantized(qmodel, metadata=metadata, description=f"tinykws {qmodel.model_name} int8")
    size = write_tflite(tfl, path)
    return write_export_manifest(path, size, contract, arena, manifest_path)


def write_export_manifest(path: Path, size: int, contract: dict[str, Any], arena: bool,
                          manifest_path: str | os.PathLike | None = None) -> ExportResult:
    """Measure the arena (when asked) and write the manifest of the .tflite at `path`."""
    measured = measure_arena(path) if arena else ArenaMeasurement(None, "arena not measured (not asked)")
    manifest = dict(contract, **file_facts(path), arena_bytes=measured.bytes)
    if measured.reason:
        manifest["arena_note"] = measured.reason
    manifest_path = Path(manifest_path) if manifest_path is not None else path.with_name("manifest.json")
    write_manifest(manifest_path, manifest)
    return ExportResult(path, manifest_path, size, measured.bytes, manifest, measured.reason)
