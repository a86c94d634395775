"""crnn_gru_att: a convolutional front, a unidirectional GRU, additive attention over
time and a fully connected classifier.

The convolution is causal along time (it never looks at later frames) and the GRU runs
forward only, so the network can be evaluated frame by frame; attention pools the GRU
states of the whole window. In int8 the GRU is unrolled over the 49 time steps into
FULLY_CONNECTED, ADD, LOGISTIC, TANH, MUL and SUB (weights stored once), the attention
into FULLY_CONNECTED, TANH, SOFTMAX and BATCH_MATMUL (`quant.trace_sequence`).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from tinykws.errors import ConfigError
from tinykws.models.layers import PaddedConv2d, as_4d
from tinykws.models.registry import ModelInfo, register_model


class AdditiveAttention(nn.Module):
    """Bahdanau-style pooling over time: score_t = v . tanh(W h_t + b),
    weights = softmax over t, output = sum_t weights_t h_t.
    (batch, time, hidden) -> (batch, hidden)."""

    def __init__(self, hidden: int, attention: int):
        super().__init__()
        self.proj = nn.Linear(hidden, attention)
        self.score = nn.Linear(attention, 1, bias=False)
        # Set by `record_attention`: the last forward's weights (batch, time) are kept for
        # attention distillation.
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(torch.tanh(self.proj(h))).squeeze(-1), dim=1)
        if self.keep_weights:
            self.last_weights = weights
        return torch.bmm(weights.unsqueeze(1), h).squeeze(1)

    def macs(self, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
        """Multiply-accumulates of the weighted sum (the two Linear layers count themselves)."""
        _, time, hidden = inputs[0].shape
        return int(time * hidden)


class CRNNGRUAttention(nn.Module):
    """Conv (causal in time) + BN + ReLU -> GRU -> additive attention -> dropout -> FC."""

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        conv_channels: int = 16,
        conv_kernel: Sequence[int] = (5, 3),
        freq_stride: int = 2,
        hidden: int = 64,
        attention: int = 32,
        dropout: float = 0.1,
        time_stride: int = 1,
    ):
        super().__init__()
        _, features = (int(v) for v in input_shape)
        if time_stride > conv_kernel[0]:
            raise ConfigError(f"crnn_gru_att: time_stride {time_stride} skips frames the kernel "
                              f"({conv_kernel[0]} frames) never sees")
        self.conv = PaddedConv2d(
            1, conv_channels, tuple(conv_kernel), (time_stride, freq_stride), bias=False, time_padding="causal"
        )
        self.bn = nn.BatchNorm2d(conv_channels)
        conv_features = conv_channels * math.ceil(features / freq_stride)
        self.gru = nn.GRU(conv_features, hidden, batch_first=True)
        self.attention = AdditiveAttention(hidden, attention)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, num_classes)
        self.input_shape = tuple(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(as_4d(x))))  # (B, C, T, F')
        b, c, t, f = x.shape
        x = x.permute(0, 2, 1, 3).reshape(b, t, c * f)
        states, _ = self.gru(x)
        return self.fc(self.drop(self.attention(states)))


@register_model("crnn_gru_att", ModelInfo(
    frontend="mlperf_mfcc", input_shape=(49, 10), stream="reset", quantizable=True,
    param_budget=40_000,
    description="causal conv 16@5x3, GRU 64, additive attention over time, FC",
))
def crnn_gru_att(
    num_classes: int = 12,
    input_shape: Sequence[int] = (49, 10),
    conv_channels: int = 16,
    conv_kernel: Sequence[int] = (5, 3),
    freq_stride: int = 2,
    hidden: int = 64,
    attention: int = 32,
    dropout: float = 0.1,
    time_stride: int = 1,
) -> CRNNGRUAttention:
    """CRNN with a GRU and attention pooling (about 31 K parameters on 49x10).

    time_stride: frames per GRU step (the convolution strides along time), which divides
    the steps, and so the recurrent MACs and the unrolled int8 network, by about as much."""
    return CRNNGRUAttention(
        num_classes, input_shape, conv_channels, conv_kernel, freq_stride, hidden, attention, dropout, time_stride
    )


def record_attention(model: nn.Module, keep: bool = True) -> list[AdditiveAttention]:
    """Make every attention pooling of `model` keep its last weights (or stop, keep=False);
    returns those modules, whose `last_weights` (batch, time) a caller reads after a forward."""
    layers = [m for m in model.modules() if isinstance(m, AdditiveAttention)]
    for layer in layers:
        layer.keep_weights = keep
        if not keep:
            layer.last_weights = None
    return layers
