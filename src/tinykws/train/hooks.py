"""Hooks: what a higher layer (pruning, in `tinykws.compress`) adds to the training loop.

A hook sees the live model at the start of a run (after a resume has restored it), after
every optimiser step, and at the end of every epoch, where it may add numbers to the
epoch's metrics. Its state goes into every checkpoint (under its name) and comes back on
resume, so a run interrupted and resumed computes what an uninterrupted one computes.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch


class TrainHook(Protocol):
    """The loop's side of a hook; `name` keys its state in checkpoints."""

    name: str

    def on_start(self, model: torch.nn.Module, step: int, total_steps: int) -> None:
        """Before the first step of this call (step: steps already done)."""

    def after_step(self, model: torch.nn.Module, step: int) -> None:
        """After optimiser step number `step` (1-based count of steps done)."""

    def final(self, step: int) -> bool:
        """Whether the model after `step` steps is in its final form (a candidate for best.pt)."""

    def epoch_metrics(self, model: torch.nn.Module) -> dict[str, Any]:
        """Numbers for the epoch's record in metrics.jsonl (JSON-ready)."""

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values to store in the checkpoint."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (on resume)."""
