"""Layer 6: pruning.

- unstructured magnitude pruning (per layer or global) with a gradual schedule while
  training (`MagnitudePruningHook`, from a recipe's `prune` section);
- structured pruning: channels ranked by L1 norm or batch-norm scale and removed, giving a
  smaller dense model of the same family (`prune_channels`).

    from tinykws.compress import prune_channels
    small = prune_channels(model, amount=0.5, criterion="l1")   # build_model(small.model_name, **small.model_kwargs)
"""

from tinykws.compress.channels import CRITERIA, ChannelGroup, ChannelPlan, plan_channels, prune_channels, surgeon_for
from tinykws.compress.hook import MagnitudePruningHook, pruning_hooks
from tinykws.compress.magnitude import (
    LayerSparsity,
    gradual_sparsity,
    magnitude_masks,
    nonzero_parameters,
    prunable_parameters,
    sparsity_report,
)

__all__ = [
    "CRITERIA", "ChannelGroup", "ChannelPlan", "LayerSparsity", "MagnitudePruningHook", "gradual_sparsity",
    "magnitude_masks", "nonzero_parameters", "plan_channels", "prunable_parameters", "prune_channels",
    "pruning_hooks", "sparsity_report", "surgeon_for",
]
