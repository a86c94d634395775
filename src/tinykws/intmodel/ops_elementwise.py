"""Element-wise and shape int8 kernels: add, requantize (relu family, quantize), softmax,
reshape, pad, concatenation."""

from __future__ import annotations

import functools

import numpy as np

from tinykws.fixedpoint.primitives import (
    Rounding,
    dtype_range,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_greater_than_one,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    rounding_divide_by_pot,
)
from tinykws.fixedpoint.gemmlowp import exp_on_negative_values, fp_mul, get_reciprocal, reciprocal_of, rescale
from tinykws.intmodel.params import (
    AddParams,
    ConcatParams,
    PadParams,
    RequantizeParams,
    ReshapeParams,
    SoftmaxParams,
)

_SCALED_DIFF_INTEGER_BITS = 5
_ACCUMULATION_INTEGER_BITS = 12
_SCALAR_ROWS = 16  # up to this many rows the reciprocals are computed on Python ints (faster)


def add(p: AddParams, a: np.ndarray, b: np.ndarray, rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """ADD with numpy broadcasting: both inputs shifted left by `left_shift`, scaled to a
    common scale, summed, rescaled to the output and clamped."""
    def scaled(x, offset, multiplier, shift):
        shifted = (x.astype(np.int64) + offset) * (1 << p.left_shift)
        return multiply_by_quantized_multiplier_smaller_than_one_exp(shifted, multiplier, shift, rounding)

    total = scaled(a, p.input1_offset, p.input1_multiplier, p.input1_shift) + scaled(
        b, p.input2_offset, p.input2_multiplier, p.input2_shift)
    out = multiply_by_quantized_multiplier_smaller_than_one_exp(
        total, p.output_multiplier, p.output_shift, rounding) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(out_dtype)


def requantize(p: RequantizeParams, x: np.ndarray, rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """RELU / RELU6 / RELU_N1_TO_1 / QUANTIZE: rescale (x - zp_in) to the output, clamp."""
    value = multiply_by_quantized_multiplier(x.astype(np.int64) - p.input_zero_point, p.multiplier, p.shift,
                                             rounding) + p.output_zero_point
    return np.clip(value, p.act_min, p.act_max).astype(out_dtype)


@functools.lru_cache(maxsize=64)
def _exp_tables(p: SoftmaxParams, rounding: Rounding) -> tuple[np.ndarray, np.ndarray]:
    """(exp in Q0.31, the same in Q12.19) of every int8 difference to the row maximum,
    -255..0, indexed by difference + 255: the per-element part of the kernel is a function
    of the difference alone, so it is computed once per set of parameters."""
    diff = np.arange(-255, 1, dtype=np.int64)
    rescaled = multiply_by_quantized_multiplier_greater_than_one(diff, p.input_multiplier, p.input_left_shift,
                                                                 rounding)
    exps = np.where(diff >= p.diff_min, exp_on_negative_values(rescaled, _SCALED_DIFF_INTEGER_BITS), 0)
    return exps, rescale(exps, 0, _ACCUMULATION_INTEGER_BITS)


def softmax(p: SoftmaxParams, x: np.ndarray, rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """SOFTMAX over the last axis, the reference int8 kernel: exp of the scaled differences
    to the row maximum in Q5.26 -> Q0.31, sum in Q12.19, reciprocal, rounding shift."""
    if x.dtype != np.int8:
        raise ValueError(f"the softmax kernel takes int8 inputs, got {x.dtype}")
    values = x.astype(np.int64)
    diff = values - values.max(axis=-1, keepdims=True)
    used = diff >= p.diff_min
    exp_table, rescaled_table = _exp_tables(p, rounding)
    exps = exp_table[diff + 255]
    sum_of_exps = rescaled_table[diff + 255].sum(axis=-1, keepdims=True)
    if sum_of_exps.size <= _SCALAR_ROWS:
        pairs = [reciprocal_of(int(v), _ACCUMULATION_INTEGER_BITS) for v in sum_of_exps.reshape(-1)]
        reciprocal = np.array([r for r, _ in pairs], np.int64).reshape(sum_of_exps.shape)
        bits_over_unit = np.array([b for _, b in pairs], np.int64).reshape(sum_of_exps.shape)
    else:
        reciprocal, bits_over_unit = get_reciprocal(sum_of_exps, _ACCUMULATION_INTEGER_BITS)
    lo, hi = dtype_range(out_dtype)
    exponent = bits_over_unit + 31 - 8 * np.dtype(out_dtype).itemsize
    unsaturated = rounding_divide_by_pot(fp_mul(reciprocal, exps), exponent)
    out = np.clip(unsaturated + lo, lo, hi)
    return np.where(used, out, lo).astype(out_dtype)


def reshape(p: ReshapeParams, x: np.ndarray) -> np.ndarray:
    """RESHAPE keeping the batch: dimension 0 of the target stands for the batch."""
    target = p.shape
    per_item = int(np.prod(x.shape[1:], dtype=np.int64)) if x.ndim else 1
    if target and int(np.prod(target[1:], dtype=np.int64)) == per_item:
        return x.reshape((x.shape[0], *target[1:]))
    return x.reshape(target)


def pad(p: PadParams, x: np.ndarray) -> np.ndarray:
    """PAD / PADV2 with the quantized pad value (the output zero point for PAD)."""
    # np.pad costs tens of microseconds of Python per call; a filled array and one copy do not
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, p.paddings))
    out = np.full(shape, p.pad_value, dtype=x.dtype)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, p.paddings))] = x
    return out


def concatenation(p: ConcatParams, *xs: np.ndarray) -> np.ndarray:
    """CONCATENATION of inputs that share the output's quantization, then clamp."""
    out = np.concatenate(xs, axis=p.axis)
    return np.clip(out, p.act_min, p.act_max).astype(out.dtype)
