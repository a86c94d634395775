"""Every C kernel against the numpy runtime, bit for bit: single-operator networks with
random tensors, scales, zero points, paddings, strides, dilations, depth multipliers and
fused activations (the builders of test_intmodel_ops, whose numpy results are themselves
checked against LiteRT and TFLite Micro), for both arithmetics and both C paths (portable
and the Cortex-M DSP path with emulated intrinsics). All cases run side by side in one
generated network, so each configuration is one C build."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from c_cases import compare_c_with_numpy, merge_models, random_records
from test_intmodel_ops import conv_model, fc_model, mean_model, unary_model
from test_intmodel_slice import slice_model
from tinykws.codegen import generate_project
from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_reader import parse_tflite
from tinykws.intmodel import IntModel, intmodel_from_tflite

ARITHMETICS = ("tflite_micro", "litert_ref")


def per_channel_fc_model(rng, batch: int, cin: int, cout: int) -> bytes:
    b = TFLiteGraphBuilder()
    in_scale, in_zp = float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128))
    w_scales = rng.uniform(0.002, 0.02, size=cout).astype(np.float32)
    out_scale = in_scale * float(w_scales.mean()) * 127 * 60 * np.sqrt(cin) * float(rng.uniform(0.02, 0.08))
    x = b.tensor((batch, cin), scale=in_scale, zero_point=in_zp)
    w = b.tensor((cout, cin), scale=w_scales, data=rng.integers(-127, 128, (cout, cin), dtype=np.int8))
    bias = b.tensor((cout,), np.int32, scale=np.float32(in_scale) * w_scales,
                    data=rng.integers(-5000, 5000, cout).astype(np.int32))
    y = b.tensor((batch, cout), scale=out_scale, zero_point=int(rng.integers(-30, 30)))
    b.operator("FULLY_CONNECTED", [x, w, bias], [y], version=4, fused_activation_function="RELU")
    return b.to_bytes([x], [y])


def add_model(rng, shape, other_shape, activation) -> bytes:
    b = TFLiteGraphBuilder()
    s1, s2 = rng.uniform(0.01, 0.2, 2)
    x1 = b.tensor(shape, scale=s1, zero_point=int(rng.integers(-128, 128)))
    x2 = b.tensor(other_shape, scale=s2, zero_point=int(rng.integers(-128, 128)))
    y = b.tensor(shape, scale=float((s1 + s2) * rng.uniform(0.6, 1.5)), zero_point=int(rng.integers(-40, 40)))
    b.operator("ADD", [x1, x2], [y], version=2, fused_activation_function=activation)
    return b.to_bytes([x1, x2], [y])


def concat_model() -> bytes:
    b = TFLiteGraphBuilder()
    x1 = b.tensor((1, 3, 2, 2), scale=0.05, zero_point=4)
    x2 = b.tensor((1, 3, 2, 5), scale=0.05, zero_point=4)
    x3 = b.tensor((1, 3, 2, 1), scale=0.05, zero_point=4)
    y = b.tensor((1, 3, 2, 8), scale=0.05, zero_point=4)
    b.operator("CONCATENATION", [x1, x2, x3], [y], axis=-1, fused_activation_function="RELU")
    return b.to_bytes([x1, x2, x3], [y])


def pool_model(rng, opcode, hwc, filt, stride, padding, activation) -> bytes:
    h, w, c = hwc
    out_h = -(-h // stride) if padding == "SAME" else (h - filt[0]) // stride + 1
    out_w = -(-w // stride) if padding == "SAME" else (w - filt[1]) // stride + 1
    q = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128)))
    return unary_model(opcode, (1, h, w, c), (1, out_h, out_w, c), q, q, version=2, padding=padding,
                       stride_h=stride, stride_w=stride, filter_height=filt[0], filter_width=filt[1],
                       fused_activation_function=activation)


def cases() -> dict[str, bytes]:
    """name -> single-op .tflite bytes."""
    rng = np.random.default_rng(2024)
    found: dict[str, bytes] = {}
    convs = [  # (input shape, kernel, out channels, stride, padding, activation, dilation)
        ((1, 49, 10, 1), (10, 4), 64, 2, "SAME", "RELU", 1),  # the MLPerf DS-CNN's first layer
        ((1, 13, 9, 3), (3, 3), 7, 1, "SAME", "NONE", 1),
        ((1, 13, 9, 4), (3, 3), 8, 2, "VALID", "RELU6", 1),
        ((1, 12, 11, 3), (5, 5), 6, 2, "SAME", "RELU", 1),
        ((1, 11, 7, 5), (2, 3), 5, 1, "VALID", "RELU", 1),
        ((1, 12, 12, 3), (3, 3), 4, 1, "SAME", "RELU", 2),
        ((1, 9, 9, 6), (1, 1), 5, 2, "SAME", "NONE", 1),  # strided 1x1 (ResNet shortcut)
        ((1, 25, 5, 64), (1, 1), 64, 1, "SAME", "RELU", 1),  # pointwise
        ((1, 7, 3, 5), (1, 1), 9, 1, "VALID", "RELU6", 1),  # pointwise, more outputs than inputs
        ((1, 5, 5, 12), (1, 1), 3, 1, "SAME", "NONE", 1),
        ((2, 6, 5, 3), (3, 3), 4, 1, "SAME", "RELU", 1),  # a batch of two
    ]
    for n, (shape, kernel, cout, stride, padding, act, dil) in enumerate(convs):
        found[f"conv{n} {shape} {kernel} s{stride} {padding} d{dil}"] = conv_model(
            rng, "CONV_2D", shape, kernel, cout, stride, padding, act, dilation=dil)
    depthwise = [  # (input shape, kernel, multiplier, stride, padding, activation, dilation)
        ((1, 25, 5, 64), (3, 3), 1, 1, "SAME", "RELU", 1),
        ((1, 11, 7, 5), (3, 3), 1, 2, "SAME", "RELU6", 1),
        ((1, 11, 7, 3), (3, 3), 2, 1, "VALID", "NONE", 1),
        ((1, 10, 9, 2), (3, 3), 3, 2, "VALID", "RELU", 1),
        ((1, 12, 10, 4), (5, 5), 1, 1, "SAME", "RELU", 1),
        ((1, 12, 12, 3), (3, 3), 1, 1, "SAME", "NONE", 2),
        ((1, 1, 101, 8), (1, 5), 1, 1, "SAME", "RELU", 1),  # MatchboxNet's 1-D depthwise
    ]
    for n, (shape, kernel, mult, stride, padding, act, dil) in enumerate(depthwise):
        found[f"depthwise{n} {shape} {kernel} m{mult} s{stride} {padding} d{dil}"] = conv_model(
            rng, "DEPTHWISE_CONV_2D", shape, kernel, mult, stride, padding, act, dilation=dil)
    for n, (batch, cin, cout, act, bias) in enumerate([(1, 64, 12, "NONE", True), (3, 37, 7, "RELU", True),
                                                       (1, 640, 128, "RELU", True), (2, 8, 5, "RELU6", False)]):
        found[f"fc{n} {batch}x{cin}->{cout}"] = fc_model(rng, batch, cin, cout, act, with_bias=bias)
    found["fc per-channel"] = per_channel_fc_model(rng, 2, 29, 6)
    found["depthwise 3x3 s1, 6 channels"] = conv_model(rng, "DEPTHWISE_CONV_2D", (1, 12, 10, 6), (3, 3), 1, 1, "SAME",
                                                       "RELU6", dilation=1)
    found["depthwise 3x3 s1 valid, odd rows"] = conv_model(rng, "DEPTHWISE_CONV_2D", (1, 9, 6, 8), (3, 3), 1, 1,
                                                           "VALID", "NONE", dilation=1)
    for n, (opcode, hwc, filt, stride, padding, act) in enumerate([
            ("AVERAGE_POOL_2D", (25, 5, 64), (25, 5), 1, "VALID", "NONE"),
            ("AVERAGE_POOL_2D", (9, 8, 5), (3, 3), 2, "SAME", "RELU"),
            ("AVERAGE_POOL_2D", (9, 8, 5), (3, 2), 1, "SAME", "RELU6"),
            ("MAX_POOL_2D", (9, 8, 5), (2, 2), 2, "VALID", "NONE"),
            ("MAX_POOL_2D", (9, 8, 5), (3, 3), 2, "SAME", "RELU"),
            ("AVERAGE_POOL_2D", (9, 8, 8), (3, 3), 2, "SAME", "RELU6"),  # four channels at a time
            ("AVERAGE_POOL_2D", (16, 16, 4), (16, 16), 1, "VALID", "NONE")]):  # 256 values: too many for int16 lanes
        found[f"pool{n} {opcode} {hwc} {filt} s{stride} {padding}"] = pool_model(rng, opcode, hwc, filt, stride,
                                                                                 padding, act)
    found["add same"] = add_model(rng, (1, 6, 5, 4), (1, 6, 5, 4), "RELU")
    found["add broadcast"] = add_model(rng, (1, 6, 5, 4), (1, 1, 1, 4), "NONE")
    found["add broadcast rows"] = add_model(rng, (1, 6, 5, 4), (1, 6, 1, 1), "RELU6")
    for n, (shape, scale, beta) in enumerate([((1, 12), 0.1, 1.0), ((3, 2), 0.03, 1.0), ((2, 37), 1.0, 1.0),
                                              ((1, 10), 0.005, 2.0), ((1, 3), 0.3, 0.5)]):
        found[f"softmax{n} {shape}"] = unary_model("SOFTMAX", shape, shape, (scale, int(rng.integers(-128, 128))),
                                                   (1 / 256, -128), version=2, beta=beta)
    found["relu"] = unary_model("RELU", (2, 7, 3), (2, 7, 3), (0.05, 10), (0.06, -120), version=2)
    found["relu6"] = unary_model("RELU6", (2, 7, 3), (2, 7, 3), (0.05, 10), (0.05, 10), version=2)
    found["quantize"] = unary_model("QUANTIZE", (1, 40), (1, 40), (0.05, 3), (0.11, -20), version=2)
    found["reshape"] = unary_model("RESHAPE", (1, 4, 3, 2), (1, 24), (0.07, -5), (0.07, -5),
                                   extra_inputs=[((2,), np.int32, np.array([1, 24], np.int32))])
    found["pad"] = unary_model("PAD", (1, 4, 3, 2), (1, 7, 4, 2), (0.07, -5), (0.07, -5), version=2,
                               extra_inputs=[((4, 2), np.int32, np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))])
    found["concatenation"] = concat_model()
    for n, (shape, axes, keep) in enumerate([((1, 25, 5, 16), (1, 2), True), ((1, 7, 3, 16), (1,), True),
                                             ((2, 6, 4, 8), (1, 2, 3), False)]):
        found[f"mean{n} {shape} {axes}"] = mean_model(np.random.default_rng(n), shape, axes, keep)
    for n, (shape, begin, end, strides, out, bmask, emask) in enumerate([  # ring buffers of streaming steps
            ((1, 5, 4, 3), [0, 1, 0, 0], [1, 5, 4, 3], [1, 1, 1, 1], (1, 4, 4, 3), 0, 0),
            ((1, 23, 5, 2), [0, 0, 0, 0], [0, 23, 5, 2], [1, 2, 1, 1], (1, 12, 5, 2), 1, 1),
            ((1, 7, 9), [0, -4, 1], [1, 99, 9], [1, 1, 3], (1, 4, 3), 0, 0)]):
        found[f"strided_slice{n} {shape}"] = slice_model(shape, begin, end, strides, out, bmask, emask)
    found.update(gated_cases(rng))
    return found


def gated_cases(rng) -> dict[str, bytes]:
    """LOGISTIC, TANH (on scales where LiteRT's table and TFLite Micro's fixed point differ,
    so each arithmetic's C table is checked), MUL, SUB, SPLIT and BATCH_MATMUL."""
    from test_intmodel_ops_activation import binary_model

    found = {}
    for opcode, scale in (("LOGISTIC", 0.0014395035637338159), ("TANH", 0.00027913287215319664),
                          ("LOGISTIC", 0.04), ("TANH", 0.11)):
        out_q = (1 / 256, -128) if opcode == "LOGISTIC" else (1 / 128, 0)
        found[f"{opcode.lower()} {scale:.4g}"] = unary_model(opcode, (1, 4, 64), (1, 4, 64), (scale, 3), out_q)
    for opcode in ("MUL", "SUB"):
        for other in ((1, 5, 4, 6), (1, 5, 1, 6)):
            found[f"{opcode.lower()} {other}"] = binary_model(opcode, (1, 5, 4, 6), other, (1, 5, 4, 6), rng, "RELU")
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 7, 5), scale=0.03, zero_point=4)
    axis = b.tensor((1,), np.int32, data=np.array([1], np.int32))
    outs = [b.tensor((1, 1, 5), scale=0.03, zero_point=4) for _ in range(7)]
    b.operator("SPLIT", [axis, x], outs, version=2, num_splits=7)
    found["split 7 steps"] = b.to_bytes([x], outs)
    b = TFLiteGraphBuilder()
    lhs = b.tensor((1, 1, 13), scale=1 / 256, zero_point=-128)
    rhs = b.tensor((1, 13, 9), scale=0.01, zero_point=-7)
    y = b.tensor((1, 1, 9), scale=0.012, zero_point=3)
    b.operator("BATCH_MATMUL", [lhs, rhs], [y], version=1, adj_x=False, adj_y=False)
    found["batch_matmul attention"] = b.to_bytes([lhs, rhs], [y])
    return found


def variants(models: dict[str, IntModel]) -> dict[str, IntModel]:
    """Parameters TFLite's converter would not write but the kernels must run exactly as the
    numpy runtime does: shifts of 0 and +1 (no fast requantization on the DSP path), a huge
    bias, a weight zero point in FULLY_CONNECTED."""
    found = {}
    for name, shift in (("conv0 (1, 49, 10, 1) (10, 4) s2 SAME d1", 0), ("conv7 (1, 25, 5, 64) (1, 1) s1 SAME d1", 1),
                        ("depthwise0 (1, 25, 5, 64) (3, 3) m1 s1 SAME d1", 0)):
        model = models[name]
        op = model.ops[0]
        shifts = np.array(op.params.shifts)
        shifts[::3] = shift  # every third channel: too large a scale for the fast path
        multipliers = np.array(op.params.multipliers)
        multipliers[::3] //= 2 if shift > 0 else 1
        found[f"{name}, shift {shift}"] = replace(model, ops=(replace(op, params=replace(
            op.params, shifts=shifts, multipliers=multipliers)),))
    model = models["conv1 (1, 13, 9, 3) (3, 3) s1 SAME d1"]
    bias = model.tensors[model.ops[0].inputs[2]]
    tensors = list(model.tensors)
    tensors[model.ops[0].inputs[2]] = replace(bias, data=(bias.data.astype(np.int64) + (1 << 30)).astype(np.int32))
    found["conv1, huge bias"] = replace(model, tensors=tuple(tensors))
    model = models["fc1 3x37->7"]
    found["fc1, weight offset 3"] = replace(model, ops=(replace(model.ops[0], params=replace(
        model.ops[0].params, weight_offset=3)),))
    return found


CASES = cases()


@pytest.fixture(scope="module")
def c_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("c_host_cache")


@pytest.mark.parametrize("arithmetic, emulate_dsp, block_pixels", [
    ("tflite_micro", False, 16), ("tflite_micro", True, 16), ("tflite_micro", True, 2),
    ("litert_ref", False, 16), ("litert_ref", True, 16),
], ids=["tflite_micro-portable", "tflite_micro-dsp", "tflite_micro-dsp-block2", "litert_ref-portable",
        "litert_ref-dsp"])
def test_every_kernel_bit_exact(arithmetic, emulate_dsp, block_pixels, tmp_path, c_cache):
    imported = {n: intmodel_from_tflite(parse_tflite(CASES[n], f"{n}.tflite"), arithmetic) for n in CASES}
    imported.update(variants(imported))
    names = list(imported)
    models = [imported[n] for n in names]
    merged = merge_models(models)
    records = random_records(merged, 6, seed=1)
    records[0], records[1] = -128, 127  # saturated inputs
    project = generate_project(merged, tmp_path / "c", block_pixels=block_pixels)
    result = compare_c_with_numpy(models, tmp_path / "c", c_cache, records=records, emulate_dsp=emulate_dsp,
                                  project=project)
    assert result.differing(names) == []


def test_cases_cover_every_kernel():
    kinds = {op.kind for n in CASES for op in intmodel_from_tflite(parse_tflite(CASES[n])).ops}
    from tinykws.intmodel import KERNELS

    assert kinds == set(KERNELS)
