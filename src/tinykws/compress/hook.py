"""Gradual magnitude pruning inside the training loop (a `tinykws.train.hooks` hook).

Every `every_steps` steps between the schedule's start and end the masks are recomputed
from the current weights at the scheduled sparsity; after every optimiser step the
masked weights are set to zero again, so a pruned weight stays zero (its optimiser state
may move it, the mask puts it back). The masks are the hook's checkpointed state.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from tinykws.compress.magnitude import gradual_sparsity, magnitude_masks, prunable_parameters, sparsity_report
from tinykws.train.config import PruneSection


class MagnitudePruningHook:
    """Prunes `model` while it trains, as `section` says; `steps_per_epoch` converts the
    schedule's epochs to steps."""

    name = "magnitude_pruning"

    def __init__(self, section: PruneSection, steps_per_epoch: int):
        section.validate()
        self.section = section
        self.start = int(math.floor(section.start_epoch * steps_per_epoch))
        self.end = max(self.start, int(math.ceil(section.end_epoch * steps_per_epoch)))
        self.masks: dict[str, torch.Tensor] = {}
        self.sparsity = 0.0

    def final(self, step: int) -> bool:
        return step >= self.end

    def _params(self, model: nn.Module) -> dict[str, nn.Parameter]:
        return prunable_parameters(model, tuple(self.section.exclude))

    def on_start(self, model: nn.Module, step: int, total_steps: int) -> None:
        if self.masks:  # resumed: the checkpoint's weights already obey them; enforce anyway
            self.apply(model)
        else:
            self._update(model, step)

    def after_step(self, model: nn.Module, step: int) -> None:
        due = self.start <= step <= self.end and (step - self.start) % self.section.every_steps == 0
        if due or step == self.end:
            self._update(model, step)
        else:
            self.apply(model)

    def _update(self, model: nn.Module, step: int) -> None:
        target = gradual_sparsity(step, self.start, self.end, self.section.initial, self.section.amount)
        if target <= 0 and not self.masks:
            return
        params = self._params(model)
        self.masks = magnitude_masks(params, target, self.section.scope)
        self.sparsity = target
        self.apply(model)

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Zero every masked weight of `model`."""
        for name, param in self._params(model).items():
            mask = self.masks.get(name)
            if mask is not None:
                param.mul_(mask.to(param.dtype))

    def epoch_metrics(self, model: nn.Module) -> dict[str, Any]:
        layers = sparsity_report(model, tuple(self.section.exclude))
        total = sum(layer.params for layer in layers)
        nonzero = sum(layer.nonzero for layer in layers)
        return {"sparsity_target": round(self.sparsity, 6), "sparsity": 1.0 - nonzero / total,
                "sparsity_per_layer": {layer.name: round(layer.sparsity, 6) for layer in layers}}

    def state_dict(self) -> dict[str, Any]:
        return {"masks": {name: mask.clone() for name, mask in self.masks.items()},
                "sparsity": torch.tensor(self.sparsity, dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.masks = {name: mask.bool() for name, mask in dict(state.get("masks") or {}).items()}
        self.sparsity = float(state.get("sparsity", torch.tensor(0.0)))


def pruning_hooks(section: PruneSection, steps_per_epoch: int) -> list[MagnitudePruningHook]:
    """The training hooks a recipe's `prune` section asks for (none when it is off)."""
    return [MagnitudePruningHook(section, steps_per_epoch)] if section.enabled else []
