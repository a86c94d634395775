"""The "torch" runtime: a float PyTorch model (a tinykws checkpoint, a run folder, a float
.tflite imported into the zoo, or a live nn.Module) as a ModelRunner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from tinykws.errors import ConfigError, ModelFormatError
from tinykws.eval.runner import ModelRunner, RunnerInfo, TensorSpec


class TorchRunner(ModelRunner):
    """Runs `model` in eval mode on float features (B, frames, coefficients) -> logits.

    The model's train/eval mode is restored after each batch, so a training loop can
    validate its live model through it.
    """

    def __init__(self, model: torch.nn.Module, labels: Sequence[str], frontend: dict[str, Any],
                 input_shape: tuple[int, int], name: str, contract_source: str = "", notes: Sequence[str] = ()):
        self.model = model
        self.info = RunnerInfo(
            runtime="torch", description=f"PyTorch {torch.__version__}, float32", model=name, labels=tuple(labels),
            frontend=dict(frontend), input=TensorSpec(tuple(int(v) for v in input_shape), "float32"),
            output=TensorSpec((len(labels),), "float32"), output_kind="logits", arithmetic="float32",
            version=torch.__version__, contract_source=contract_source, notes=tuple(notes))

    @torch.no_grad()
    def run(self, inputs: np.ndarray) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        try:
            x = torch.as_tensor(np.asarray(inputs, dtype=np.float32)).unsqueeze(1)
            return self.model(x).float().numpy()
        finally:
            self.model.train(was_training)


def checkpoint_in(path: str | os.PathLike) -> Path:
    """The checkpoint a path names: itself, or a run folder's best.pt (else last.pt)."""
    p = Path(path)
    if p.is_dir():
        found = [p / name for name in ("best.pt", "last.pt") if (p / name).is_file()]
        if not found:
            raise ModelFormatError(f"{p}: a run folder needs best.pt or last.pt")
        return found[0]
    if not p.is_file():
        raise ModelFormatError(f"{p}: no such checkpoint, run folder or .tflite file")
    return p


def open_torch_runner(model: Any, labels: Sequence[str] | None = None, frontend: dict[str, Any] | None = None,
                      input_shape: tuple[int, int] | None = None, tflite_model: str = "ds_cnn",
                      name: str | None = None) -> TorchRunner:
    """A TorchRunner for `model`: a checkpoint (.pt), a run folder, a float .tflite
    (imported into zoo model `tflite_model`, with the MLPerf labels and that model's
    default front-end unless given), or an nn.Module with `labels`, `frontend` and
    `input_shape` (frames, coefficients)."""
    if isinstance(model, torch.nn.Module):
        if labels is None or frontend is None:
            raise ConfigError("a live torch model needs its labels and front-end to be run")
        shape = input_shape or getattr(model, "input_shape", None)
        if shape is None:
            raise ConfigError("a live torch model needs input_shape=(frames, coefficients)")
        return TorchRunner(model, labels, frontend, tuple(shape), name or getattr(model, "model_name", "model"))
    path = checkpoint_in(model)
    if path.suffix == ".tflite":
        from tinykws.audio.frontends import build_frontend
        from tinykws.data.labels import MLPERF_LABELS
        from tinykws.models import model_info
        from tinykws.models.tflite_import import import_float_tflite

        imported = import_float_tflite(path, tflite_model)
        fe = frontend or build_frontend(model_info(tflite_model).frontend).to_dict()
        return TorchRunner(imported.model.eval(), labels or MLPERF_LABELS, fe, imported.input_shape, str(path),
                           "assumed", (f"float .tflite imported as {tflite_model}",))
    from tinykws.train.checkpoint import load_model

    net, ckpt = load_model(path)
    shape = tuple(ckpt.model_kwargs.get("input_shape") or getattr(net, "input_shape"))
    return TorchRunner(net.eval(), list(ckpt.labels), ckpt.frontend, (int(shape[0]), int(shape[1])), str(path),
                       "checkpoint")
