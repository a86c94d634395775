"""Operator parameters of the integer network and how TFLite derives them from scales.

The parameter dataclasses are what the kernels execute: offsets, fixed-point multipliers
and shifts, clamp ranges and geometry, all integers. The `*_params` builder functions
reproduce TFLite's Prepare() arithmetic (float32 scales promoted to double, then
QuantizeMultiplier), so any front end (the .tflite importer, a quantized torch model)
gets bit-identical parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykws.fixedpoint.primitives import Rounding, calculate_input_radius, dtype_range, tflite_round
from tinykws.fixedpoint.primitives import quantize_multiplier as _quantize_multiplier


@dataclass(frozen=True)
class Geometry2D:
    """Sliding-window geometry along height and width (padding already resolved)."""

    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_top: int
    pad_left: int
    out_h: int
    out_w: int


@dataclass(frozen=True, eq=False)
class ConvParams:
    """conv2d / depthwise_conv2d: acc = sum w * (x + input_offset) + bias, then per-channel
    requantization by (multipliers, shifts), + output_offset, clamp [act_min, act_max]."""

    geometry: Geometry2D
    input_offset: int
    output_offset: int
    multipliers: np.ndarray
    shifts: np.ndarray
    act_min: int
    act_max: int
    depth_multiplier: int = 1


@dataclass(frozen=True, eq=False)
class FullyConnectedParams:
    input_offset: int
    weight_offset: int
    output_offset: int
    multipliers: np.ndarray  # one entry (per tensor) or one per output unit
    shifts: np.ndarray
    act_min: int
    act_max: int
    keep_num_dims: bool = False


@dataclass(frozen=True)
class PoolParams:
    geometry: Geometry2D
    act_min: int
    act_max: int


@dataclass(frozen=True)
class AddParams:
    """TFLite int8 ADD: both inputs rescaled to a common scale with `left_shift` extra bits."""

    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class SoftmaxParams:
    """Reference int8 softmax: input differences scaled to Q5.26 by (multiplier, left_shift);
    differences below `diff_min` contribute nothing."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclass(frozen=True)
class RequantizeParams:
    """Standalone RELU/RELU6/RELU_N1_TO_1 and QUANTIZE (int8 -> int8) rescaling."""

    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MeanParams:
    """MEAN over `axes` (batch excluded), as the reference QuantizedMeanOrSum: the sum of
    (x - input zero point) requantized by in_scale / out_scale with 1/count folded into
    the multiplier."""

    axes: tuple[int, ...]
    keep_dims: bool
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


@dataclass(frozen=True)
class ReshapeParams:
    shape: tuple[int, ...]


@dataclass(frozen=True)
class PadParams:
    paddings: tuple[tuple[int, int], ...]
    pad_value: int


@dataclass(frozen=True)
class ConcatParams:
    axis: int
    act_min: int
    act_max: int


def quantize_multiplier(real: float, rounding: Rounding) -> tuple[int, int]:
    """TFLite QuantizeMultiplier, refusing multipliers the kernels cannot apply: they shift
    an int32 left by `shift`, and past 31 bits nothing of it is left (ValueError)."""
    multiplier, shift = _quantize_multiplier(real, rounding)
    if shift > 31:
        raise ValueError(f"requantization multiplier {real!r} is too large for TFLite's fixed-point form (>= 2^31)")
    return multiplier, shift


def output_size_and_padding(in_size: int, filter_size: int, stride: int, dilation: int,
                            padding: str) -> tuple[int, int]:
    """(output size, padding before) along one axis, as TFLite computes them."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size - effective + stride) // stride
    else:
        raise ValueError(f"unknown padding {padding!r}")
    total = max(0, (out - 1) * stride + effective - in_size)
    return out, total // 2


def geometry(in_h: int, in_w: int, filter_h: int, filter_w: int, stride_h: int, stride_w: int,
             padding: str, dilation_h: int = 1, dilation_w: int = 1) -> Geometry2D:
    """Resolve SAME/VALID padding for an NHWC input of spatial size in_h x in_w."""
    sizes = {"filter height": filter_h, "filter width": filter_w, "stride height": stride_h,
             "stride width": stride_w, "dilation height": dilation_h, "dilation width": dilation_w}
    bad = [f"{name} {value}" for name, value in sizes.items() if value < 1]
    if bad:
        raise ValueError(f"invalid window: {', '.join(bad)}")
    out_h, pad_top = output_size_and_padding(in_h, filter_h, stride_h, dilation_h, padding)
    out_w, pad_left = output_size_and_padding(in_w, filter_w, stride_w, dilation_w, padding)
    return Geometry2D(filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                      out_h, out_w)


def activation_range(activation: str, scale: float, zero_point: int, dtype) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized: the clamp range of a fused activation.

    The real bounds are divided by the output scale in float32, rounded half away from
    zero and offset by the zero point, then intersected with the dtype's range.
    """
    lo, hi = dtype_range(dtype)

    def quantize(real: float) -> int:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            q = tflite_round(float(np.float32(real) / np.float32(scale)))
        if q != q:
            raise ValueError(f"output scale {scale!r} gives no activation range")
        # A tiny scale overflows float32 to +-inf: the bound is then outside the dtype anyway.
        return zero_point + int(max(min(q, 2.0 ** 40), -(2.0 ** 40)))

    if activation in ("NONE", None):
        return lo, hi
    if activation == "RELU":
        return max(lo, quantize(0.0)), hi
    if activation == "RELU6":
        return max(lo, quantize(0.0)), min(hi, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    raise ValueError(f"unsupported fused activation {activation!r}")


def channel_multipliers(input_scale: float, weight_scales, output_scale: float,
                        rounding: Rounding) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) for conv/depthwise: input*weight/output in double."""
    multipliers, shifts = [], []
    for w in np.asarray(weight_scales, dtype=np.float32).reshape(-1):
        real = float(np.float32(input_scale)) * float(w) / float(np.float32(output_scale))
        m, s = quantize_multiplier(real, rounding)
        multipliers.append(m)
        shifts.append(s)
    return np.array(multipliers, np.int64), np.array(shifts, np.int64)


def fully_connected_multiplier(input_scale: float, weight_scale: float, output_scale: float,
                               rounding: Rounding) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED (multiplier, shift), as GetQuantizedConvolutionMultipler."""
    real = float(np.float32(input_scale)) * float(np.float32(weight_scale)) / float(np.float32(output_scale))
    return quantize_multiplier(real, rounding)


def add_params(scale1: float, zp1: int, scale2: float, zp2: int, out_scale: float, out_zp: int,
               act: tuple[int, int], rounding: Rounding, left_shift: int = 20) -> AddParams:
    """TFLite int8 ADD parameters (left shift 20, inputs rescaled to 2 * max input scale)."""
    s1, s2, so = (float(np.float32(s)) for s in (scale1, scale2, out_scale))
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max, rounding)
    m2, sh2 = quantize_multiplier(s2 / twice_max, rounding)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so), rounding)
    return AddParams(left_shift, -zp1, m1, sh1, -zp2, m2, sh2, out_zp, mo, sho, act[0], act[1])


def softmax_params(input_scale: float, beta: float, rounding: Rounding,
                   scaled_diff_integer_bits: int = 5) -> SoftmaxParams:
    """TFLite PreprocessSoftmaxScaling + CalculateInputRadius for the reference int8 softmax."""
    max_real = float((1 << 30) - 1) if rounding == "single" else float((1 << 31) - 1)
    real = min(float(np.float32(beta)) * float(np.float32(input_scale))
               * (1 << (31 - scaled_diff_integer_bits)), max_real)
    multiplier, left_shift = quantize_multiplier(real, rounding)
    if left_shift < 0:
        raise ValueError(f"softmax input scale {input_scale} is too small for the reference kernel")
    return SoftmaxParams(multiplier, left_shift, -calculate_input_radius(scaled_diff_integer_bits, left_shift))


def requantize_multiplier(in_scale: float, out_scale: float, rounding: Rounding) -> tuple[int, int]:
    """(multiplier, shift) of in_scale / out_scale computed in double."""
    return quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)), rounding)


def requantize_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int,
                      act: tuple[int, int], rounding: Rounding) -> RequantizeParams:
    """Rescale int8 -> int8 by in_scale / out_scale (double) and clamp."""
    m, s = requantize_multiplier(in_scale, out_scale, rounding)
    return RequantizeParams(in_zp, out_zp, m, s, act[0], act[1])
