"""Profiling a model given as a file or folder: an int8 .tflite, a `tinykws quantize`
output folder (its model.tflite), or a generated C project folder (model.h and .c files).
A .tflite is imported as an integer network with TFLite Micro arithmetic, generated as C
(tinykws.codegen) into a temporary folder, and profiled (tinykws.profile.mcu)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from tinykws.errors import ModelFormatError
from tinykws.mcu.boards import Board
from tinykws.mcu.project import ModelProject, as_model_project
from tinykws.profile.mcu import McuProfile, profile_project


def resolve_model(model: str | os.PathLike) -> tuple[str, Path]:
    """("c", folder) for a generated C project, ("tflite", file) for a model to generate."""
    p = Path(model)
    if p.is_dir() and (p / "model.h").is_file():
        return "c", p
    if p.is_dir() and (p / "model.tflite").is_file():
        return "tflite", p / "model.tflite"
    if p.is_file() and p.suffix == ".tflite":
        return "tflite", p
    raise ModelFormatError(f"{p}: not an int8 .tflite, a `tinykws quantize` output folder (model.tflite) "
                           "or a generated C project (model.h)")


def project_from_tflite(path: Path, out_dir: Path) -> ModelProject:
    """Generate the C project of the .tflite at `path` into `out_dir`."""
    from tinykws.codegen import generate_project
    from tinykws.intmodel import intmodel_from_tflite
    from tinykws.mcu.project import from_codegen

    intmodel = intmodel_from_tflite(path, arithmetic="tflite_micro")
    return from_codegen(generate_project(intmodel, out_dir), intmodel)


def profile_model(
    model: str | os.PathLike,
    *,
    target: str = "cortex-m4",
    board: Board | None = None,
    clock_hz: float | None = None,
    cpi: float = 1.0,
    inputs_fn: Callable[[int], np.ndarray] | None = None,
) -> McuProfile:
    """Profile `model` (see the module doc); inputs_fn(input_bytes) gives the int8 inputs."""
    kind, path = resolve_model(model)
    with tempfile.TemporaryDirectory(prefix="tkws_codegen_") as tmp:
        project = as_model_project(path) if kind == "c" else project_from_tflite(path, Path(tmp))
        inputs = inputs_fn(project.input_bytes) if inputs_fn else None
        return profile_project(project, name=Path(model).name, target=target, board=board,
                               clock_hz=clock_hz, cpi=cpi, inputs=inputs)
