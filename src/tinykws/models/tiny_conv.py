"""tiny_conv: the TensorFlow micro_speech model.

One convolution (8 filters, 10 frames x 8 features, stride 2x2, TF 'SAME', bias), ReLU,
dropout, then a fully connected layer over the flattened feature map. Its FC size depends
on the input, so `input_shape` fixes the network.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from tinykws.errors import ConfigError
from tinykws.models.layers import PaddedConv2d, as_4d, axis_output_size, time_padding_mode
from tinykws.models.registry import ModelInfo, register_model


class TinyConv(nn.Module):
    """Conv -> ReLU -> dropout -> FC on (batch, 1, frames, features).

    causal / time_valid: the convolution's time padding (see `DSCNN`); with time_valid the
    FC reads the (frames - 10) // 2 + 1 output frames that see only real input.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        filters: int = 8,
        kernel: Sequence[int] = (10, 8),
        stride: Sequence[int] = (2, 2),
        dropout: float = 0.5,
        causal: bool = False,
        time_valid: bool = False,
    ):
        super().__init__()
        frames, features = (int(v) for v in input_shape)
        time_padding = time_padding_mode(causal, time_valid)
        self.conv = PaddedConv2d(1, filters, tuple(kernel), tuple(stride), time_padding=time_padding)
        self.drop = nn.Dropout(dropout)
        out_t = axis_output_size(frames, int(kernel[0]), int(stride[0]), 1, time_padding)
        if out_t < 1:
            raise ConfigError(f"tiny_conv with time_valid=True needs at least {kernel[0]} input frames, got {frames}")
        out_f = math.ceil(features / int(stride[1]))
        self.fc = nn.Linear(filters * out_t * out_f, num_classes)
        self.input_shape = (frames, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(torch.relu(self.conv(as_4d(x))))
        # Flatten in TensorFlow's NHWC order so FC weights read from a .tflite keep their layout.
        return self.fc(x.permute(0, 2, 3, 1).flatten(1))


@register_model("tiny_conv", ModelInfo(
    frontend="micro_speech", input_shape=(49, 40), stream="time_valid", quantizable=True, param_budget=50_000,
    description="TFLite micro_speech tiny_conv: conv 8@10x8/2, FC",
))
def tiny_conv(
    num_classes: int = 12,
    input_shape: Sequence[int] = (49, 40),
    filters: int = 8,
    kernel: Sequence[int] = (10, 8),
    stride: Sequence[int] = (2, 2),
    dropout: float = 0.5,
    causal: bool = False,
    time_valid: bool = False,
) -> TinyConv:
    """micro_speech tiny_conv (48.7 K parameters on 49x40 with 12 classes)."""
    return TinyConv(num_classes, input_shape, filters, kernel, stride, dropout, causal, time_valid)
