"""Unstructured magnitude pruning: masks, sparsity accounting and the gradual schedule.

The prunable weights are the matrices and kernels of convolutions, linear and recurrent
layers (parameters named `weight*` with two or more dimensions); biases and norms are
never pruned. A mask zeroes the smallest-magnitude weights of each layer ("layer") or
below one threshold shared by all layers ("global"). Zhu & Gupta's schedule (2017,
"To prune, or not to prune") raises the sparsity from s_i to s_f as
s(t) = s_f + (s_i - s_f) (1 - (t - t0) / (t1 - t0))^3 between steps t0 and t1.

Sparse weights are still stored and multiplied densely by every runtime here: sparsity
reduces the *non-zero* parameters, not the dense MACs, bytes or latency (see
`tinykws.compress.report`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import torch
from torch import nn

from tinykws.errors import ConfigError


def prunable_parameters(model: nn.Module, exclude: tuple[str, ...] = ()) -> dict[str, nn.Parameter]:
    """name -> parameter of every weight matrix or kernel, minus names matching `exclude`
    (fnmatch patterns such as "fc.*" or "conv1.weight")."""
    found = {}
    for name, param in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if not leaf.startswith("weight") or param.dim() < 2:
            continue
        if any(fnmatch.fnmatch(name, pattern) for pattern in exclude):
            continue
        found[name] = param
    if not found:
        raise ConfigError(f"{type(model).__name__}: no prunable weights (exclude {list(exclude)})")
    return found


def magnitude_masks(params: dict[str, torch.Tensor], amount: float, scope: str = "layer") -> dict[str, torch.Tensor]:
    """Boolean keep-masks that remove the fraction `amount` of the smallest |w|: of each
    tensor ("layer") or of all of them together ("global"). Ties at the threshold are
    broken by position, so exactly round(amount * count) weights go."""
    if scope not in ("layer", "global"):
        raise ConfigError(f"pruning scope must be 'layer' or 'global', got {scope!r}")
    if scope == "layer":
        return {name: _keep_largest(p.detach().abs().reshape(-1), amount).reshape(p.shape)
                for name, p in params.items()}
    flat = torch.cat([p.detach().abs().reshape(-1) for p in params.values()])
    keep = _keep_largest(flat, amount)
    masks, start = {}, 0
    for name, p in params.items():
        masks[name] = keep[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
    return masks


def _keep_largest(values: torch.Tensor, amount: float) -> torch.Tensor:
    drop = int(round(float(amount) * values.numel()))
    keep = torch.ones(values.numel(), dtype=torch.bool)
    if drop > 0:
        # stable sort: equal magnitudes (e.g. the zeros of earlier pruning) go in index order
        keep[torch.sort(values, stable=True).indices[:drop]] = False
    return keep


def gradual_sparsity(step: int, start: int, end: int, initial: float, final: float) -> float:
    """Zhu & Gupta's cubic sparsity at `step`: 0 before `start`, `initial` at it, rising
    to `final` at `end` and staying there."""
    if step < start:
        return 0.0
    if step >= end:
        return final
    progress = (step - start) / (end - start)
    return final + (initial - final) * (1.0 - progress) ** 3


@dataclass(frozen=True)
class LayerSparsity:
    """One prunable tensor: its elements, how many are non-zero, and the zero fraction."""

    name: str
    params: int
    nonzero: int

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzero / self.params if self.params else 0.0


def sparsity_report(model: nn.Module, exclude: tuple[str, ...] = ()) -> tuple[LayerSparsity, ...]:
    """Per prunable tensor: elements and non-zero elements (counted, not assumed)."""
    return tuple(LayerSparsity(name, p.numel(), int(torch.count_nonzero(p.detach())))
                 for name, p in prunable_parameters(model, exclude).items())


def nonzero_parameters(model: nn.Module) -> int:
    """Non-zero trainable parameters of `model` (every parameter, counted)."""
    return int(sum(torch.count_nonzero(p.detach()) for p in model.parameters() if p.requires_grad))
