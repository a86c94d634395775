"""MatchboxNet (Majumdar & Ginsburg 2020): 1-D time-channel separable convolutions.

The features of each frame are the input channels of 1-D convolutions along time.
MatchboxNet BxRxC = B residual blocks of R sub-blocks with C channels; 3x1x64 is:
prologue TCS conv 128@k11; blocks 64@k13, 64@k15, 64@k17 (each with a 1x1 conv + BN
residual); epilogue TCS conv 128@k29 dilation 2, 1x1 conv 128; average over time; FC.

Input choice: the paper uses 64 MFCC at a 10 ms hop. Our nearest front-end is `logmel`
(40 log-mel bands, 10 ms hop, 101 frames per second), so that is the default: 40 input
channels instead of 64, which changes only the prologue's depthwise and pointwise widths.
Any feature count works (`input_shape`).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tinykws.errors import ConfigError
from tinykws.models.layers import PADDING_MODES, as_4d, axis_padding
from tinykws.models.registry import ModelInfo, register_model


class TCSConv(nn.Module):
    """Time-channel separable conv: depthwise 1-D conv along time (kernel, dilation), then
    a pointwise conv mixing channels. (batch, channels, time) -> (batch, out, time)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, dilation: int = 1,
        time_padding: str = "same",
    ):
        super().__init__()
        if time_padding not in PADDING_MODES:
            raise ConfigError(f"padding must be one of {PADDING_MODES}, got {time_padding!r}")
        self.depthwise = nn.Conv1d(
            in_channels, in_channels, kernel, dilation=dilation, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.time_padding = time_padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = axis_padding(
            x.shape[-1], self.depthwise.kernel_size[0], 1, self.depthwise.dilation[0], self.time_padding
        )
        return self.pointwise(self.depthwise(F.pad(x, (before, after))))


class MatchboxBlock(nn.Module):
    """R sub-blocks of TCS conv + BN (+ ReLU + dropout); the last adds a 1x1-conv+BN
    residual of the block input before its ReLU."""

    def __init__(
        self, in_channels: int, channels: int, kernel: int, repeats: int, dropout: float,
        time_padding: str,
    ):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(repeats):
            self.convs.append(TCSConv(in_channels if i == 0 else channels, channels, kernel,
                                      time_padding=time_padding))
            self.norms.append(nn.BatchNorm1d(channels))
        self.residual = nn.Sequential(nn.Conv1d(in_channels, channels, 1, bias=False), nn.BatchNorm1d(channels))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            y = norm(conv(y))
            if i == last:
                y = y + self.residual(x)
            y = self.drop(torch.relu(y))
        return y


class MatchboxNet(nn.Module):
    """MatchboxNet on (batch, 1, frames, features) -> logits (batch, num_classes)."""

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        channels: int = 64,
        kernels: Sequence[int] = (13, 15, 17),
        repeats: int = 1,
        prologue_channels: int = 128,
        prologue_kernel: int = 11,
        epilogue_channels: int = 128,
        epilogue_kernel: int = 29,
        epilogue_dilation: int = 2,
        dropout: float = 0.0,
        causal: bool = False,
    ):
        super().__init__()
        if repeats < 1 or not kernels:
            raise ConfigError(f"MatchboxNet needs repeats >= 1 and at least one block, got {repeats}, {kernels}")
        _, features = (int(v) for v in input_shape)
        tp = "causal" if causal else "same"
        self.prologue = nn.Sequential(
            TCSConv(features, prologue_channels, prologue_kernel, time_padding=tp),
            nn.BatchNorm1d(prologue_channels), nn.ReLU(), nn.Dropout(dropout),
        )
        blocks, width = [], prologue_channels
        for kernel in kernels:
            blocks.append(MatchboxBlock(width, channels, int(kernel), repeats, dropout, tp))
            width = channels
        self.blocks = nn.Sequential(*blocks)
        self.epilogue = nn.Sequential(
            TCSConv(width, epilogue_channels, epilogue_kernel, epilogue_dilation, time_padding=tp),
            nn.BatchNorm1d(epilogue_channels), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv1d(epilogue_channels, epilogue_channels, 1, bias=False),
            nn.BatchNorm1d(epilogue_channels), nn.ReLU(), nn.Dropout(dropout),
        )
        self.fc = nn.Linear(epilogue_channels, num_classes)
        self.input_shape = tuple(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_4d(x).squeeze(1).transpose(1, 2)  # (B, features, time): features are channels
        x = self.epilogue(self.blocks(self.prologue(x)))
        return self.fc(x.mean(dim=2))


@register_model("matchboxnet_3x1x64", ModelInfo(
    frontend="logmel", input_shape=(101, 40), stream="window", quantizable=True, param_budget=75_000,
    description="MatchboxNet 3x1x64: 1-D time-channel separable convs on 40 log-mel bands",
))
def matchboxnet_3x1x64(
    num_classes: int = 12,
    input_shape: Sequence[int] = (101, 40),
    dropout: float = 0.0,
    causal: bool = False,
) -> MatchboxNet:
    """MatchboxNet 3x1x64 (about 73 K parameters on 40 features with 12 classes)."""
    return MatchboxNet(num_classes, input_shape, dropout=dropout, causal=causal)
