"""The network's input quantization as the generated front-end applies it.

tinykws feeds a model float features quantized by `tinykws.intmodel.quantize_io.quantize`
(TFLite's QUANTIZE: float32 value / scale, rounded half away from zero, plus the zero point,
saturated). The C front-ends reproduce exactly that: the MFCC in float32 arithmetic, the
integer microfrontend through thresholds on its uint16 output computed here by the very
same function, so no float arithmetic is needed on the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinykws.errors import ConfigError
from tinykws.intmodel.graph import IntTensor
from tinykws.intmodel.quantize_io import quantize


@dataclass(frozen=True)
class InputQuant:
    """int8 input quantization of a network: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def tensor(self, shape: tuple[int, ...] = (1,)) -> IntTensor:
        """An int8 IntTensor carrying this quantization (for `quantize`)."""
        return IntTensor("features", shape, np.dtype(np.int8), self.scale, self.zero_point)

    def quantize(self, features: np.ndarray) -> np.ndarray:
        """Float features -> int8, exactly as tinykws feeds a model."""
        return quantize(np.asarray(features, np.float32), self.tensor())


def input_quant(value: Any) -> InputQuant:
    """Validate `(scale, zero_point)` of an int8 network input; raises ConfigError."""
    try:
        scale, zero_point = value
        scale = float(scale)
    except (TypeError, ValueError):
        raise ConfigError(f"input_quant must be (scale, zero_point), got {value!r}") from None
    if not (math.isfinite(scale) and scale > 0 and math.isfinite(float(np.float32(scale)))
            and float(np.float32(scale)) > 0):
        raise ConfigError(f"input_quant scale must be a positive float32 number, got {scale!r}")
    if not (isinstance(zero_point, (int, np.integer)) and -128 <= int(zero_point) <= 127):
        raise ConfigError(f"input_quant zero point must be an integer in -128..127, got {zero_point!r}")
    return InputQuant(scale, int(zero_point))


def uint16_thresholds(output_scale: float, quant: InputQuant) -> tuple[int, np.ndarray]:
    """The int8 value of every uint16 feature u, as (q_min, thresholds).

    The numpy path maps u to float32(u) * float32(output_scale) and quantizes that; the
    map is non-decreasing in u, so q(u) = q_min + (number of thresholds <= u), where
    threshold j is the smallest u with q(u) >= q_min + j + 1. Returns uint16 thresholds.
    """
    u = np.arange(65536, dtype=np.int64)
    features = (u.astype(np.float32) * np.float32(output_scale)).astype(np.float32)
    q = quant.quantize(features).astype(np.int64)
    if np.any(np.diff(q) < 0):  # pragma: no cover - rounding is monotonic
        raise ConfigError("the feature quantization is not monotonic; thresholds cannot express it")
    levels = np.arange(q[0] + 1, q[-1] + 1)
    thresholds = np.searchsorted(q, levels, side="left").astype(np.uint16)
    return int(q[0]), thresholds


def quantize_by_thresholds(values: np.ndarray, q_min: int, thresholds: np.ndarray) -> np.ndarray:
    """Apply (q_min, thresholds) to uint16 values: what the C code computes, in numpy."""
    counts = np.searchsorted(thresholds, np.asarray(values, np.int64), side="right")
    return (q_min + counts).astype(np.int8)
