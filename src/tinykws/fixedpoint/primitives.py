"""Fixed-point primitives of TFLite / gemmlowp, vectorised over numpy int64 arrays.

Every function reproduces the integer semantics of the C++ reference (int32 values held
in int64 so that intermediate products never overflow). Floats appear only in
`quantize_multiplier`, which derives multipliers from scales at build time exactly as
TFLite does (from a double).

TFLite has two forms of MultiplyByQuantizedMultiplier, chosen at build time by
TFLITE_SINGLE_ROUNDING: "double" rounding (gemmlowp: a rounding doubling high multiply,
then a rounding right shift) and "single" rounding (one 64-bit multiply, add and shift).
Functions that depend on it take `rounding`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

Rounding = Literal["single", "double"]
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

_RANGES = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int16): (-32768, 32767),
    np.dtype(np.int32): (INT32_MIN, INT32_MAX),
}


class Int32RangeError(ArithmeticError):
    """A value that TFLite holds in an int32 left that range (the numpy kernels compute in
    int64, TFLite and the generated C in int32: they would silently differ)."""


def check_int32(values: np.ndarray, what: str) -> np.ndarray:
    """`values` unchanged if every one fits in int32; else Int32RangeError naming `what`."""
    if values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo < INT32_MIN or hi > INT32_MAX:
            bad = lo if lo < INT32_MIN else hi
            raise Int32RangeError(f"{what} reaches {bad}, outside the int32 range TFLite accumulates in")
    return values


def as_i64(x) -> np.ndarray:
    """`x` as an int64 array (the working type of every primitive)."""
    return np.asarray(x, dtype=np.int64)


def wrap_int32(x) -> np.ndarray:
    """Two's-complement wrap to int32 range (what a C++ int32 cast of an overflow gives)."""
    x = as_i64(x)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturate(x, dtype) -> np.ndarray:
    """Clamp to the range of integer `dtype` and cast to it (a saturating cast)."""
    lo, hi = _RANGES[np.dtype(dtype)]
    return np.clip(as_i64(x), lo, hi).astype(dtype)


def dtype_range(dtype) -> tuple[int, int]:
    """(min, max) of an integer dtype supported by the runtime."""
    return _RANGES[np.dtype(dtype)]


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values: round(a*b / 2^31).

    The nudge is +2^30 for a non-negative product and 1-2^30 for a negative one, and the
    division truncates toward zero (C semantics). INT32_MIN * INT32_MIN saturates to
    INT32_MAX.
    """
    a = as_i64(a)
    b = as_i64(b)
    # (ab + nudge) / 2^31 truncated toward zero equals floor((ab + 2^30) / 2^31) for both
    # signs: for ab < 0 the nudge 1 - 2^30 plus the truncation bias 2^31 - 1 is 2^30 again.
    high = (a * b + (1 << 30)) >> 31
    if np.any(b == INT32_MIN):
        high = np.where((a == b) & (a == INT32_MIN), INT32_MAX, high)
    return high


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero.

    `exponent` (0..31) may be an array broadcast against `x` (per-channel shifts).
    """
    x = as_i64(x)
    exponent = as_i64(exponent)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding: Rounding = "double") -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier(int32 x, int32 multiplier, int shift).

    Computes x * multiplier / 2^(31 - shift) with TFLite's rounding. `multiplier` and
    `shift` may be per-channel arrays broadcast against `x`.
    """
    x = as_i64(x)
    multiplier = as_i64(multiplier)
    shift = as_i64(shift)
    if rounding == "single":
        total_shift = 31 - shift
        round_bit = np.int64(1) << (total_shift - 1)
        return (x * multiplier + round_bit) >> total_shift
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift,
                                                      rounding: Rounding = "double") -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0)."""
    if rounding == "single":
        return multiply_by_quantized_multiplier(x, multiplier, left_shift, "single")
    shifted = wrap_int32(as_i64(x) * (np.int64(1) << as_i64(left_shift)))
    return saturating_rounding_doubling_high_mul(shifted, multiplier)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift,
                                                          rounding: Rounding = "double") -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0)."""
    if rounding == "single":
        return multiply_by_quantized_multiplier(x, multiplier, left_shift, "single")
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -as_i64(left_shift))


def tflite_round(x: float) -> float:
    """TfLiteRound / std::round: round half away from zero (NaN and infinities pass through)."""
    if not math.isfinite(x):
        return x
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real_multiplier: float, rounding: Rounding = "double") -> tuple[int, int]:
    """TFLite QuantizeMultiplier: a double -> (int32 multiplier in [2^30, 2^31), shift).

    real_multiplier ~= multiplier * 2^(shift - 31). Multipliers below ~2^-31 flush to
    (0, 0); with single rounding shifts above 30 saturate (as TFLite does).
    """
    if real_multiplier == 0.0:
        return 0, 0
    if not (math.isfinite(real_multiplier) and real_multiplier > 0.0):
        raise ValueError(f"multiplier {real_multiplier!r} is not a finite positive number")
    q, shift = math.frexp(real_multiplier)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed > (1 << 31):
        raise ValueError(f"multiplier {real_multiplier!r} cannot be quantized")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if rounding == "single" and shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def quantize_real(values, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """TFLite QUANTIZE of real `values`: value / scale in float32, rounded half away from
    zero, plus the zero point, saturated to integer `dtype`."""
    scaled = np.asarray(values, dtype=np.float32) / np.float32(scale)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))
    lo, hi = dtype_range(dtype)
    return np.clip(rounded.astype(np.int64) + int(zero_point), lo, hi).astype(dtype)


def dequantize_int(values, scale: float, zero_point: int) -> np.ndarray:
    """Integers -> float32 reals scale * (q - zero_point)."""
    return (np.asarray(values, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)


def count_leading_zeros_u32(x) -> np.ndarray:
    """Leading zero bits of `x` seen as uint32 (32 for zero), by binary search on shifts."""
    x = as_i64(x) & 0xFFFFFFFF
    count = np.zeros(x.shape, dtype=np.int64)
    y = x.copy()
    for step in (16, 8, 4, 2, 1):
        top_clear = y < (np.int64(1) << (32 - step))
        count += np.where(top_clear, step, 0)
        y = np.where(top_clear, y << step, y)
    return np.where(x == 0, 32, count)


def frexp_multiplier(real_multiplier: float) -> tuple[int, int]:
    """(round(q * 2^31), exponent) for real = q * 2^exponent, q in [0.5, 1): the input
    rescaling of TFLite Micro's int8 LOGISTIC and TANH Prepare(), which uses frexp
    directly instead of QuantizeMultiplier (no renormalisation when q rounds up to 1)."""
    q, exponent = math.frexp(real_multiplier)
    fixed = int(tflite_round(q * (1 << 31)))
    if fixed > INT32_MAX:
        raise ValueError(f"input multiplier {real_multiplier!r} rounds to 2^31, which TFLite would overflow")
    return fixed, exponent


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite CalculateInputRadius: the largest |input - zero point| whose rescaled value
    still fits `input_integer_bits` integer bits (beyond it the output saturates)."""
    max_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                    / (1 << input_left_shift))
    return int(math.floor(max_rescaled))
