"""The integer network a C project is generated from: an int8 .tflite file, or a folder
holding model.tflite and manifest.json (as `tinykws quantize` writes), with the labels
and front-end of its tinykws manifest when there is one."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from tinykws.errors import ModelFormatError
from tinykws.export.contract import file_sha256
from tinykws.export.manifest import read_manifest
from tinykws.fixedpoint.arithmetic import check_arithmetic
from tinykws.intmodel.from_tflite import intmodel_from_tflite
from tinykws.intmodel.graph import IntModel


@dataclass(frozen=True)
class NetworkSource:
    """The network and where its labels and front-end came from ("embedded metadata",
    "manifest.json" or "none"); `notes` say what was ignored."""

    path: Path
    model: IntModel
    contract: str
    notes: tuple[str, ...]


def tflite_path(model) -> Path:
    """The .tflite a model argument names: the file, or model.tflite in a folder
    (ModelFormatError when there is none)."""
    if not isinstance(model, (str, os.PathLike)):
        raise ModelFormatError("give a .tflite path or a folder with model.tflite (as `tinykws quantize` writes)")
    p = Path(model)
    if p.is_dir():
        p = p / "model.tflite"
    if not p.is_file():
        raise ModelFormatError(f"{p}: no such .tflite file (give a .tflite or a folder with model.tflite)")
    return p


def load_network(path: str | os.PathLike, arithmetic: str = "tflite_micro") -> NetworkSource:
    """The IntModel of `path` (a .tflite, or a folder with model.tflite) for `arithmetic`.

    Raises ModelFormatError for a missing or malformed file, UnsupportedOpError for an
    operator the integer runtime cannot run, ConfigError for an unknown arithmetic.
    """
    check_arithmetic(arithmetic)
    p = tflite_path(path)
    model = intmodel_from_tflite(p, arithmetic)
    notes: list[str] = []
    if "tinykws" in (model.metadata.get("tflite_metadata") or {}):
        return NetworkSource(p, model, "embedded metadata", ())
    beside = p.with_name("manifest.json")
    if beside.is_file():
        manifest = read_manifest(beside)
        if manifest.get("sha256") in (None, file_sha256(p)):
            metadata = {**model.metadata, "labels": manifest["labels"], "frontend": manifest["frontend"]}
            return NetworkSource(p, replace(model, metadata=metadata), "manifest.json", ())
        notes.append(f"ignored {beside}: it describes another file (SHA-256 differs)")
    notes.append("no tinykws metadata: the project has no labels or front-end")
    return NetworkSource(p, model, "none", tuple(notes))
