"""Structured pruning: whole channels (or units) removed, giving a smaller dense model of
the same family whose `model_kwargs` say so, so `build_model` rebuilds it and it
quantizes, exports and generates C like any other.

A family's *surgeon* (`compress.surgery_*`) knows which tensors a channel group touches:
the filters that produce it (and their batch norm) and every consumer that reads it (a
depthwise convolution that follows its input channels, the input columns of the next
pointwise, linear or recurrent layer). Channels are ranked within each group by a
criterion: "l1", the L1 norm of the weights that produce the channel (Li et al. 2017), or
"bn", the |gamma| of the batch norm after it (network slimming, Liu et al. 2017), for
groups that have one (others fall back to L1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Protocol

import torch
from torch import nn

from tinykws.errors import ConfigError

CRITERIA = ("l1", "bn")


@dataclass(frozen=True)
class ChannelGroup:
    """One set of channels that must be removed together: its name, its size, each
    channel's L1 and (None if there is no batch norm) batch-norm scores."""

    name: str
    size: int
    l1: torch.Tensor
    bn: torch.Tensor | None = None

    def scores(self, criterion: str) -> torch.Tensor:
        if criterion == "bn" and self.bn is not None:
            return self.bn
        return self.l1


@dataclass(frozen=True)
class ChannelPlan:
    """The channels kept in each group (sorted indices)."""

    keep: dict[str, tuple[int, ...]]

    def kept(self, group: str, size: int) -> list[int]:
        return list(self.keep.get(group, range(size)))


class Surgeon(Protocol):
    """What a model family provides for structured pruning."""

    def groups(self, model: nn.Module) -> list[ChannelGroup]:
        """Every prunable channel group with its per-channel scores."""

    def prune(self, model: nn.Module, plan: ChannelPlan) -> nn.Module:
        """A new, smaller model of the family keeping `plan`'s channels (weights copied)."""


SURGEONS: dict[str, Callable[[], Surgeon]] = {}


def register_surgeon(*model_names: str):
    """Class decorator: the surgeon of these registered models."""
    def wrap(cls):
        for name in model_names:
            SURGEONS[name] = cls
        return cls
    return wrap


def surgeon_for(model: nn.Module) -> Surgeon:
    """The surgeon of `model`'s family (ConfigError when structured pruning is not supported)."""
    from tinykws.compress import surgery_crnn, surgery_dscnn  # noqa: F401  (registration)

    name = getattr(model, "model_name", type(model).__name__)
    if name not in SURGEONS:
        raise ConfigError(f"structured pruning of {name!r} is not supported (supported: {', '.join(sorted(SURGEONS))})")
    return SURGEONS[name]()


def plan_channels(model: nn.Module, amount: float, criterion: str = "l1",
                  amounts: dict[str, float] | None = None) -> ChannelPlan:
    """Keep the ceil((1 - amount) * size) best channels of every group (at least one);
    `amounts` overrides the fraction for named groups."""
    if criterion not in CRITERIA:
        raise ConfigError(f"channel criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    keep = {}
    for group in surgeon_for(model).groups(model):
        fraction = (amounts or {}).get(group.name, amount)
        if not 0.0 <= fraction < 1.0:
            raise ConfigError(f"structured pruning amount for {group.name} must be in [0, 1), got {fraction}")
        count = max(1, math.ceil(group.size * (1.0 - fraction) - 1e-9))
        best = torch.argsort(group.scores(criterion), descending=True, stable=True)[:count]
        keep[group.name] = tuple(sorted(int(i) for i in best))
    return ChannelPlan(keep)


def prune_channels(model: nn.Module, amount: float = 0.5, criterion: str = "l1",
                   plan: ChannelPlan | None = None) -> nn.Module:
    """A smaller copy of `model` (eval mode) without the pruned channels: by `plan`, or
    the `amount` fraction of every group ranked by `criterion`."""
    was_training = model.training
    model.eval()
    plan = plan or plan_channels(model, amount, criterion)
    pruned = surgeon_for(model).prune(model, plan)
    model.train(was_training)
    return pruned.eval()


def l1_of_rows(*weights: torch.Tensor) -> torch.Tensor:
    """Per output channel (dimension 0): the L1 norm of each weight tensor's slice, summed."""
    return sum(w.detach().abs().reshape(w.shape[0], -1).sum(dim=1) for w in weights)


@torch.no_grad()
def copy_into(target: nn.Module, source: nn.Module, index: dict[str, list[tuple[int, list[int]]]]) -> None:
    """Copy every parameter and buffer of `source` into `target` (same names), keeping the
    indices `index[name]` lists as (dimension, kept indices) pairs."""
    own = dict(target.named_parameters()) | dict(target.named_buffers())
    for name, value in list(source.named_parameters()) + list(source.named_buffers()):
        if name not in own:
            raise ConfigError(f"structured pruning: {name} has no counterpart in the pruned model")
        for dim, kept in index.get(name, []):
            value = value.index_select(dim, torch.as_tensor(kept, dtype=torch.long))
        if own[name].shape != value.shape:
            raise ConfigError(f"structured pruning: {name} is {tuple(value.shape)}, the pruned model wants "
                              f"{tuple(own[name].shape)}")
        own[name].copy_(value)
