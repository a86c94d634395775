"""DS-CNN: a regular convolution, then depthwise-separable blocks, global average pool, FC.

`ds_cnn` is the MLPerf Tiny reference (Conv 64@10x4 stride 2, 4 x DS 64@3x3; docs/architecture.md);
`ds_cnn_m` and `ds_cnn_l` are the Hello Edge (Zhang et al. 2017, arXiv:1711.07128) medium
and large configurations, from ARM ML-KWS-for-MCU `train_commands.txt`:
M `5 172 10 4 2 1 172 3 3 2 2 172 3 3 1 1 172 3 3 1 1 172 3 3 1 1`,
L `6 276 10 4 2 1 276 3 3 2 2 276 3 3 1 1 276 3 3 1 1 276 3 3 1 1 276 3 3 1 1`
(per layer: channels, kernel time, kernel freq, stride time, stride freq).

Every convolution has a bias and TensorFlow 'SAME' padding, as in the reference Keras and
slim code, so weights from its .tflite import exactly. With `batch_norm=False` the BN layers
are identities: that is the folded network of `kws_ref_model_float32.tflite`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from tinykws.errors import ConfigError
from tinykws.models.layers import Dropout, GlobalAvgPool, PaddedConv2d, as_4d, time_frames_after, time_padding_mode
from tinykws.models.registry import ModelInfo, register_model

LayerSizes = Sequence[Sequence[int]]

DS_CNN_S: tuple[tuple[int, ...], ...] = ((64, 10, 4, 2, 2),) + ((64, 3, 3, 1, 1),) * 4
DS_CNN_M: tuple[tuple[int, ...], ...] = ((172, 10, 4, 2, 1), (172, 3, 3, 2, 2)) + ((172, 3, 3, 1, 1),) * 3
DS_CNN_L: tuple[tuple[int, ...], ...] = ((276, 10, 4, 2, 1), (276, 3, 3, 2, 2)) + ((276, 3, 3, 1, 1),) * 4


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class DSBlock(nn.Module):
    """Depthwise conv + BN + ReLU, pointwise 1x1 conv + BN + ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
        batch_norm: bool, time_padding: str,
    ):
        super().__init__()
        self.depthwise = PaddedConv2d(
            in_channels, in_channels, kernel, stride, groups=in_channels, time_padding=time_padding
        )
        self.bn_dw = _norm(in_channels, batch_norm)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)
        self.bn_pw = _norm(out_channels, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn_dw(self.depthwise(x)))
        return torch.relu(self.bn_pw(self.pointwise(x)))


class DSCNN(nn.Module):
    """DS-CNN on (batch, 1, frames, features) -> logits (batch, num_classes).

    layers: one row per layer (channels, kernel_time, kernel_freq, stride_time, stride_freq);
    the first row is a regular convolution, the others depthwise-separable blocks.
    batch_norm: False makes every BN an identity (for folded, imported weights).
    dropout: after the first convolution; final_dropout: before the pool (training only).
    causal: pad time only before the first frame (no look-ahead) instead of TF 'SAME'.
    time_valid: no padding along time at all (frequency keeps TF 'SAME'): every output frame
        sees only real input frames, so the network streams exactly, frame by frame, on every
        window (`tinykws.stream`); the final pool averages the last output frames.
    """

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int],
        layers: LayerSizes,
        batch_norm: bool = True,
        dropout: float = 0.2,
        final_dropout: float = 0.4,
        causal: bool = False,
        time_valid: bool = False,
    ):
        super().__init__()
        rows = [tuple(int(v) for v in row) for row in layers]
        if not rows or any(len(r) != 5 or min(r) < 1 for r in rows):
            raise ConfigError(
                f"DS-CNN layers must be rows of 5 positive ints (channels, kt, kf, st, sf), got {layers!r}"
            )
        time_padding = time_padding_mode(causal, time_valid)
        channels, kt, kf, st, sf = rows[0]
        self.conv1 = PaddedConv2d(1, channels, (kt, kf), (st, sf), time_padding=time_padding)
        self.bn1 = _norm(channels, batch_norm)
        self.drop1 = Dropout(dropout)
        blocks = []
        for out_channels, kt, kf, st, sf in rows[1:]:
            blocks.append(DSBlock(channels, out_channels, (kt, kf), (st, sf), batch_norm, time_padding))
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.drop_final = Dropout(final_dropout)
        self.pool = GlobalAvgPool()
        self.fc = nn.Linear(channels, num_classes)
        self.input_shape = tuple(input_shape)
        if time_valid and time_frames_after(self, input_shape[0]) < 1:
            raise ConfigError(f"DS-CNN with time_valid=True needs more than {input_shape[0]} input frames: "
                              "its receptive field along time is longer than the input")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_4d(x)
        x = self.drop1(torch.relu(self.bn1(self.conv1(x))))
        x = self.drop_final(self.blocks(x))
        return self.fc(self.pool(x))


_MFCC = dict(frontend="mlperf_mfcc", input_shape=(49, 10), stream="time_valid", quantizable=True)


@register_model("ds_cnn", ModelInfo(
    **_MFCC, param_budget=24_000,
    description="MLPerf Tiny reference DS-CNN (S): conv 64@10x4/2 + 4 DS blocks, 23.8 K params",
))
@register_model("ds_cnn_s", ModelInfo(
    **_MFCC, param_budget=24_000, description="alias of ds_cnn (Hello Edge DS-CNN S)",
))
def ds_cnn(
    num_classes: int = 12,
    input_shape: Sequence[int] = (49, 10),
    layers: LayerSizes = DS_CNN_S,
    batch_norm: bool = True,
    dropout: float = 0.2,
    final_dropout: float = 0.4,
    causal: bool = False,
    time_valid: bool = False,
) -> DSCNN:
    """The MLPerf Tiny KWS reference DS-CNN (Hello Edge DS-CNN S)."""
    return DSCNN(num_classes, input_shape, layers, batch_norm, dropout, final_dropout, causal, time_valid)


@register_model("ds_cnn_m", ModelInfo(
    **_MFCC, param_budget=145_000,
    description="Hello Edge DS-CNN M: conv 172@10x4/(2,1) + 4 DS blocks of 172",
))
def ds_cnn_m(
    num_classes: int = 12,
    input_shape: Sequence[int] = (49, 10),
    layers: LayerSizes = DS_CNN_M,
    batch_norm: bool = True,
    dropout: float = 0.2,
    final_dropout: float = 0.4,
    causal: bool = False,
    time_valid: bool = False,
) -> DSCNN:
    """Hello Edge DS-CNN M (about 138 K parameters on 49x10)."""
    return DSCNN(num_classes, input_shape, layers, batch_norm, dropout, final_dropout, causal, time_valid)


@register_model("ds_cnn_l", ModelInfo(
    **_MFCC, param_budget=425_000,
    description="Hello Edge DS-CNN L: conv 276@10x4/(2,1) + 5 DS blocks of 276",
))
def ds_cnn_l(
    num_classes: int = 12,
    input_shape: Sequence[int] = (49, 10),
    layers: LayerSizes = DS_CNN_L,
    batch_norm: bool = True,
    dropout: float = 0.2,
    final_dropout: float = 0.4,
    causal: bool = False,
    time_valid: bool = False,
) -> DSCNN:
    """Hello Edge DS-CNN L (about 417 K parameters on 49x10)."""
    return DSCNN(num_classes, input_shape, layers, batch_norm, dropout, final_dropout, causal, time_valid)
