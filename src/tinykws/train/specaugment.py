"""SpecAugment (Park et al. 2019) on a batch of model inputs: time and feature masks.

Applied to training batches after the front-end, so it works for any front-end and costs
almost nothing. The masks come from a generator seeded by (seed, epoch, batch), so a run is
reproducible and a resumed run masks exactly as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np
import torch

from tinykws.train.config import SpecAugmentConfig


def _masks(rng: np.random.Generator, count: int, width: int, size: int, batch: int) -> np.ndarray:
    """(batch, size) bool: `count` masks per row, each of a width uniform in [0, width]."""
    out = np.zeros((batch, size), bool)
    if count <= 0 or width <= 0 or size <= 0:
        return out
    widths = rng.integers(0, min(width, size) + 1, size=(batch, count))
    starts = rng.integers(0, size + 1, size=(batch, count))
    starts = np.minimum(starts, size - widths)
    positions = np.arange(size)
    for k in range(count):
        lo, hi = starts[:, k : k + 1], starts[:, k : k + 1] + widths[:, k : k + 1]
        out |= (positions >= lo) & (positions < hi)
    return out


def spec_augment(x: torch.Tensor, config: SpecAugmentConfig, rng: np.random.Generator) -> torch.Tensor:
    """`x` (B, 1, frames, features) with masked stretches set to each clip's mean."""
    if not config.enabled or x.shape[0] == 0:
        return x
    b, _, frames, feats = x.shape
    time = torch.from_numpy(_masks(rng, config.time_masks, config.time_width, frames, b))
    freq = torch.from_numpy(_masks(rng, config.freq_masks, config.freq_width, feats, b))
    mask = (time[:, None, :, None] | freq[:, None, None, :]).to(x.device)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return torch.where(mask, mean.expand_as(x), x)


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The masks' generator for one training batch."""
    return np.random.default_rng([int(seed), int(epoch), int(batch), 0x5BEC])
