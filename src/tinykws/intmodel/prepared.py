"""Kernels with their per-operator constants prepared once per model (the fast path of `run`).

The kernels of `ops_conv` / `ops_pool` / `ops_elementwise` are the specification; these
compute the same outputs bit for bit (tests/unit/test_intmodel_prepared.py compares them on
random inputs, including both code paths of each kernel), with the work that does not
depend on the input done when the model is first run:

- weights in float64 (C, K) layouts, the input offset folded into the bias
  (sum w * (x + offset) + b = sum w * x + (offset * sum w + b)), padded positions filled
  with the input zero point so that they still contribute nothing;
- the products summed in float64 (BLAS), exact because every partial sum is an integer
  below 2^53: |x| <= 2^8 and |w| <= 2^8 (int8 / uint8 with offsets), so a bound checked at
  preparation covers it; where the bound does not hold the generic kernel runs instead;
- im2col by one `take` of precomputed indices instead of sliding-window views;
- requantization by a `Requantizer` (int32 check skipped where a bound proves it).

`prepare(model, op)` returns a kernel `f(xs) -> array`, or None when the op keeps its
generic kernel (weights that are not constants, shapes or kinds not handled here).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinykws.fixedpoint.primitives import check_int32, dtype_range
from tinykws.intmodel import ops_activation, ops_conv, ops_pool
from tinykws.intmodel.graph import IntModel, IntOp
from tinykws.intmodel.params import Geometry2D
from tinykws.intmodel.requantizer import Requantizer, product_bound

Prepared = Callable[[list], np.ndarray]
FLOAT_EXACT = 1 << 53
# Above this many gathered values a depthwise convolution loops over its taps instead (the
# gathered windows would take filter_h * filter_w times the input's memory).
GATHER_LIMIT = 1 << 18


def window_indices(h: int, w: int, g: Geometry2D) -> tuple[np.ndarray, bool]:
    """Flat (row * w + col) indices of every output position's filter taps, shape
    (out_h * out_w, filter_h * filter_w); positions outside the input index h * w (a
    padding slot appended by the caller). Also whether any tap falls outside."""
    oh = np.arange(g.out_h)[:, None, None, None] * g.stride_h - g.pad_top
    ow = np.arange(g.out_w)[None, :, None, None] * g.stride_w - g.pad_left
    rows = oh + np.arange(g.filter_h)[None, None, :, None] * g.dilation_h
    cols = ow + np.arange(g.filter_w)[None, None, None, :] * g.dilation_w
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat = np.where(inside, rows * w + cols, h * w)
    return flat.reshape(g.out_h * g.out_w, g.filter_h * g.filter_w), not bool(inside.all())


class _Gather:
    """(N, H, W, C) int inputs -> (N * out positions, taps, C) windows, padded with `fill`."""

    def __init__(self, shape: tuple[int, ...], g: Geometry2D, fill: int):
        self.h, self.w, self.c = shape[1:4]
        self.index, self.padded = window_indices(self.h, self.w, g)
        self.fill = fill
        self.taps = self.index.shape[1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        flat = x.reshape(n, self.h * self.w, self.c)
        if self.padded:
            pad = np.full((n, 1, self.c), self.fill, x.dtype)
            flat = np.concatenate([flat, pad], axis=1)
        return flat[:, self.index.reshape(-1)].reshape(-1, self.taps, self.c)


def _constant(model: IntModel, op: IntOp, position: int) -> np.ndarray | None:
    if len(op.inputs) <= position or op.inputs[position] < 0:
        return None
    return model.tensors[op.inputs[position]].data


def _float_exact(weights: np.ndarray, bias: np.ndarray, input_dtype, axis) -> bool:
    """Every partial sum of w * x (x raw input values) plus the folded bias is below 2^53."""
    return product_bound(weights, 0, input_dtype, bias, axis) < FLOAT_EXACT


def _folded_bias(weights: np.ndarray, bias: np.ndarray | None, offset: int, axis) -> np.ndarray:
    folded = weights.astype(np.int64).sum(axis=axis) * offset
    return folded + bias.astype(np.int64) if bias is not None else folded


def _input_dtype(model: IntModel, op: IntOp) -> np.dtype:
    return np.dtype(model.tensors[op.inputs[0]].dtype)


def _fill_fits(value: int, dtype) -> bool:
    """Whether padded positions can hold `value` (the input zero point) in `dtype`."""
    info = np.iinfo(dtype)
    return int(info.min) <= value <= int(info.max)


def prepare_conv2d(model: IntModel, op: IntOp) -> Prepared | None:
    """CONV_2D as one float64 matmul of gathered windows (exact, see the module docstring)."""
    p, weights, bias = op.params, _constant(model, op, 1), _constant(model, op, 2)
    x_tensor, out_dtype = model.tensors[op.inputs[0]], np.dtype(model.tensors[op.outputs[0]].dtype)
    in_dtype, g = np.dtype(x_tensor.dtype), p.geometry
    if (weights is None or (len(op.inputs) > 2 and op.inputs[2] >= 0 and bias is None) or weights.ndim != 4
            or not _fill_fits(-p.input_offset, in_dtype)):
        return None
    cout = weights.shape[0]
    folded = _folded_bias(weights, bias, p.input_offset, (1, 2, 3))
    if not _float_exact(weights, folded, in_dtype, (1, 2, 3)):
        return None
    kernel = weights.astype(np.float64).reshape(cout, -1).T.copy()  # (KH*KW*Cin, Cout)
    folded_f = folded.astype(np.float64)
    requant = Requantizer(p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, op.rounding, out_dtype,
                          product_bound(weights, p.input_offset, in_dtype, bias, (1, 2, 3)))
    shape = tuple(x_tensor.shape)
    pointwise = (g.filter_h, g.filter_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left) == (1, 1, 1, 1, 0, 0)
    gather = None if pointwise else _Gather(shape, g, -p.input_offset)

    def conv(xs: list) -> np.ndarray:
        x = xs[0]
        if x.dtype != in_dtype or x.shape[1:] != shape[1:]:
            return ops_conv.conv2d(p, x, weights, bias, op.rounding, out_dtype)
        n = x.shape[0]
        cols = x.reshape(-1, shape[3]) if gather is None else gather(x).reshape(n * g.out_h * g.out_w, -1)
        acc = cols.astype(np.float64) @ kernel
        acc += folded_f
        return requant(acc.astype(np.int64)).reshape(n, g.out_h, g.out_w, cout)

    return conv


def prepare_depthwise(model: IntModel, op: IntOp) -> Prepared | None:
    """DEPTHWISE_CONV_2D (depth multiplier 1) on gathered windows, or tap by tap for large
    batches, in float64 (exact, see the module docstring)."""
    p, weights, bias = op.params, _constant(model, op, 1), _constant(model, op, 2)
    x_tensor, out_dtype = model.tensors[op.inputs[0]], np.dtype(model.tensors[op.outputs[0]].dtype)
    in_dtype, g = np.dtype(x_tensor.dtype), p.geometry
    if (weights is None or (len(op.inputs) > 2 and op.inputs[2] >= 0 and bias is None) or p.depth_multiplier != 1
            or weights.ndim != 4 or not _fill_fits(-p.input_offset, in_dtype)):
        return None
    channels = weights.shape[3]
    taps = weights.reshape(g.filter_h * g.filter_w, channels)
    folded = _folded_bias(taps, bias, p.input_offset, 0)
    if not _float_exact(taps, folded, in_dtype, 0):
        return None
    taps_f, folded_f = taps.astype(np.float64), folded.astype(np.float64)
    requant = Requantizer(p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, op.rounding, out_dtype,
                          product_bound(taps, p.input_offset, in_dtype, bias, (0,)))
    shape = tuple(x_tensor.shape)
    gather = _Gather(shape, g, -p.input_offset)
    positions = g.out_h * g.out_w

    def depthwise(xs: list) -> np.ndarray:
        x = xs[0]
        if x.dtype != in_dtype or x.shape[1:] != shape[1:]:
            return ops_conv.depthwise_conv2d(p, x, weights, bias, op.rounding, out_dtype)
        n = x.shape[0]
        if n * positions * len(taps) * channels <= GATHER_LIMIT:
            acc = np.einsum("rtc,tc->rc", gather(x).astype(np.float64), taps_f)
        else:
            acc = depthwise_by_taps(x, g, taps_f, -p.input_offset).reshape(-1, channels)
        acc += folded_f
        return requant(acc.astype(np.int64)).reshape(n, g.out_h, g.out_w, channels)

    return depthwise


def depthwise_by_taps(x: np.ndarray, g: Geometry2D, taps: np.ndarray, fill: int) -> np.ndarray:
    """sum over taps of w * x (float64, (N, out_h, out_w, C)), x padded with `fill`."""
    padded = ops_conv.pad_for_windows(x.astype(np.float64), g, fill)
    acc = np.zeros((x.shape[0], g.out_h, g.out_w, taps.shape[1]))
    product = np.empty_like(acc)
    for t in range(len(taps)):
        i, j = divmod(t, g.filter_w)
        np.multiply(ops_conv.tap(padded, g, i, j), taps[t], out=product)
        acc += product
    return acc


def prepare_fully_connected(model: IntModel, op: IntOp) -> Prepared | None:
    """FULLY_CONNECTED as one float64 matmul with both offsets folded (exact)."""
    p, weights, bias = op.params, _constant(model, op, 1), _constant(model, op, 2)
    out_dtype = np.dtype(model.tensors[op.outputs[0]].dtype)
    in_dtype = _input_dtype(model, op)
    if weights is None or (len(op.inputs) > 2 and op.inputs[2] >= 0 and bias is None) or weights.ndim != 2:
        return None
    shifted = weights.astype(np.int64) + p.weight_offset  # (Cout, Cin)
    folded = _folded_bias(shifted, bias, p.input_offset, 1)
    if not _float_exact(shifted, folded, in_dtype, 1):
        return None
    kernel, folded_f = shifted.astype(np.float64).T.copy(), folded.astype(np.float64)
    requant = Requantizer(p.multipliers, p.shifts, p.output_offset, p.act_min, p.act_max, op.rounding, out_dtype,
                          product_bound(shifted, p.input_offset, in_dtype, bias, (1,)))
    cin = weights.shape[1]

    def fully_connected(xs: list) -> np.ndarray:
        x = xs[0]
        if x.dtype != in_dtype:
            return ops_conv.fully_connected(p, x, weights, bias, op.rounding, out_dtype)
        acc = x.reshape(-1, cin).astype(np.float64) @ kernel
        acc += folded_f
        out = requant(acc.astype(np.int64))
        return out.reshape(*x.shape[:-1], -1) if p.keep_num_dims else out

    return fully_connected


def prepare_average_pool(model: IntModel, op: IntOp) -> Prepared | None:
    """AVERAGE_POOL_2D whose one window is the whole input (global pooling): one sum."""
    p, x_tensor = op.params, model.tensors[op.inputs[0]]
    g, shape, dtype = p.geometry, tuple(x_tensor.shape), np.dtype(x_tensor.dtype)
    if (len(shape) != 4 or (g.out_h, g.out_w, g.pad_top, g.pad_left) != (1, 1, 0, 0)
            or (g.filter_h, g.filter_w) != shape[1:3]):
        return None
    count = g.filter_h * g.filter_w
    info = np.iinfo(dtype)
    fits = count * max(abs(int(info.min)), abs(int(info.max))) <= np.iinfo(np.int32).max

    def average_pool(xs: list) -> np.ndarray:
        x = xs[0]
        if x.dtype != dtype or x.shape[1:] != shape[1:]:
            return ops_pool.average_pool2d(p, x)
        total = x.sum(axis=(1, 2), keepdims=True, dtype=np.int64)
        if not fits:
            check_int32(total, "the window sum")
        # (|t| + count/2) // count with the sign of t: the C++ division truncating toward zero
        mean = (np.abs(total) + count // 2) // count
        mean *= np.sign(total)
        np.maximum(mean, p.act_min, out=mean)
        np.minimum(mean, p.act_max, out=mean)
        return mean.astype(dtype)

    return average_pool


def prepare_concatenation(model: IntModel, op: IntOp) -> Prepared | None:
    """CONCATENATION whose clamp range covers the output dtype: no clamp, no second copy."""
    p, out_dtype = op.params, np.dtype(model.tensors[op.outputs[0]].dtype)
    try:
        lo, hi = dtype_range(out_dtype)
    except KeyError:
        return None
    if p.act_min > lo or p.act_max < hi:
        return None

    def concatenation(xs: list) -> np.ndarray:
        out = np.concatenate(xs, axis=p.axis)
        if out.dtype != out_dtype:
            return np.clip(out, p.act_min, p.act_max).astype(out.dtype)
        return out

    return concatenation


def prepare_activation(model: IntModel, op: IntOp) -> Prepared | None:
    """LOGISTIC / TANH of int8 input as a table of the kernel's own output for every code
    (the generated C does the same): the fixed-point arithmetic runs 256 times, once."""
    if _input_dtype(model, op) != np.int8:
        return None
    out_dtype = np.dtype(model.tensors[op.outputs[0]].dtype)
    table = ops_activation.activation(op.params, np.arange(-128, 128, dtype=np.int8), op.rounding, out_dtype)
    # Reordered so the int8 codes index it through their uint8 view (a free reinterpretation,
    # strided inputs included): no widened copy of the input and no offset per call.
    by_byte = np.concatenate([table[128:], table[:128]])
    return lambda xs: by_byte[xs[0].view(np.uint8)]


PREPARERS: dict[str, Callable[[IntModel, IntOp], Prepared | None]] = {
    "conv2d": prepare_conv2d,
    "depthwise_conv2d": prepare_depthwise,
    "fully_connected": prepare_fully_connected,
    "average_pool2d": prepare_average_pool,
    "concatenation": prepare_concatenation,
    "logistic": prepare_activation,
    "tanh": prepare_activation,
}


def prepare(model: IntModel, op: IntOp) -> Prepared | None:
    """The prepared kernel of `op` in `model`, or None (use the generic kernel)."""
    preparer = PREPARERS.get(op.kind)
    if preparer is None or not op.inputs or op.inputs[0] < 0 or not np.issubdtype(_input_dtype(model, op), np.integer):
        return None
    return preparer(model, op)
