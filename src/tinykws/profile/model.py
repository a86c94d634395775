"""Profiling a model given as a file or folder: an int8 .tflite, a `tinykws quantize`
output folder (its model.tflite), or a generated C project folder (model.h and .c files).
A .tflite is imported as an integer network with TFLite Micro arithmetic, generated as C
(tinykws.codegen) into a temporary folder, and profiled (tinykws.profile.mcu).

When the model's front-end is known (its tinykws metadata or manifest, `mlperf_mfcc` for
a foreign 49x10 model as `tinykws evaluate` assumes, or the manifest.json of a generated
project) and has a C version, one keyword decision is measured too
(tinykws.profile.decision): the C front-end on one clip, the network on the features
the device computed (the profile's first input), and the post-processing of its output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinykws.codegen.postprocess import DEFAULT_WINDOW
from tinykws.errors import ConfigError, ModelFormatError
from tinykws.mcu.boards import Board
from tinykws.mcu.project import ModelProject, as_model_project
from tinykws.profile.mcu import McuProfile, emulated_board, profile_project


@dataclass(frozen=True)
class ModelContract:
    """What the decision needs besides the network: the front-end config, the network
    input's (scale, zero point), the labels, and notes on what was assumed or is missing."""

    frontend: dict[str, Any] | None
    input_quant: tuple[float, int] | None
    labels: tuple[str, ...] | None
    notes: tuple[str, ...] = ()


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


def tflite_project(path: Path, out_dir: Path) -> tuple[ModelProject, ModelContract]:
    """Generate the C project of the .tflite at `path` into `out_dir`, with its contract."""
    from tinykws.codegen import generate_project
    from tinykws.codegen.source import load_network
    from tinykws.mcu.project import from_codegen

    notes: list[str] = []
    try:
        source = load_network(path, "tflite_micro", with_frontend=True)
    except ConfigError as exc:  # a foreign model whose input is not the MLPerf MFCC's
        source = load_network(path, "tflite_micro")
        notes.append(f"no decision split: the front-end is unknown ({exc})")
    intmodel = source.model
    tensor = intmodel.input_tensors[0]
    quant = (float(tensor.scale), int(tensor.zero_point)) if tensor.scale is not None else None
    labels = (intmodel.metadata or {}).get("labels")
    contract = ModelContract(source.frontend, quant, tuple(labels) if labels else None,
                             (*source.notes, *notes))
    return from_codegen(generate_project(intmodel, out_dir), intmodel), contract


def c_project_contract(folder: Path) -> ModelContract:
    """The contract recorded in a generated project's manifest.json (if any)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return ModelContract(None, None, None, ("no decision split: the project has no manifest.json",))
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        inputs = data.get("input") or []
        quant = (float(inputs[0]["scale"]), int(inputs[0]["zero_point"])) if len(inputs) == 1 else None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{manifest}: not a tinykws C project manifest ({exc})") from None
    frontend, labels = data.get("frontend"), data.get("labels")
    notes = () if frontend else ("no decision split: the project's manifest.json names no front-end",)
    return ModelContract(frontend, quant, tuple(labels) if labels else None, notes)


def profile_model(
    model: str | os.PathLike,
    *,
    target: str = "cortex-m4",
    board: Board | None = None,
    clock_hz: float | None = None,
    cpi: float = 1.0,
    inputs_fn: Callable[[int], np.ndarray] | None = None,
    clip: str | os.PathLike | None = None,
    window: int = DEFAULT_WINDOW,
    decision: bool = True,
) -> McuProfile:
    """Profile `model` (see the module doc); inputs_fn(input_bytes) gives the int8 inputs.

    With `decision` (and a known front-end with a C version), the first input is replaced
    by the device's features of `clip` (an audio file; default a seeded clip) and the
    profile's `decision` holds the split; `window` is the smoothing window in outputs.
    """
    if window < 1:
        raise ConfigError(f"the smoothing window must be at least 1 output, got {window}")
    kind, path = resolve_model(model)
    with tempfile.TemporaryDirectory(prefix="tkws_codegen_") as tmp:
        work = Path(tmp)
        if kind == "c":
            project, contract = as_model_project(path), c_project_contract(path)
        else:
            project, contract = tflite_project(path, work / "network")
        rows = inputs_fn(project.input_bytes) if inputs_fn else None
        notes = list(contract.notes)
        pre = None
        if decision and contract.frontend and contract.input_quant:
            pre = _frontend_on_clip(contract, clip, emulated_board(target, board), work, notes)
            if pre is not None:
                first = pre[2].features.reshape(1, -1)
                rows = first if rows is None else np.concatenate([first, np.asarray(rows, np.int8)[1:]])
        profile = profile_project(project, name=Path(model).name, target=target, board=board,
                                  clock_hz=clock_hz, cpi=cpi, inputs=rows)
        split = None
        if pre is not None:
            split = _split(profile, project, contract, pre, window, work)
    return dataclasses.replace(profile, decision=split, notes=(*profile.notes, *notes))


def _frontend_on_clip(contract: ModelContract, clip, board: Board, work: Path, notes: list[str]):
    """(clip description, generated front-end, its measurement on the clip), or None with
    a note when the front-end has no C version or does not make this network's input."""
    from tinykws.codegen.frontends.generate import generate_frontend, resolve_frontend
    from tinykws.codegen.frontends.pipeline import example_clip
    from tinykws.profile.frontend_mcu import measure_frontend

    try:
        front = generate_frontend(contract.frontend, work / "frontend", input_quant=contract.input_quant)
    except ConfigError as exc:
        notes.append(f"no decision split: {exc}")
        return None
    pcm, what = example_clip(clip, resolve_frontend(contract.frontend))
    return what, front, measure_frontend(front, pcm[None], board, work_dir=work)


def _split(profile: McuProfile, project: ModelProject, contract: ModelContract, pre, window: int, work: Path):
    from tinykws.errors import TargetError
    from tinykws.profile.decision import decision_split
    from tinykws.profile.postprocess_mcu import measure_postprocess

    what, front, run = pre
    if front.feature_count != project.input_bytes:
        raise TargetError(f"the front-end makes {front.feature_count} features, the network takes "
                          f"{project.input_bytes} input bytes")
    output = np.array(profile.first_output, np.int8)
    post = measure_postprocess(np.repeat(output[None], window + 1, axis=0), window, profile.emulated_board,
                               work_dir=work)
    return decision_split(clip=what, frontend=front, pre=run, network_instructions=profile.instructions,
                          network_stack_bytes=profile.model_footprint.stack,
                          network_sizes=profile.model_footprint.sections, post=post, labels=contract.labels)
