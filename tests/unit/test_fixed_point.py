"""Fixed-point primitives on hand-computed cases (rounding ties, negative ties, saturation,
shifts) and the gemmlowp math functions against real arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinykws.fixedpoint.primitives import (
    INT32_MAX,
    INT32_MIN,
    count_leading_zeros_u32,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_greater_than_one,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturate,
    saturating_rounding_doubling_high_mul,
    tflite_round,
    wrap_int32,
)
from tinykws.fixedpoint.gemmlowp import (
    exp_on_negative_values,
    get_reciprocal,
    reciprocal_of,
    one_over_one_plus_x_for_x_in_0_1,
    rounding_half_sum,
    saturating_rounding_multiply_by_pot,
)

HALF = 1 << 30  # 0.5 in Q0.31


@pytest.mark.parametrize("a, b, expected", [
    (INT32_MIN, INT32_MIN, INT32_MAX),  # the one overflow: -1 * -1 saturates
    (INT32_MIN, INT32_MAX, -INT32_MAX),
    (HALF, HALF, 1 << 29),  # 0.5 * 0.5 = 0.25
    (1, HALF, 1),  # +0.5 rounds up
    (-1, HALF, 0),  # -0.5 rounds up too (nudge, then truncation toward zero)
    (-3, HALF, -1),  # -1.5 -> -1
    (3, HALF, 2),  # 1.5 -> 2
    (0, INT32_MIN, 0),
])
def test_saturating_rounding_doubling_high_mul(a, b, expected):
    assert int(saturating_rounding_doubling_high_mul(a, b)) == expected


@pytest.mark.parametrize("x, exponent, expected", [
    (5, 1, 3), (-5, 1, -3),  # ties away from zero
    (3, 1, 2), (-3, 1, -2),
    (4, 1, 2), (2, 2, 1), (-2, 2, -1),
    (1, 2, 0), (-1, 2, 0),  # -0.25 -> 0
    (7, 0, 7), (-7, 0, -7),
    (INT32_MAX, 31, 1), (INT32_MIN, 31, -1),
])
def test_rounding_divide_by_pot(x, exponent, expected):
    assert int(rounding_divide_by_pot(x, exponent)) == expected


def test_rounding_divide_by_pot_per_element_exponents():
    out = rounding_divide_by_pot(np.array([5, 5, 5]), np.array([0, 1, 2]))
    assert out.tolist() == [5, 3, 1]


def test_double_and_single_rounding_differ_where_expected():
    # 101 * 0.5 / 2 = 25.25. Double rounding first rounds 50.5 up to 51, then 25.5 to 26;
    # single rounding rounds 25.25 once, to 25.
    assert int(multiply_by_quantized_multiplier(101, HALF, -1, "double")) == 26
    assert int(multiply_by_quantized_multiplier(101, HALF, -1, "single")) == 25
    assert int(multiply_by_quantized_multiplier(100, HALF, -1, "double")) == 25
    assert int(multiply_by_quantized_multiplier(100, HALF, -1, "single")) == 25


@pytest.mark.parametrize("rounding", ["single", "double"])
def test_multiply_by_quantized_multiplier_shifts(rounding):
    assert int(multiply_by_quantized_multiplier(3, HALF, 2, rounding)) == 6  # 3 * 0.5 * 4
    assert int(multiply_by_quantized_multiplier(-3, HALF, 2, rounding)) == -6
    assert int(multiply_by_quantized_multiplier(1000, 3 << 29, -3, rounding)) == 94  # 1000 * .75 / 8 = 93.75
    assert int(multiply_by_quantized_multiplier(-1000, 3 << 29, -3, rounding)) == -94
    per_channel = multiply_by_quantized_multiplier(np.array([[80, 80]]), np.array([HALF, HALF]),
                                                   np.array([0, -2]), rounding)
    assert per_channel.tolist() == [[40, 10]]


def test_greater_and_smaller_than_one_variants():
    # x * 2^3 * 0.5 and x * 0.5 / 2^3 with double rounding
    assert int(multiply_by_quantized_multiplier_greater_than_one(7, HALF, 3)) == 28
    assert int(multiply_by_quantized_multiplier_smaller_than_one_exp(100, HALF, -3)) == 6  # 6.25
    assert int(multiply_by_quantized_multiplier_smaller_than_one_exp(-100, HALF, -3)) == -6


@pytest.mark.parametrize("real, expected", [
    (0.0, (0, 0)),
    (0.5, (1 << 30, 0)),
    (1.0, (1 << 30, 1)),
    (0.75, (3 << 29, 0)),
    (0.1, (1717986918, -3)),  # 0.8 * 2^31 = 1717986918.4 -> 1717986918
    (2.0 ** -40, (0, 0)),  # below 2^-31: flushed to zero
    (1 - 2.0 ** -40, (1 << 30, 1)),  # rounds up to 2^31, then halved
])
def test_quantize_multiplier(real, expected):
    assert quantize_multiplier(real) == expected


def test_quantize_multiplier_single_rounding_saturates_large_shifts():
    assert quantize_multiplier(2.0 ** 40, "double") == (1 << 30, 41)
    assert quantize_multiplier(2.0 ** 40, "single") == ((1 << 31) - 1, 30)


def test_quantize_multiplier_is_accurate():
    for real in np.geomspace(1e-6, 1e3, 50):
        m, shift = quantize_multiplier(float(real))
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -30


def test_round_saturate_wrap_and_clz():
    assert [tflite_round(v) for v in (2.5, -2.5, 0.4999, -0.5, 1.5)] == [3, -3, 0, -1, 2]
    assert saturate([300, -300, 5], np.int8).tolist() == [127, -128, 5]
    assert saturate([70000], np.int16).tolist() == [32767]
    assert wrap_int32([INT32_MAX + 1, INT32_MIN - 1]).tolist() == [INT32_MIN, INT32_MAX]
    assert count_leading_zeros_u32([0, 1, 1 << 31, -1, 1 << 16, 3]).tolist() == [32, 31, 0, 0, 15, 30]


def test_pot_multiply_saturates_and_rounds():
    assert saturating_rounding_multiply_by_pot([1 << 28, -(1 << 28), 1 << 29], 2).tolist() == [
        1 << 30, -(1 << 30), INT32_MAX]
    assert saturating_rounding_multiply_by_pot([-(1 << 29) - 1], 2).tolist() == [INT32_MIN]
    assert saturating_rounding_multiply_by_pot([5, -5], -1).tolist() == [3, -3]
    assert rounding_half_sum([1, -1, 3], [2, -2, 4]).tolist() == [2, -2, 4]  # 1.5, -1.5, 3.5


def test_exp_on_negative_values_tracks_exp():
    xs = np.linspace(-15.9, 0, 400)
    raw = np.round(xs * 2 ** 26).astype(np.int64)  # Q5.26
    got = exp_on_negative_values(raw, 5) / 2.0 ** 31
    np.testing.assert_allclose(got, np.exp(raw / 2.0 ** 26), atol=2e-7)
    assert int(exp_on_negative_values(0, 5)) == INT32_MAX
    # exactly -1 goes through the 1/4 and 1/2 barrel-shifter constants; the Taylor series
    # on [-1/4, 0) is good to about (1/8)^5 / 120 = 2.5e-7
    assert abs(int(exp_on_negative_values(-(1 << 26), 5)) / 2 ** 31 - math.exp(-1)) < 2.5e-7


def test_one_over_one_plus_x_and_reciprocal():
    xs = np.linspace(0, 0.999, 200)
    raw = np.round(xs * 2 ** 31).astype(np.int64)
    got = one_over_one_plus_x_for_x_in_0_1(raw) / 2.0 ** 31
    np.testing.assert_allclose(got, 1 / (1 + raw / 2.0 ** 31), atol=3e-9)
    # 1 / 2.5 with 12 integer bits: 2.5 in Q12.19
    reciprocal, bits_over_unit = get_reciprocal(np.array([5 << 18]), 12)
    assert bits_over_unit.tolist() == [1]  # 1/2.5 = 0.8 / 2^1
    assert abs(int(reciprocal[0]) / 2.0 ** 31 - 0.8) < 1e-8


def test_scalar_reciprocal_equals_the_vectorised_one():
    """reciprocal_of (Python ints, the softmax of a few rows) against get_reciprocal: every
    value around each power of two from 1 to 2^31 (the normalising shift changes there),
    the first 8192 softmax sums (one plus near-zero exps: 2^19 upwards in Q12.19) and
    20,000 random positive int32 values."""
    rng = np.random.default_rng(0)
    edges = (np.int64(1) << np.arange(32))[:, None] + np.arange(-64, 65)[None, :]
    values = np.concatenate([edges.reshape(-1), (1 << 19) + np.arange(8192), rng.integers(1, INT32_MAX, 20_000)])
    values = values[(values >= 1) & (values <= INT32_MAX)]
    expected, bits = get_reciprocal(values, 12)
    got = np.array([reciprocal_of(int(v), 12) for v in values])
    np.testing.assert_array_equal(got[:, 0], expected)
    np.testing.assert_array_equal(got[:, 1], bits)
