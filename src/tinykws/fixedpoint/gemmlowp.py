"""gemmlowp fixed-point math functions of TFLite's integer softmax, logistic and tanh.

Values are raw int32 fixed-point numbers (held in int64 arrays) in the Q-format named by
their integer bits: a value with `i` integer bits represents raw / 2^(31 - i). Products
add integer bits; `rescale` moves between formats with saturation or rounding, exactly
as gemmlowp's FixedPoint class does.
"""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint.primitives import (
    INT32_MAX,
    INT32_MIN,
    as_i64,
    count_leading_zeros_u32,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

# exp(-2^k) for k = -2..4 in Q0.31 (gemmlowp's barrel-shifter constants).
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8) in Q0.31
_ONE_THIRD = 715827883  # 1/3 in Q0.31
_48_OVER_17 = 1515870810  # 48/17 in Q2.29
_MINUS_32_OVER_17 = -1010580540  # -32/17 in Q2.29


def fp_mul(a, b) -> np.ndarray:
    """Fixed-point product (integer bits add up)."""
    return saturating_rounding_doubling_high_mul(a, b)


def fp_add(a, b) -> np.ndarray:
    """Fixed-point sum; int32 overflow wraps as in the C++ (never happens on valid inputs)."""
    return wrap_int32(as_i64(a) + as_i64(b))


def fp_sub(a, b) -> np.ndarray:
    return wrap_int32(as_i64(a) - as_i64(b))


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """x * 2^exponent: saturating left shift for exponent > 0, rounding right shift if < 0."""
    x = as_i64(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = x << exponent
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rescale(x, src_integer_bits: int, dst_integer_bits: int) -> np.ndarray:
    """gemmlowp Rescale: change the number of integer bits of a fixed-point value."""
    return saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)


def rounding_half_sum(a, b) -> np.ndarray:
    """(a + b) / 2 rounded to nearest (ties away from zero), C truncating division."""
    total = as_i64(a) + as_i64(b)
    biased = total + np.where(total >= 0, 1, -1)
    return np.sign(biased) * (np.abs(biased) // 2)


def _one(integer_bits: int) -> int:
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8)."""
    x = fp_add(a, 1 << 28)
    x2 = fp_mul(x, x)
    x3 = fp_mul(x2, x)
    x4 = fp_mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(fp_add(fp_mul(fp_add(x4_over_4, x3), _ONE_THIRD), x2), -1)
    return fp_add(_EXP_MINUS_ONE_EIGHTH, fp_mul(_EXP_MINUS_ONE_EIGHTH, fp_add(x, poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given with `integer_bits` integer bits; result in Q0.31."""
    a = as_i64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = fp_sub(a & (one_quarter - 1), one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = fp_sub(a_mod_quarter_minus_one_quarter, a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, fp_mul(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, _one(0), result)


def _reciprocal_of_half_denominator(a) -> np.ndarray:
    """2 / (1 + a) for a in [0, 1) as Q2.29 (Newton-Raphson from 48/17 - 32/17 d, 3 steps)."""
    half_denominator = rounding_half_sum(a, _one(0))
    x = fp_add(_48_OVER_17, fp_mul(half_denominator, _MINUS_32_OVER_17))
    for _ in range(3):
        one_minus = fp_sub(_one(2), fp_mul(half_denominator, x))
        x = fp_add(x, rescale(fp_mul(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _reciprocal_of_half_denominator(a)
    return rescale(x, 1, 0)  # ExactMulByPot<-1> turns Q2 into Q1 with the same raw value


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out: 2 / (1 + a) - 1."""
    x = _reciprocal_of_half_denominator(a)
    return rescale(fp_sub(x, _one(2)), 2, 0)


def logistic(a, integer_bits: int) -> np.ndarray:
    """gemmlowp logistic(a) for raw `a` with `integer_bits` integer bits; Q0.31 result."""
    a = as_i64(a)
    positive = a > 0
    magnitude = np.where(positive, a, -a)
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-magnitude, integer_bits))
    if_negative = fp_sub(_one(0), if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def tanh(a, integer_bits: int) -> np.ndarray:
    """gemmlowp tanh(a) for raw `a` with `integer_bits` integer bits; Q0.31 result.

    tanh(|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)); the doubling is ExactMulByPot<1>
    (the same raw value read with one more integer bit)."""
    a = as_i64(a)
    negative = a < 0
    non_positive = np.where(negative, a, -a)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(non_positive, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, -t, t))


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal: (1/x as Q0.31 scaled into [0.5, 1), num_bits_over_unit).

    For x > 0 with `x_integer_digits` integer bits: 1/x = raw / 2^31 / 2^num_bits_over_unit.
    """
    x = as_i64(x)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# The same reciprocal on one Python int: a softmax of a few rows (a streaming step scores
# five frames) spends ~100 numpy calls on get_reciprocal's tiny arrays, ten times what these
# integer operations cost. Bit-identical to get_reciprocal (tests/unit/test_fixed_point.py
# compares them over every sum a softmax of up to 32 classes can reach near its ends, and
# on random ones in between).
def _wrap(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _high_mul(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    return (a * b + (1 << 30)) >> 31


def _times_pot(x: int, exponent: int) -> int:
    """saturating_rounding_multiply_by_pot for exponent > 0."""
    threshold = (1 << (31 - exponent)) - 1
    return INT32_MAX if x > threshold else INT32_MIN if x < -threshold else x << exponent


def reciprocal_of(x: int, x_integer_digits: int) -> tuple[int, int]:
    """get_reciprocal of one value: (1/x in Q0.31 scaled into [0.5, 1), num_bits_over_unit)."""
    unsigned = x & 0xFFFFFFFF
    headroom_plus_one = 32 - unsigned.bit_length()
    a = _wrap(((unsigned << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    total = a + _one(0)
    biased = total + (1 if total >= 0 else -1)
    half_denominator = (abs(biased) // 2) * (1 if biased > 0 else -1 if biased < 0 else 0)
    y = _wrap(_48_OVER_17 + _high_mul(half_denominator, _MINUS_32_OVER_17))
    for _ in range(3):
        one_minus = _wrap(_one(2) - _high_mul(half_denominator, y))
        y = _wrap(y + _times_pot(_high_mul(y, one_minus), 2))
    return _times_pot(y, 1), x_integer_digits - headroom_plus_one
