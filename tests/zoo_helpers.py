"""Zoo models with non-trivial batch-norm statistics, for tests that compare two forms of
one network (a fresh BN is an identity, which would hide mistakes in folding or streaming)."""

from __future__ import annotations

import torch
from torch import nn

from tinykws.models import build_model


def randomized_model(name: str, **kwargs) -> nn.Module:
    """Zoo model `name` (eval mode, seeded weights) with random running means and variances."""
    torch.manual_seed(0)
    model = build_model(name, **kwargs)
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()
