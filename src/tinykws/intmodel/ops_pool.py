"""Pooling and reduction int8 kernels (reference semantics: pooling windows are clipped to
the input, so padded positions are neither summed nor counted)."""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint.primitives import Rounding, check_int32, dtype_range, multiply_by_quantized_multiplier
from tinykws.intmodel.ops_conv import windows
from tinykws.intmodel.params import MeanParams, PoolParams


def average_pool2d(p: PoolParams, x: np.ndarray) -> np.ndarray:
    """AVERAGE_POOL_2D: rounded mean of the in-bounds window values, then clamp.

    Rounding as the C++: (sum +/- count/2) / count with division truncating toward zero.
    """
    g = p.geometry
    values = windows(x.astype(np.int64), g)
    total = check_int32(values.sum(axis=(-2, -1)), "the window sum")
    inside = (g.pad_top == 0 and g.pad_left == 0 and (g.out_h - 1) * g.stride_h + g.filter_h <= x.shape[1]
              and (g.out_w - 1) * g.stride_w + g.filter_w <= x.shape[2])
    if inside:
        count = np.int64(g.filter_h * g.filter_w)
    else:  # windows clipped at the edges: count the in-bounds values, (1, OH, OW, 1)
        count = windows(np.ones((1, *x.shape[1:3], 1), dtype=np.int64), g).sum(axis=(-2, -1))
    half = count // 2
    mean = np.where(total >= 0, (total + half) // count, -((-total + half) // count))
    return np.clip(mean, p.act_min, p.act_max).astype(x.dtype)


def max_pool2d(p: PoolParams, x: np.ndarray) -> np.ndarray:
    """MAX_POOL_2D: maximum of the in-bounds window values, then clamp."""
    lowest = np.iinfo(np.int64).min
    values = windows(x.astype(np.int64), p.geometry, pad_value=lowest)
    return np.clip(values.max(axis=(-2, -1)), p.act_min, p.act_max).astype(x.dtype)


def mean(p: MeanParams, x: np.ndarray, rounding: Rounding) -> np.ndarray:
    """MEAN of int8 values over `p.axes`, requantized to the output scale."""
    values = x.astype(np.int64)
    count = int(np.prod([x.shape[a] for a in p.axes], dtype=np.int64))
    total = check_int32(values.sum(axis=p.axes, keepdims=p.keep_dims), "the sum")
    # Fold 1/count into the multiplier with as many extra bits as count has (at most 32,
    # and keeping the final shift >= -31), exactly as the reference kernel.
    extra = min(count.bit_length() - 1, 32, 31 + p.shift)
    multiplier = (p.multiplier << extra) // count
    out = multiply_by_quantized_multiplier(total - p.input_zero_point * count, multiplier, p.shift - extra,
                                           rounding) + p.output_zero_point
    lo, hi = dtype_range(x.dtype)
    return np.clip(out, lo, hi).astype(x.dtype)
