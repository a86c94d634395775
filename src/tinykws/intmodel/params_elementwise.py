"""Parameters of the element-wise, activation and shape operators beyond the
convolution family (LOGISTIC, TANH, MUL, SUB, SPLIT, BATCH_MATMUL), derived from the
tensors' scales as TFLite's Prepare() does for each engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykws.fixedpoint.lut import float_lut
from tinykws.fixedpoint.primitives import Rounding, calculate_input_radius, frexp_multiplier
from tinykws.intmodel.params import quantize_multiplier

# The fixed-point LOGISTIC and TANH read their input as Q4.27 (TFLite's kInputIntegerBits).
ACTIVATION_INPUT_INTEGER_BITS = 4
# Output quantization the int8 kernels assume (TFLite Micro does not check TANH's).
LOGISTIC_OUTPUT = (1.0 / 256.0, -128)
TANH_OUTPUT = (1.0 / 128.0, 0)


@dataclass(frozen=True, eq=False)
class LookupParams:
    """LiteRT's LOGISTIC / TANH: output code = table[input code + 128]."""

    function: str
    table: np.ndarray


@dataclass(frozen=True)
class FixedPointActivationParams:
    """TFLite Micro's LOGISTIC / TANH: inputs beyond +-radius saturate, the others are
    rescaled to Q4.27 by (multiplier, left_shift) and run through gemmlowp's function."""

    function: str
    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


@dataclass(frozen=True)
class MulParams:
    """MUL: (x1 + input1_offset) * (x2 + input2_offset) requantized by (multiplier, shift)."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class SplitParams:
    """SPLIT into `num_splits` equal parts along `axis` (quantization unchanged)."""

    axis: int
    num_splits: int


@dataclass(frozen=True)
class BatchMatMulParams:
    """BATCH_MATMUL: sum over k of (lhs + lhs_offset) * (rhs + rhs_offset), requantized.
    adj_x / adj_y transpose the last two axes of lhs / rhs first."""

    lhs_offset: int
    rhs_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    adj_x: bool
    adj_y: bool


def activation_params(function: str, form: str, input_scale: float, input_zero_point: int,
                      output_scale: float, output_zero_point: int):
    """LOGISTIC / TANH parameters in `form` "lut" (LiteRT) or "fixed_point" (TFLite Micro)."""
    if form == "lut":
        return LookupParams(function, float_lut(function, input_scale, input_zero_point, output_scale,
                                                output_zero_point))
    real = float(np.float32(input_scale)) * float(1 << (31 - ACTIVATION_INPUT_INTEGER_BITS))
    multiplier, left_shift = frexp_multiplier(real)
    radius = calculate_input_radius(ACTIVATION_INPUT_INTEGER_BITS, left_shift, 31)
    return FixedPointActivationParams(function, int(input_zero_point), radius, multiplier, left_shift)


def mul_params(scale1: float, zp1: int, scale2: float, zp2: int, out_scale: float, out_zp: int,
               act: tuple[int, int], rounding: Rounding) -> MulParams:
    """MUL parameters: the real multiplier scale1 * scale2 / out_scale in double."""
    s1, s2, so = (float(np.float32(s)) for s in (scale1, scale2, out_scale))
    multiplier, shift = quantize_multiplier(s1 * s2 / so, rounding)
    return MulParams(-int(zp1), -int(zp2), int(out_zp), multiplier, shift, act[0], act[1])


def batch_matmul_params(lhs_scale: float, lhs_zp: int, rhs_scale: float, rhs_zp: int, out_scale: float,
                        out_zp: int, adj_x: bool, adj_y: bool, rounding: Rounding) -> BatchMatMulParams:
    """BATCH_MATMUL parameters: the real multiplier lhs_scale * rhs_scale / out_scale."""
    s1, s2, so = (float(np.float32(s)) for s in (lhs_scale, rhs_scale, out_scale))
    multiplier, shift = quantize_multiplier(s1 * s2 / so, rounding)
    return BatchMatMulParams(-int(lhs_zp), -int(rhs_zp), int(out_zp), multiplier, shift, bool(adj_x), bool(adj_y))
