"""Plots and a validation report for a finished training run (what `tinykws train` writes)."""

from __future__ import annotations

from tinykws.audio.frontends import frontend_from_dict
from tinykws.eval.evaluate import score_outputs
from tinykws.eval.runner import run_batches
from tinykws.fileio import write_json
from tinykws.report.plots import evaluation_plots, training_curves_png
from tinykws.train.batches import TrainData, clip_features, source_arrays
from tinykws.train.loop import TrainResult
from tinykws.train.runner import open_torch_runner


def run_plots(result: TrainResult, data: TrainData) -> dict[str, str]:
    """Training curves, and confusion/ROC (PNG) plus validation.json of best.pt on the
    validation clips, written into the run folder; returns name -> path."""
    written = {"curves": str(training_curves_png(result.history, result.run_dir / "curves.png"))}
    if data.validation is None or not result.best_path.is_file():
        return written
    runner = open_torch_runner(result.best_path)
    clips, targets = source_arrays(data.validation)
    features = clip_features(clips, data.kind, frontend_from_dict(runner.info.frontend).torch_module())
    evaluation = score_outputs(run_batches(runner, features), runner.info, targets)
    write_json(result.run_dir / "validation.json", evaluation.to_dict())
    plots = evaluation_plots(evaluation, result.run_dir, prefix="validation_")
    written.update({k: str(v) for k, v in plots.items()})
    written["validation_json"] = str(result.run_dir / "validation.json")
    return written
