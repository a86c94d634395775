"""BC-ResNet (Kim et al. 2021, "Broadcasted Residual Learning for Efficient Keyword Spotting").

Layout (batch, channels, time, freq): frequency is the *last* axis here (the paper and its
code put it first), so every kernel is written (time, freq). Per block: a frequency-wise
depthwise conv + SubSpectralNorm (the 2-D part f2), its mean over frequency goes through a
temporal depthwise (dilated) conv + BN + SiLU + 1x1 conv + channel dropout (the 1-D part
f1), which is broadcast back over frequency and added to f2's output (and to the input in
non-transition blocks), then ReLU.

Widths for BC-ResNet-tau with base b = 8 tau: head 2b, stages b, 1.5b, 2b, 2.5b (2, 2, 4, 4
blocks; stages 2 and 3 halve the frequency axis; dilation 1, 2, 4, 8 along time),
classifier 4b. Made for 40 log-mel bands: the frequency axis goes 40 -> 20 -> 10 -> 5 -> 1.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from tinykws.errors import ConfigError
from tinykws.models.layers import GlobalAvgPool, PaddedConv2d, SubSpectralNorm, as_4d
from tinykws.models.registry import ModelInfo, register_model

BLOCKS_PER_STAGE = (2, 2, 4, 4)
STRIDED_STAGES = (1, 2)


class BCResBlock(nn.Module):
    """One broadcasted-residual block; a transition block (channel change) first maps the
    channels with 1x1 conv + BN + ReLU and has no identity shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, freq_stride: int, dilation: int,
        dropout: float, ssn_groups: int, time_padding: str,
    ):
        super().__init__()
        self.transition = in_channels != out_channels
        if not self.transition and freq_stride != 1:
            raise ConfigError("a BC-ResNet block that keeps its channels cannot stride")
        self.expand = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        ) if self.transition else nn.Identity()
        self.freq_dw = PaddedConv2d(
            out_channels, out_channels, (1, 3), (1, freq_stride), groups=out_channels, bias=False,
            time_padding=time_padding,
        )
        self.ssn = SubSpectralNorm(out_channels, ssn_groups)
        self.time_dw = PaddedConv2d(
            out_channels, out_channels, (3, 1), dilation=(dilation, 1), groups=out_channels,
            bias=False, time_padding=time_padding,
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.SiLU()
        self.pointwise = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.drop = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        two_d = self.ssn(self.freq_dw(self.expand(x)))
        one_d = two_d.mean(dim=3, keepdim=True)  # (B, C, T, 1)
        one_d = self.drop(self.pointwise(self.act(self.bn(self.time_dw(one_d)))))
        out = two_d + one_d  # broadcast over frequency
        if not self.transition:
            out = out + shortcut
        return torch.relu(out)


class BCResNet(nn.Module):
    """BC-ResNet-`tau` on (batch, 1, frames, mel bands) -> logits."""

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        tau: float = 1,
        dropout: float = 0.1,
        ssn_groups: int = 5,
        causal: bool = False,
    ):
        super().__init__()
        base = int(8 * tau)
        widths = [2 * base, base, int(1.5 * base), 2 * base, int(2.5 * base), 4 * base]
        time_padding = "causal" if causal else "same"
        _, features = (int(v) for v in input_shape)
        bands = self._bands(features, ssn_groups)

        self.head = nn.Sequential(
            PaddedConv2d(1, widths[0], 5, (1, 2), bias=False, time_padding=time_padding),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        blocks = []
        channels = widths[0]
        for stage, count in enumerate(BLOCKS_PER_STAGE):
            for i in range(count):
                stride = 2 if stage in STRIDED_STAGES and i == 0 else 1
                blocks.append(BCResBlock(
                    channels, widths[stage + 1], stride, 2 ** stage, dropout, ssn_groups, time_padding
                ))
                channels = widths[stage + 1]
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            # Collapses the remaining frequency bands (5 for 40 mel bands).
            PaddedConv2d(channels, channels, (5, bands), groups=channels, bias=False,
                         time_padding=time_padding, freq_padding="valid"),
            nn.Conv2d(channels, widths[5], 1, bias=False),
            nn.BatchNorm2d(widths[5]),
            nn.ReLU(),
            GlobalAvgPool(),
        )
        self.fc = nn.Linear(widths[5], num_classes)
        self.input_shape = tuple(input_shape)

    @staticmethod
    def _bands(features: int, groups: int) -> int:
        """Frequency bins left after the head and the two strided stages; each stage's
        bins must split into `groups` sub-bands."""
        sizes = [math.ceil(features / 2)]  # after the head
        for _ in STRIDED_STAGES:
            sizes.append(math.ceil(sizes[-1] / 2))
        if any(s % groups for s in sizes):
            raise ConfigError(
                f"BC-ResNet on {features} features gives {sizes} frequency bins per stage, "
                f"not all divisible by ssn_groups={groups} (use 40 mel bands)"
            )
        return sizes[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.head(as_4d(x)))
        return self.fc(self.classifier(x))


# Paper parameter counts (12 classes, 40 mel bands): 9.2 K, 27.3 K, 54.2 K, 188 K, 321 K.
_BUDGETS = {1: 9_600, 2: 28_500, 3: 57_000, 6: 195_000, 8: 335_000}


def _builder(tau: int) -> Callable[..., BCResNet]:
    def build(
        num_classes: int = 12,
        input_shape: Sequence[int] = (101, 40),
        dropout: float = 0.1,
        ssn_groups: int = 5,
        causal: bool = False,
    ) -> BCResNet:
        return BCResNet(num_classes, input_shape, tau, dropout, ssn_groups, causal)

    build.__name__ = f"bc_resnet_{tau}"
    build.__doc__ = f"BC-ResNet-{tau} (base width {8 * tau}) on 40 log-mel bands."
    return build


for _tau, _budget in _BUDGETS.items():
    # int8: SubSpectralNorm becomes a 1x1 depthwise convolution over channels x frequency
    # bins, SiLU LOGISTIC then MUL (tests/unit/test_export_zoo.py).
    register_model(f"bc_resnet_{_tau}", ModelInfo(
        frontend="logmel", input_shape=(101, 40), stream="window", quantizable=True,
        param_budget=_budget,
        description=f"BC-ResNet-{_tau}: broadcasted residual blocks, SubSpectralNorm, 40 log-mel",
    ))(_builder(_tau))
