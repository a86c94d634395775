"""Layers shared by the zoo.

Tensors are (batch, channels, time, features): time is axis 2, frequency axis 3.
Time-axis padding is explicit on every convolution (`time_padding`), so that a streaming
converter can read each layer's kernel, stride, dilation and look-ahead from the layer
itself instead of guessing.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import handle_torch_function, has_torch_function_unary

from tinykws.errors import ConfigError

PADDING_MODES = ("same", "causal", "valid")


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ConfigError(f"{what} must be an int or two ints, got {value!r}")
    return pair  # type: ignore[return-value]


def axis_padding(size: int, kernel: int, stride: int, dilation: int, mode: str) -> tuple[int, int]:
    """(before, after) padding of one axis of `size` elements.

    'same' is TensorFlow's SAME: the output has ceil(size / stride) elements and an odd
    total padding puts the extra element *after* the data (unlike PyTorch's symmetric
    padding), which is what makes imported TFLite weights give identical outputs.
    'causal' pads the same total, all before (no look-ahead along time). 'valid' pads nothing.
    """
    if mode == "valid":
        return (0, 0)
    span = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + span - size, 0)
    if mode == "causal":
        return (total, 0)
    if mode == "same":
        return (total // 2, total - total // 2)
    raise ConfigError(f"padding must be one of {PADDING_MODES}, got {mode!r}")


def time_padding_mode(causal: bool, time_valid: bool) -> str:
    """The time padding of a zoo model's convolutions from its `causal` / `time_valid` options."""
    if causal and time_valid:
        raise ConfigError("causal and time_valid exclude each other: causal pads time before the "
                          "first frame, time_valid pads nothing")
    return "valid" if time_valid else "causal" if causal else "same"


def axis_output_size(size: int, kernel: int, stride: int, dilation: int, mode: str) -> int:
    """Elements along one axis after a convolution with that padding mode (may be <= 0 for
    'valid' when the kernel is longer than the input)."""
    if mode == "valid":
        return (size - (kernel - 1) * dilation - 1) // stride + 1
    return math.ceil(size / stride)


def time_frames_after(module: nn.Module, frames: int) -> int:
    """Frames left after every PaddedConv2d of `module`, applied in registration order
    (the zoo's sequential networks); <= 0 when a 'valid' kernel outgrows the input."""
    for layer in module.modules():
        if isinstance(layer, PaddedConv2d):
            if frames < 1:
                return frames
            frames = axis_output_size(frames, layer.kernel_size[0], layer.stride[0], layer.dilation[0],
                                      layer.time_padding)
    return frames


class PaddedConv2d(nn.Conv2d):
    """A Conv2d whose padding is computed from the input size, per axis.

    time_padding / freq_padding: 'same' (TensorFlow SAME, extra element after),
    'causal' (all padding before: outputs never depend on later frames) or 'valid'.
    The parameters are those of nn.Conv2d (`weight` (out, in/groups, kt, kf), `bias`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        time_padding: str = "same",
        freq_padding: str = "same",
    ):
        for mode in (time_padding, freq_padding):
            if mode not in PADDING_MODES:
                raise ConfigError(f"padding must be one of {PADDING_MODES}, got {mode!r}")
        super().__init__(
            in_channels, out_channels, _pair(kernel_size, "kernel_size"),
            stride=_pair(stride, "stride"), padding=0, dilation=_pair(dilation, "dilation"),
            groups=groups, bias=bias,
        )
        self.time_padding = time_padding
        self.freq_padding = freq_padding

    def paddings(self, time_size: int, freq_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((time_before, time_after), (freq_before, freq_after)) for an input of that size."""
        kt, kf = self.kernel_size
        st, sf = self.stride
        dt, df = self.dilation
        return (
            axis_padding(time_size, kt, st, dt, self.time_padding),
            axis_padding(freq_size, kf, sf, df, self.freq_padding),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (t0, t1), (f0, f1) = self.paddings(x.shape[-2], x.shape[-1])
        if t0 == t1 and f0 == f1:
            # Symmetric padding is the convolution's own: no padded copy of the input.
            return F.conv2d(x, self.weight, self.bias, self.stride, (t0, f0), self.dilation, self.groups)
        return super().forward(F.pad(x, (f0, f1, t0, t1)))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, time_padding={self.time_padding}, freq_padding={self.freq_padding}"


class Dropout(nn.Dropout):
    """nn.Dropout drawing its mask with `rand_like` and a compare, which on CPU is about
    2.5x faster than the `bernoulli_` of nn.Dropout (the two dropouts of ds_cnn took 15 %
    of a training step). Same distribution, same scaling, same torch random stream."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p >= 1.0:
            return torch.zeros_like(x)
        mask = (torch.rand_like(x) >= self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * mask


class SubSpectralNorm(nn.Module):
    """Batch norm with separate statistics (and affine terms) per channel *and* per
    frequency sub-band (Chang et al. 2021): the frequency axis is cut into `groups`
    equal bands. Input (batch, channels, time, freq); freq must be divisible by `groups`."""

    def __init__(self, channels: int, groups: int = 5, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.channels = channels
        self.groups = groups
        self.norm = nn.BatchNorm2d(channels * groups, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sub_spectral_norm(x, self.norm, self.groups)


def sub_spectral_norm(x: torch.Tensor, norm: nn.BatchNorm2d, groups: int) -> torch.Tensor:
    """`norm` (a batch norm of channels * groups features, indexed channel * groups +
    band) applied to (batch, channels, time, freq) cut into `groups` frequency bands.

    A function that takes part in torch's function overrides, so that the quantizer's
    tracer records it as one operation (a per-channel-and-frequency affine map once the
    statistics are fixed) instead of the reshapes and permutations that compute it.
    """
    if has_torch_function_unary(x):
        return handle_torch_function(sub_spectral_norm, (x,), x, norm, groups)
    b, c, t, f = x.shape
    if f % groups:
        raise ValueError(f"SubSpectralNorm: {f} frequency bins do not split into {groups} bands")
    sub = f // groups
    y = x.reshape(b, c, t, groups, sub).permute(0, 1, 3, 2, 4).reshape(b, c * groups, t, sub)
    y = norm(y)
    return y.reshape(b, c, groups, t, sub).permute(0, 1, 3, 2, 4).reshape(b, c, t, f)


class GlobalAvgPool(nn.Module):
    """Mean over time and frequency: (batch, channels, time, freq) -> (batch, channels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def as_4d(x: torch.Tensor) -> torch.Tensor:
    """Accept (batch, time, features) as well as (batch, 1, time, features)."""
    if x.dim() == 3:
        return x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected input (batch, 1, time, features), got shape {tuple(x.shape)}")
    return x
