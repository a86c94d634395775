"""Conversions at the boundary of the integer network: real features in, scores out
(TFLite's QUANTIZE arithmetic, `tinykws.fixedpoint.primitives.quantize_real`)."""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint.primitives import dequantize_int, quantize_real
from tinykws.intmodel.graph import IntTensor


def quantize(values: np.ndarray, tensor: IntTensor) -> np.ndarray:
    """Real `values` -> integers of `tensor`'s dtype with its scale and zero point."""
    if tensor.scale is None:
        raise ValueError(f"tensor {tensor.name!r} has no quantization scale")
    return quantize_real(values, tensor.scale, tensor.zero_point, tensor.dtype)


def dequantize(values: np.ndarray, tensor: IntTensor) -> np.ndarray:
    """Integers of `tensor` -> float32 real values scale * (q - zero_point)."""
    if tensor.scale is None:
        raise ValueError(f"tensor {tensor.name!r} has no quantization scale")
    return dequantize_int(values, tensor.scale, tensor.zero_point)
