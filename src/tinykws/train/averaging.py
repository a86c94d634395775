"""An exponential moving average of the weights (`train.ema_decay`).

The averaged copy, not the live model, is what validation scores and best.pt holds. An
average of the weights along the last stretch of training sits in a flatter region of the
loss than any single step's weights, which is known to help most when the test data differ
from the training data (Izmailov et al. 2018, SWA; Cha et al. 2021, SWAD): here, a model
trained on synthetic speech and used on real speech.

It is a training hook (`tinykws.train.hooks`), so its state is checkpointed in last.pt and
restored on resume: a resumed run averages exactly what an uninterrupted one does.
"""

from __future__ import annotations

import copy
from typing import Any

import torch


class WeightAverage:
    """`average = d * average + (1 - d) * weights` after every optimiser step, with
    d = min(decay, (1 + n) / (10 + n)) at update n (TensorFlow's warm-up, so that the first
    steps' random weights fade quickly). Batch-norm running statistics are averaged like
    the weights; integer buffers (batch counts) are copied."""

    name = "ema"

    def __init__(self, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.model: torch.nn.Module | None = None
        self.updates = 0
        self._restored: dict[str, torch.Tensor] | None = None

    def on_start(self, model: torch.nn.Module, step: int, total_steps: int) -> None:
        self.model = copy.deepcopy(model)
        for p in self.model.parameters():
            p.requires_grad_(False)
        if self._restored is not None:
            self.model.load_state_dict(self._restored)
            self._restored = None

    @torch.no_grad()
    def after_step(self, model: torch.nn.Module, step: int) -> None:
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        live = model.state_dict()
        for key, avg in self.model.state_dict().items():
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(live[key].detach(), alpha=1.0 - d)
            else:
                avg.copy_(live[key])

    def final(self, step: int) -> bool:
        return True

    def epoch_metrics(self, model: torch.nn.Module) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates,
                "weights": {k: v.detach().clone() for k, v in self.model.state_dict().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.updates = int(state["updates"])
        self._restored = state["weights"]
