"""The "fake-quant" runtime: a QuantizedModel's float32 simulation of the int8 grid (the
model QAT trains) as a ModelRunner. It is a simulation; the exact integer arithmetic is
the "reference" runtime's."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from tinykws.errors import ConfigError
from tinykws.eval.runner import ModelRunner, RunnerInfo, TensorSpec


class FakeQuantRunner(ModelRunner):
    """Probabilities of a calibrated QuantizedModel on float features (B, frames, coefficients)."""

    def __init__(self, qmodel, labels: Sequence[str], frontend: dict[str, Any], name: str):
        self.qmodel = qmodel
        cfg = qmodel.config
        self.info = RunnerInfo(
            runtime="fake-quant",
            description=f"tinykws fake-quant simulation in float32 (weights {cfg.weight_bits}-bit, activations "
                        f"{cfg.act_bits}-bit, observer {cfg.observer})",
            model=name, labels=tuple(labels), frontend=dict(frontend),
            input=TensorSpec(tuple(qmodel.input_shape), "float32"), output=TensorSpec((len(labels),), "float32"),
            output_kind="probabilities", arithmetic="float32 simulation", version=torch.__version__)

    @torch.no_grad()
    def run(self, inputs: np.ndarray) -> np.ndarray:
        was_training = self.qmodel.training
        self.qmodel.eval()
        try:
            x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
            return self.qmodel.probabilities(x).double().numpy()
        finally:
            self.qmodel.train(was_training)


def open_fake_quant_runner(model: Any, labels: Sequence[str] | None = None,
                           frontend: dict[str, Any] | None = None) -> FakeQuantRunner:
    """A FakeQuantRunner of a QuantizedModel (with `labels` and `frontend`) or of a
    quantized checkpoint written by `save_quantized` (quantized.pt)."""
    from tinykws.quant.checkpoint import load_quantized
    from tinykws.quant.qmodel import QuantizedModel

    if isinstance(model, QuantizedModel):
        if labels is None or frontend is None:
            raise ConfigError("a live quantized model needs its labels and front-end to be run")
        return FakeQuantRunner(model, labels, frontend, model.model_name)
    ckpt = load_quantized(model)
    return FakeQuantRunner(ckpt.qmodel, labels or ckpt.labels, frontend or ckpt.frontend, str(model))
