"""Scoring a runner on labelled features, and saving its raw outputs.

    ev = evaluate_folder("model.tflite", DIR, runtime="tflm")     # open, make features, run, score
    ev.result.top1, ev.outputs, ev.info.facts["arena_bytes"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.eval.dataset import LabelledFeatures
from tinykws.eval.metrics import EvalResult, compute_metrics
from tinykws.eval.runner import ModelRunner, RunnerInfo, output_scores, run_batches, runner_inputs


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One runner on one set: metrics, raw outputs (data order) and what was run."""

    info: RunnerInfo
    result: EvalResult
    outputs: np.ndarray
    data: LabelledFeatures

    def to_dict(self) -> dict[str, Any]:
        """The metrics' JSON plus the runner's description and the clips left out."""
        return {**self.result.to_dict(), **self.info.to_dict(), "skipped_unreadable": list(self.data.skipped)}


def score_outputs(outputs: np.ndarray, info: RunnerInfo, targets: np.ndarray) -> EvalResult:
    """Metrics of raw outputs against the true labels."""
    return compute_metrics(output_scores(outputs, info), targets, info.labels)


def evaluate_runner(runner: ModelRunner, data: LabelledFeatures, batch_size: int = 256,
                    progress: bool = False) -> Evaluation:
    """Run `runner` on `data`'s features (quantized to its input) and score it."""
    inputs = runner_inputs(data.features, runner.info.input, runner.info.model)
    outputs = run_batches(runner, inputs, batch_size, progress, desc=runner.info.runtime)
    return Evaluation(runner.info, score_outputs(outputs, runner.info, data.targets), outputs, data)


def evaluate_folder(model: Any, data_dir: str | os.PathLike, runtime: str = "torch", split: str = "test",
                    layout: str = "auto", batch_size: int = 256, progress: bool = False,
                    skip_unreadable: bool = False, **options: Any) -> Evaluation:
    """Open `model` in `runtime` (with its `options`) and score it on the clean clips of
    `split` of `data_dir`, features made with the model's own front-end (unreadable clips
    named in one DataError, or left out with `skip_unreadable`)."""
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.eval.dataset import dataset_features
    from tinykws.eval.runner import open_runner

    with open_runner(runtime, model, **options) as runner:
        data = dataset_features(data_dir, split, frontend_from_dict(runner.info.frontend), runner.info.labels,
                                layout=layout, batch_size=batch_size, progress=progress,
                                skip_unreadable=skip_unreadable)
        return evaluate_runner(runner, data, batch_size, progress)


@dataclass(frozen=True)
class OutputFiles:
    """Where `write_outputs` put the raw outputs (.npy) and the clip order (.json)."""

    outputs: Path
    clips: Path


def outputs_json_path(path: str | os.PathLike) -> Path:
    """OUT.json beside OUT.npy (OUT.x.json for any other name)."""
    out = Path(path)
    return out.with_suffix(".json") if out.suffix == ".npy" else out.with_name(out.name + ".json")


def write_outputs(path: str | os.PathLike, evaluation: Evaluation) -> OutputFiles:
    """Atomically write the raw outputs to `path` (.npy, data order) and, beside it with
    the suffix .json, the clip names, true labels and what produced them."""
    from tinykws.fileio import staged_outputs, write_json

    out = Path(path)
    clips_path = outputs_json_path(out)
    with staged_outputs(out.parent, owned=(out.name, clips_path.name)) as stage:  # both files or neither
        with open(stage / out.name, "wb") as fh:  # a file object: np.save must not append ".npy"
            np.save(fh, np.ascontiguousarray(evaluation.outputs))
        write_json(stage / clips_path.name, {
            "outputs": out.name, "shape": list(evaluation.outputs.shape), "dtype": str(evaluation.outputs.dtype),
            **evaluation.info.to_dict(),
            "clips": list(evaluation.data.clips), "targets": evaluation.data.targets.astype(int).tolist(),
        })
    return OutputFiles(out, clips_path)
