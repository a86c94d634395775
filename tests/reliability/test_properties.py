"""Property-based tests (hypothesis): the fixed-point primitives against exact integer
arithmetic, and the contracts of audio preparation and of every front-end preset (shape,
dtype, finite values) on arbitrary signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinykws.audio.frontends import FRONTEND_PRESETS, build_frontend
from tinykws.audio.io import pad_or_trim, prepare_samples
from tinykws.fixedpoint.primitives import (
    INT32_MAX,
    INT32_MIN,
    count_leading_zeros_u32,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tflite_round,
    wrap_int32,
)

int32s = st.integers(INT32_MIN, INT32_MAX)


def _c_div(num: int, den: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(num) // abs(den)
    return q if (num >= 0) == (den > 0) else -q


@given(int32s, int32s)
def test_doubling_high_mul_is_gemmlowp_exactly(a, b):
    if a == b == INT32_MIN:
        expected = INT32_MAX
    else:
        ab = a * b
        expected = _c_div(ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30)), 1 << 31)
    assert int(saturating_rounding_doubling_high_mul(a, b)) == expected


@given(int32s, st.integers(0, 31))
def test_rounding_divide_by_pot_rounds_half_away_from_zero(x, exponent):
    q, r = divmod(abs(x), 1 << exponent)
    rounded = q + (1 if 2 * r >= (1 << exponent) and exponent > 0 else 0)
    assert int(rounding_divide_by_pot(x, exponent)) == (rounded if x >= 0 else -rounded)


@given(int32s, st.integers(1 << 30, INT32_MAX), st.integers(-31, 30))
def test_single_rounding_multiplier_is_one_64_bit_product(x, multiplier, shift):
    total_shift = 31 - shift
    expected = (x * multiplier + (1 << (total_shift - 1))) >> total_shift
    assert int(multiply_by_quantized_multiplier(x, multiplier, shift, "single")) == expected


@given(st.floats(2.0 ** -31, 2.0 ** 31, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_is_accurate_to_the_last_bit(real):
    m, shift = quantize_multiplier(real)
    if m == 0:
        assert real < 2.0 ** -31
        return
    assert (1 << 30) <= m < (1 << 31)
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -31


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1.0])
def test_quantize_multiplier_refuses_what_no_scale_gives(bad):
    with pytest.raises(ValueError):
        quantize_multiplier(bad)


@given(st.floats(-1e12, 1e12, allow_nan=False))
def test_tflite_round_is_half_away_from_zero(x):
    r = tflite_round(x)
    assert r == math.copysign(math.floor(abs(x) + 0.5), x) and abs(r - x) <= 0.5


@given(st.integers(-(1 << 62), 1 << 62))
def test_wrap_int32_is_twos_complement(x):
    assert int(wrap_int32(x)) == ((x + (1 << 31)) % (1 << 32)) - (1 << 31)


@given(st.integers(0, (1 << 32) - 1))
def test_count_leading_zeros(x):
    assert int(count_leading_zeros_u32(x)) == 32 - x.bit_length()


# --- audio and front-ends ------------------------------------------------------------------
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 3000), st.integers(1, 3)), elements=finite32),
       st.sampled_from([8000, 16000, 22050, 44100]), st.integers(0, 4000))
def test_prepared_samples_are_finite_full_scale_and_of_the_asked_length(samples, rate, length):
    out = prepare_samples(samples, rate, sample_rate=16000, length=length)
    assert out.shape == (length,) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.all(np.abs(out) <= 1.0)


signals = arrays(np.float32, st.integers(0, 24000), elements=st.floats(-1, 1, width=32))


@pytest.mark.parametrize("preset", FRONTEND_PRESETS.names())
@settings(max_examples=8, deadline=None)
@given(signals, st.floats(0.0, 1.0))
def test_every_front_end_gives_its_shape_and_finite_values(preset, clip, gain):
    fe = build_frontend(preset)
    x = pad_or_trim((clip * np.float32(gain)).astype(np.float32), fe.clip_samples)
    features = fe.compute(x)
    assert features.shape == tuple(fe.output_shape) and features.dtype == np.float32
    assert np.all(np.isfinite(features))
