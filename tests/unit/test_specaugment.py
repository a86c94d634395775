"""SpecAugment masks: shape, fill value, bounds, determinism."""

from __future__ import annotations

import numpy as np
import torch

from tinykws.train.config import SpecAugmentConfig
from tinykws.train.specaugment import batch_rng, spec_augment


def test_masks_fill_whole_rows_and_columns_with_the_clip_mean():
    x = torch.randn(6, 1, 49, 10) + torch.arange(6.0)[:, None, None, None]
    cfg = SpecAugmentConfig(time_masks=2, time_width=8, freq_masks=1, freq_width=3)
    y = spec_augment(x, cfg, np.random.default_rng(0))
    assert y.shape == x.shape
    for i in range(6):
        changed = (y[i, 0] != x[i, 0]).numpy()
        mean = float(x[i].mean())
        assert np.allclose(y[i, 0].numpy()[changed], mean, atol=1e-5)
        masked = np.isclose(y[i, 0].numpy(), mean, atol=1e-5)
        rows = masked.all(axis=1)
        cols = masked.all(axis=0)
        # Everything masked is part of a fully masked frame or feature.
        assert np.all(masked <= (rows[:, None] | cols[None, :]))
        assert rows.sum() <= 16 and cols.sum() <= 3


def test_off_is_identity_and_same_generator_same_masks():
    x = torch.randn(4, 1, 20, 8)
    assert spec_augment(x, SpecAugmentConfig(), np.random.default_rng(0)) is x
    cfg = SpecAugmentConfig(time_masks=1, time_width=5)
    a = spec_augment(x, cfg, batch_rng(0, 1, 2))
    b = spec_augment(x, cfg, batch_rng(0, 1, 2))
    c = spec_augment(x, cfg, batch_rng(0, 1, 3))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # Feature masks alone never touch a whole frame.
    f = spec_augment(x, SpecAugmentConfig(freq_masks=1, freq_width=2), np.random.default_rng(1))
    assert not bool(((f != x).all(dim=3)).any())
