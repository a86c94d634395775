"""Convolution-like int8 kernels: conv2d, depthwise_conv2d, fully_connected.

Each mirrors TFLite's reference integer kernel: int32 accumulation of
weight * (input - input_zero_point) over the window (positions outside the input
contribute nothing), plus the int32 bias, requantized by a fixed-point multiplier,
offset by the output zero point and clamped. Arrays are int64 internally (im2col +
integer matmul); an accumulator outside int32, where TFLite and the generated C would
wrap, is an Int32RangeError.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinykws.fixedpoint.primitives import Rounding, check_int32, multiply_by_quantized_multiplier
from tinykws.intmodel.params import ConvParams, FullyConnectedParams, Geometry2D


def pad_for_windows(x: np.ndarray, g: Geometry2D, pad_value: int = 0) -> np.ndarray:
    """NHWC `x` padded with `pad_value` so that every filter window lies inside it."""
    h, w = x.shape[1:3]
    need_h = (g.out_h - 1) * g.stride_h + (g.filter_h - 1) * g.dilation_h + 1
    need_w = (g.out_w - 1) * g.stride_w + (g.filter_w - 1) * g.dilation_w + 1
    pad_bottom = max(0, need_h - h - g.pad_top)
    pad_right = max(0, need_w - w - g.pad_left)
    if not (g.pad_top or g.pad_left or pad_bottom or pad_right):
        return x  # every window inside: no copy (streaming steps call this per frame)
    return np.pad(x, ((0, 0), (g.pad_top, pad_bottom), (g.pad_left, pad_right), (0, 0)),
                  constant_values=pad_value)


def tap(padded: np.ndarray, g: Geometry2D, i: int, j: int) -> np.ndarray:
    """(N, out_h, out_w, C) view of filter tap (i, j) of every output position."""
    top, left = i * g.dilation_h, j * g.dilation_w
    return padded[:, top: top + (g.out_h - 1) * g.stride_h + 1: g.stride_h,
                  left: left + (g.out_w - 1) * g.stride_w + 1: g.stride_w]


def windows(x: np.ndarray, g: Geometry2D, pad_value: int = 0) -> np.ndarray:
    """NHWC `x` -> (N, out_h, out_w, C, filter_h, filter_w) views of every filter window."""
    padded = pad_for_windows(x, g, pad_value)
    span_h = (g.filter_h - 1) * g.dilation_h + 1
    span_w = (g.filter_w - 1) * g.dilation_w + 1
    view = sliding_window_view(padded, (span_h, span_w), axis=(1, 2))
    view = view[:, : (g.out_h - 1) * g.stride_h + 1: g.stride_h, : (g.out_w - 1) * g.stride_w + 1: g.stride_w]
    return view[..., :: g.dilation_h, :: g.dilation_w]


def requantize(acc: np.ndarray, multipliers, shifts, output_offset: int, act_min: int, act_max: int,
               rounding: Rounding, dtype) -> np.ndarray:
    """int32 accumulators -> quantized outputs (per-channel multipliers along the last axis)."""
    check_int32(acc, "the accumulator (sum of products plus bias)")
    scaled = multiply_by_quantized_multiplier(acc, multipliers, shifts, rounding) + output_offset
    return np.clip(scaled, act_min, act_max).astype(dtype)


def conv2d(p: ConvParams, x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None,
           rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """CONV_2D: x (N,H,W,Cin) int8, weights (Cout,KH,KW,Cin) int8, bias (Cout,) int32."""
    shifted = x.astype(np.int64) + p.input_offset
    g = p.geometry
    if (g.filter_h, g.filter_w, g.stride_h, g.stride_w) == (1, 1, 1, 1):  # pointwise: no windows needed
        n, oh, ow = shifted.shape[:3]
        cols = shifted.reshape(n * oh * ow, -1)
    else:
        patches = windows(shifted, g)  # (N, OH, OW, Cin, KH, KW)
        n, oh, ow = patches.shape[:3]
        cols = patches.reshape(n * oh * ow, -1)
    kernel = weights.astype(np.int64).transpose(0, 3, 1, 2).reshape(weights.shape[0], -1)
    # numpy has no BLAS for integers; einsum's integer loops beat matmul's by about 2x
    acc = np.einsum("rk,ok->ro", cols, kernel)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    out = requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, rounding, out_dtype)
    return out.reshape(n, oh, ow, -1)


def depthwise_conv2d(p: ConvParams, x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None,
                     rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """DEPTHWISE_CONV_2D: weights (1,KH,KW,Cin*M); output channel c*M+m reads input channel c."""
    g = p.geometry
    padded = pad_for_windows(x.astype(np.int64) + p.input_offset, g)
    kernel = weights.astype(np.int64).reshape(g.filter_h, g.filter_w, -1)  # (KH, KW, Cin*M)
    acc = np.zeros((x.shape[0], g.out_h, g.out_w, kernel.shape[2]), dtype=np.int64)
    for i in range(g.filter_h):
        for j in range(g.filter_w):
            values = tap(padded, g, i, j)
            if p.depth_multiplier > 1:
                values = np.repeat(values, p.depth_multiplier, axis=3)
            acc += values * kernel[i, j]
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    return requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, rounding, out_dtype)


def fully_connected(p: FullyConnectedParams, x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None,
                    rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """FULLY_CONNECTED: x (..., Cin) flattened to rows of Cin; weights (Cout, Cin)."""
    cin = weights.shape[1]
    rows = x.reshape(-1, cin).astype(np.int64) + p.input_offset
    kernel = weights.astype(np.int64) + p.weight_offset
    acc = rows @ kernel.T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    out = requantize(acc, p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, rounding, out_dtype)
    if p.keep_num_dims:
        return out.reshape(*x.shape[:-1], -1)
    return out
