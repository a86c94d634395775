"""The manifest: the JSON contract written beside an exported model.

It says how to feed the model and read its output: the front-end config, the labels, the
input and output quantization (shape, dtype, scale, zero point), the tensor arena TFLite
Micro needs (when measured), the file's size and SHA-256, the quantization settings and
the tinykws version. The same JSON is embedded in the .tflite as metadata "tinykws".
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tinykws import __version__
from tinykws.errors import ModelFormatError
from tinykws.fileio import write_json

MANIFEST_FORMAT = "tinykws-manifest"
MANIFEST_VERSION = 1
METADATA_NAME = "tinykws"
REQUIRED = ("format", "format_version", "model", "frontend", "labels", "input", "output", "tinykws_version")


def model_contract(model_name: str, model_kwargs: dict, frontend: dict, labels: list[str],
                   io: dict[str, Any], quant_config: dict[str, Any]) -> dict[str, Any]:
    """The part of the manifest known before the file is written (embedded as metadata)."""
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "model": {"name": model_name, "kwargs": dict(model_kwargs)},
        "frontend": dict(frontend),
        "labels": list(labels),
        "input": io["input"],
        "output": io["output"],
        "quantization": dict(quant_config),
        "tinykws_version": __version__,
    }


def file_facts(path: str | os.PathLike) -> dict[str, Any]:
    """Size in bytes and SHA-256 of the file at `path`."""
    data = Path(path).read_bytes()
    return {"file": Path(path).name, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(path: str | os.PathLike, manifest: dict[str, Any]) -> Path:
    """Atomically write `manifest` as indented JSON."""
    write_json(path, manifest)
    return Path(path)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a manifest (ModelFormatError naming the file and the problem)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(f"{p}: manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{p}: not a readable JSON manifest ({exc})") from None
    return check_manifest(data, str(p))


def check_manifest(data: Any, where: str) -> dict[str, Any]:
    """`data` if it is a tinykws manifest of a version this tinykws reads."""
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ModelFormatError(f"{where}: not a tinykws manifest")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ModelFormatError(f"{where}: manifest lacks {', '.join(missing)}")
    if not isinstance(data["format_version"], int) or data["format_version"] > MANIFEST_VERSION:
        raise ModelFormatError(f"{where}: manifest version {data['format_version']!r} is newer than this tinykws")
    labels = data["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ModelFormatError(f"{where}: manifest labels must be a non-empty list of names")
    for key in ("model", "frontend", "input", "output"):
        if not isinstance(data[key], dict):
            raise ModelFormatError(f"{where}: manifest entry {key!r} must be a mapping")
    return data


def embedded_manifest(metadata: dict[str, bytes], where: str) -> dict[str, Any]:
    """The manifest embedded in a .tflite's metadata (as `read_tflite(...).metadata`)."""
    if METADATA_NAME not in metadata:
        raise ModelFormatError(f"{where}: no {METADATA_NAME!r} metadata (not exported by tinykws)")
    try:
        data = json.loads(bytes(metadata[METADATA_NAME]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{where}: unreadable {METADATA_NAME!r} metadata ({exc})") from None
    return check_manifest(data, where)
