"""Open a model for streaming: its streaming form when it has one, else the whole window.

    stream = open_stream("runs/ds_cnn_stream")                       # float, PyTorch
    stream = open_stream("runs/ds_cnn_stream/int8", runtime="tflm")  # int8 step in TFLite Micro

A float model (a run folder or a .pt checkpoint) streams frame by frame in PyTorch when its
network streams exactly (`FloatStreamStep`; crnn_gru_att with `CRNNStreamStep`). An int8
model (a .tflite or a `tinykws quantize` folder) streams as its int8 streaming step
(`streaming_step_tflite`) written to a temporary .tflite and opened in `runtime` (any
registered runtime that implements `ModelRunner.run_all`: reference, litert, tflm, ...).
A model that cannot stream exactly, or whose front-end normalises each clip, runs whole
windows at every hop (`WindowPosteriors`) in the same runtime; `mode="incremental"` makes
that an error instead. crnn_gru_att is exact only from a reset, so "auto" runs it by whole
windows; `mode="incremental"` runs it with its state carried (an approximation whose
distance from the windowed model bench/stream.py measures).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tinykws.audio.frontends import frontend_from_dict
from tinykws.audio.frontends.streaming import StreamingFrontend
from tinykws.errors import ConfigError
from tinykws.eval.runner import ModelRunner, open_runner, runner_options
from tinykws.formats.tflite_reader import read_tflite
from tinykws.formats.tflite_writer import write_tflite
from tinykws.stream.crnn import CRNNStreamStep
from tinykws.stream.float_step import FloatStreamStep
from tinykws.stream.plan import StreamRefusal
from tinykws.stream.posteriors import IncrementalPosteriors, PosteriorStream, WindowPosteriors
from tinykws.stream.steppers import FrameStepper, IntStepper, TorchStepper
from tinykws.stream.tflite_step import streaming_step_tflite

MODES = ("auto", "incremental", "window")
# Frames per call of the numpy runtime's step (the other engines run the one-frame step):
# its per-operator overhead dominates a one-frame step.
REFERENCE_FRAMES_PER_STEP = 5


def tflite_of(model: str | os.PathLike) -> Path | None:
    """The .tflite a path names (itself, or a `tinykws quantize` folder's model.tflite)."""
    path = Path(model)
    if path.is_dir() and (path / "model.tflite").is_file():
        return path / "model.tflite"
    return path if path.suffix == ".tflite" else None


def open_stream(model: str | os.PathLike, runtime: str | None = None, hop_ms: float | None = None,
                mode: str = "auto", crnn_mode: str = "carry", **runtime_options: Any) -> PosteriorStream:
    """A PosteriorStream for `model` (see the module docstring).

    runtime: "torch" for float models (default), any integer runtime for .tflite models
    (default "reference"); hop_ms: how often a row of scores is reported (default: every
    feature frame); runtime_options: passed to the runtime (e.g. arithmetic="tflite_micro").
    """
    if mode not in MODES:
        raise ConfigError(f"stream mode must be one of {', '.join(MODES)}, got {mode!r}")
    tflite = tflite_of(model)
    if tflite is None:
        runtime = runtime or "torch"
        if runtime != "torch":
            raise ConfigError(f"{model}: a float checkpoint runs in the torch runtime; quantize it "
                              f"(tinykws quantize) to stream it in {runtime!r}")
        clip = open_runner("torch", model)
        frontend = frontend_from_dict(clip.info.frontend)
        stepper = _try(mode, lambda: _torch_stepper(clip, frontend, crnn_mode, mode))
    else:
        runtime = runtime or "reference"
        clip = open_runner(runtime, tflite, **runtime_options)
        frontend = frontend_from_dict(clip.info.frontend)
        stepper = _try(mode, lambda: _int_stepper(tflite, clip, frontend, runtime, runtime_options))
    if stepper is None:
        return WindowPosteriors(frontend, clip, _hop_samples(frontend, hop_ms, 1))
    clip.close()
    frame = frontend.config.stride_samples if hasattr(frontend.config, "stride_samples") else None
    return IncrementalPosteriors(frontend, stepper, _hop_frames(frontend, hop_ms, frame))


def _try(mode: str, build) -> FrameStepper | None:
    if mode == "window":
        return None
    try:
        return build()
    except (StreamRefusal, ConfigError):
        if mode == "incremental":
            raise
        return None


def _torch_stepper(clip: ModelRunner, frontend, crnn_mode: str, mode: str) -> FrameStepper:
    net = clip.model  # TorchRunner
    name = getattr(net, "model_name", type(net).__name__)
    if name == "crnn_gru_att":
        if mode != "incremental":
            raise StreamRefusal("crnn_gru_att streams exactly only from a reset; with its state carried it is an "
                                "approximation, used only with mode='incremental'")
        step = CRNNStreamStep(net, crnn_mode)
        StreamingFrontend(frontend)
        return TorchStepper(step, clip.info, f"crnn_gru_att streaming ({crnn_mode} mode: the GRU state "
                                                    "carried, an approximation of the windowed model), PyTorch")
    step = FloatStreamStep.from_model(net, tuple(clip.info.input.shape[-2:]), name)
    StreamingFrontend(frontend)  # refuses a front-end that cannot stream
    return TorchStepper(step, clip.info, f"{name} float streaming step, PyTorch float32")


class _TempStepper(IntStepper):
    """An IntStepper whose step files live in a temporary folder removed on close."""

    folder: str = ""

    def close(self) -> None:
        super().close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = ""


def _int_stepper(tflite: Path, clip: ModelRunner, frontend, runtime: str, options: dict) -> FrameStepper:
    model = read_tflite(tflite)
    sizes = (1, REFERENCE_FRAMES_PER_STEP) if runtime == "reference" else (1,)
    steps = {n: streaming_step_tflite(model, n) for n in sizes}
    StreamingFrontend(frontend)  # refuses a front-end that cannot stream
    folder = tempfile.mkdtemp(prefix="tinykws-stream-")
    given = {"frontend": clip.info.frontend, "labels": list(clip.info.labels)}
    accepted = set(runner_options(runtime))
    extra = {k: v for k, v in given.items() if k in accepted}
    runners = {}
    try:
        for n, step in steps.items():
            path = Path(folder) / f"step{n}.tflite"
            write_tflite(step.model, path)
            runners[n] = open_runner(runtime, path, **options, **extra)
    except BaseException:
        for r in runners.values():
            r.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    one = steps[1]
    description = f"int8 streaming step of {tflite.name}: {runners[1].info.description}"
    stepper = _TempStepper(runners, one.state_shapes, one.state_zero_points, one.lag, description)
    stepper.folder = folder
    return stepper


def _hop_frames(frontend, hop_ms: float | None, frame_samples: int | None) -> int:
    frame_samples = frame_samples or frontend.config.stride_samples
    if hop_ms is None:
        return 1
    hop = hop_ms * frontend.sample_rate / 1000.0
    frames = hop / frame_samples
    if frames < 1 or abs(frames - round(frames)) > 1e-9:
        raise ConfigError(f"--hop-ms {hop_ms} is not a whole number of the front-end's "
                          f"{1000 * frame_samples / frontend.sample_rate:g} ms frames")
    return int(round(frames))


def _hop_samples(frontend, hop_ms: float | None, default_frames: int) -> int:
    if hop_ms is None:
        return int(frontend.config.stride_samples) * default_frames
    samples = hop_ms * frontend.sample_rate / 1000.0
    if samples < 1 or abs(samples - round(samples)) > 1e-9:
        raise ConfigError(f"--hop-ms {hop_ms} is not a whole number of samples")
    return int(round(samples))
