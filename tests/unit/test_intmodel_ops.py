"""Each integer kernel against LiteRT's reference kernels (OpResolverType.BUILTIN_REF) and
TFLite Micro, on single-operator int8 .tflite files built here with random tensors,
scales, zero points, paddings, strides and fused activations."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import UnsupportedOpError
from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_reader import parse_tflite
from tinykws.intmodel import intmodel_from_tflite, run

# Both engines are part of the test setup (the `tflite` extra): a missing one is a failure,
# never a silently halved check.
import ai_edge_litert.interpreter as litert  # noqa: E402
from tflite_micro.python.tflite_micro import runtime as tflm_runtime  # noqa: E402


def litert_outputs(data: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    interp = litert.Interpreter(model_content=data,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    for detail, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(detail["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def tflm_outputs(data: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    interp = tflm_runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    interp.invoke()
    return [interp.get_output(0)]


def ours(data: bytes, inputs: list[np.ndarray], arithmetic: str = "litert_ref") -> list[np.ndarray]:
    model = intmodel_from_tflite(parse_tflite(data, "single-op.tflite"), arithmetic=arithmetic)
    return list(run(model, inputs).outputs)


def assert_matches_reference(data: bytes, inputs: list[np.ndarray], check_tflm: bool = True) -> None:
    """Arithmetic litert_ref equals LiteRT BUILTIN_REF; arithmetic tflite_micro equals TFLite Micro."""
    expected = litert_outputs(data, inputs)
    got = ours(data, inputs)
    for e, g in zip(expected, got, strict=True):
        assert e.dtype == g.dtype
        np.testing.assert_array_equal(g.reshape(e.shape), e)
    if check_tflm:
        micro = tflm_outputs(data, inputs)
        got_micro = ours(data, inputs, arithmetic="tflite_micro")
        np.testing.assert_array_equal(got_micro[0].reshape(micro[0].shape), micro[0])


def random_int8(rng, shape) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def conv_model(rng, kind, in_shape, kernel, cout_or_mult, stride, padding, activation, dilation=1):
    """A CONV_2D or DEPTHWISE_CONV_2D model with per-channel weights and random quantization."""
    n, h, w, cin = in_shape
    kh, kw = kernel
    b = TFLiteGraphBuilder()
    in_scale, in_zp = float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128))
    if kind == "CONV_2D":
        cout = cout_or_mult
        w_shape = (cout, kh, kw, cin)
        fan_in = kh * kw * cin
        qdim = 0
    else:
        cout = cin * cout_or_mult
        w_shape = (1, kh, kw, cout)
        fan_in = kh * kw
        qdim = 3
    w_scales = rng.uniform(0.002, 0.02, size=cout).astype(np.float32)
    weights = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    bias_scales = (np.float32(in_scale) * w_scales).astype(np.float32)
    bias = rng.integers(-3000, 3000, size=cout).astype(np.int32)
    typical = in_scale * float(w_scales.mean()) * 127 * 60 * np.sqrt(fan_in)
    out_scale, out_zp = float(typical * rng.uniform(0.02, 0.08)), int(rng.integers(-30, 30))
    x = b.tensor(in_shape, scale=in_scale, zero_point=in_zp)
    wt = b.tensor(w_shape, scale=w_scales, data=weights, quantized_dimension=qdim)
    bt = b.tensor((cout,), np.int32, scale=bias_scales, data=bias)
    out_h = -(-h // stride) if padding == "SAME" else (h - (kh - 1) * dilation - 1) // stride + 1
    out_w = -(-w // stride) if padding == "SAME" else (w - (kw - 1) * dilation - 1) // stride + 1
    y = b.tensor((n, out_h, out_w, cout), scale=out_scale, zero_point=out_zp)
    options = dict(padding=padding, stride_h=stride, stride_w=stride, fused_activation_function=activation,
                   dilation_h_factor=dilation, dilation_w_factor=dilation)
    if kind == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = cout_or_mult
    b.operator(kind, [x, wt, bt], [y], version=3 if kind == "CONV_2D" else 3, **options)
    return b.to_bytes([x], [y])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv2d(seed, padding):
    rng = np.random.default_rng(seed)
    stride = [1, 2][seed % 2]
    activation = ["NONE", "RELU", "RELU6"][seed % 3]
    kernel = [(3, 3), (10, 4), (1, 1), (2, 3)][seed % 4]
    in_shape = (1, 13, 9, int(rng.integers(1, 5)))
    data = conv_model(rng, "CONV_2D", in_shape, kernel, int(rng.integers(2, 9)), stride, padding, activation)
    assert_matches_reference(data, [random_int8(rng, in_shape)])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_depthwise_conv2d(seed, padding):
    rng = np.random.default_rng(100 + seed)
    stride = [1, 2][seed % 2]
    activation = ["RELU", "NONE", "RELU6"][seed % 3]
    multiplier = [1, 2][seed // 3]
    in_shape = (1, 11, 7, int(rng.integers(2, 7)))
    data = conv_model(rng, "DEPTHWISE_CONV_2D", in_shape, (3, 3), multiplier, stride, padding, activation)
    assert_matches_reference(data, [random_int8(rng, in_shape)])


def test_conv2d_dilated():
    rng = np.random.default_rng(7)
    in_shape = (1, 12, 12, 3)
    data = conv_model(rng, "CONV_2D", in_shape, (3, 3), 4, 1, "SAME", "RELU", dilation=2)
    assert_matches_reference(data, [random_int8(rng, in_shape)], check_tflm=False)


def fc_model(rng, batch, cin, cout, activation, with_bias=True):
    b = TFLiteGraphBuilder()
    in_scale, in_zp = float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128))
    w_scale = float(rng.uniform(0.002, 0.02))
    out_scale = in_scale * w_scale * 127 * 60 * np.sqrt(cin) * float(rng.uniform(0.02, 0.08))
    x = b.tensor((batch, cin), scale=in_scale, zero_point=in_zp)
    wt = b.tensor((cout, cin), scale=w_scale, data=rng.integers(-127, 128, (cout, cin), dtype=np.int8))
    inputs = [x, wt]
    if with_bias:
        inputs.append(b.tensor((cout,), np.int32, scale=np.float32(in_scale) * np.float32(w_scale),
                               data=rng.integers(-5000, 5000, cout).astype(np.int32)))
    else:
        inputs.append(-1)
    y = b.tensor((batch, cout), scale=out_scale, zero_point=int(rng.integers(-30, 30)))
    b.operator("FULLY_CONNECTED", inputs, [y], version=4, fused_activation_function=activation)
    return b.to_bytes([x], [y])


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected(seed):
    rng = np.random.default_rng(200 + seed)
    batch, cin = [1, 3][seed % 2], int(rng.integers(8, 80))
    data = fc_model(rng, batch, cin, int(rng.integers(2, 20)), ["NONE", "RELU", "RELU6", "NONE"][seed % 4],
                    with_bias=seed != 5)
    assert_matches_reference(data, [random_int8(rng, (batch, cin))])


def unary_model(opcode, in_shape, out_shape, in_q, out_q, version=1, extra_inputs=(), **options):
    """A one-input model: `extra_inputs` are (shape, dtype, data) constant tensors."""
    b = TFLiteGraphBuilder()
    x = b.tensor(in_shape, scale=in_q[0], zero_point=in_q[1])
    consts = [b.tensor(shape, dtype, data=data) for shape, dtype, data in extra_inputs]
    y = b.tensor(out_shape, scale=out_q[0], zero_point=out_q[1])
    b.operator(opcode, [x, *consts], [y], version=version, **options)
    return b.to_bytes([x], [y])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("opcode", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pooling(seed, opcode):
    rng = np.random.default_rng(300 + seed)
    padding = ["SAME", "VALID"][seed % 2]
    fh, fw = [(2, 2), (3, 3), (25, 5), (3, 2)][seed % 4]
    stride = [1, 2, 3][seed % 3]
    h, w, c = (25, 5, 8) if (fh, fw) == (25, 5) else (9, 8, 5)
    out_h = -(-h // stride) if padding == "SAME" else (h - fh) // stride + 1
    out_w = -(-w // stride) if padding == "SAME" else (w - fw) // stride + 1
    q = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128)))
    data = unary_model(opcode, (1, h, w, c), (1, out_h, out_w, c), q, q, version=2, padding=padding,
                       stride_h=stride, stride_w=stride, filter_height=fh, filter_width=fw,
                       fused_activation_function=["NONE", "RELU", "RELU6"][seed % 3])
    assert_matches_reference(data, [random_int8(rng, (1, h, w, c))])


@pytest.mark.parametrize("seed", range(8))
def test_add(seed):
    rng = np.random.default_rng(400 + seed)
    shape = (1, 6, 5, 4)
    other_shape = shape if seed < 6 else (1, 1, 1, 4)  # broadcasting of a per-channel term
    b = TFLiteGraphBuilder()
    s1, s2 = rng.uniform(0.01, 0.2, 2)
    x1 = b.tensor(shape, scale=s1, zero_point=int(rng.integers(-128, 128)))
    x2 = b.tensor(other_shape, scale=s2, zero_point=int(rng.integers(-128, 128)))
    y = b.tensor(shape, scale=float((s1 + s2) * rng.uniform(0.6, 1.5)), zero_point=int(rng.integers(-40, 40)))
    b.operator("ADD", [x1, x2], [y], version=2, fused_activation_function=["NONE", "RELU", "RELU6", "NONE"][seed % 4])
    data = b.to_bytes([x1, x2], [y])
    assert_matches_reference(data, [random_int8(rng, shape), random_int8(rng, other_shape)])


@pytest.mark.parametrize("seed", range(10))
def test_softmax(seed):
    rng = np.random.default_rng(500 + seed)
    in_scale = float([0.005, 0.03, 0.1, 0.3, 1.0][seed % 5] * rng.uniform(0.7, 1.4))
    beta = [1.0, 1.0, 0.5, 2.0, 1.0][seed % 5]
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 40)))
    data = unary_model("SOFTMAX", shape, shape, (in_scale, int(rng.integers(-128, 128))), (1 / 256, -128),
                       version=2, beta=beta)
    x = random_int8(rng, shape)
    if seed % 3 == 0:
        x[0, :] = x[0, 0]  # a row of equal values: every exp is exactly one
    assert_matches_reference(data, [x])


@pytest.mark.parametrize("opcode", ["RELU", "RELU6"])
@pytest.mark.parametrize("seed", range(3))
def test_standalone_relu(opcode, seed):
    rng = np.random.default_rng(600 + seed)
    in_q = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-100, 100)))
    out_q = (in_q[0] * float(rng.uniform(0.5, 1.5)), int(rng.integers(-128, -100)))
    data = unary_model(opcode, (2, 7, 3), (2, 7, 3), in_q, out_q, version=2)
    # TFLite Micro's int8 RELU6 assumes equal input and output quantization, so it is
    # only compared where that holds (below).
    assert_matches_reference(data, [random_int8(rng, (2, 7, 3))], check_tflm=opcode == "RELU")
    same = unary_model(opcode, (2, 7, 3), (2, 7, 3), in_q, in_q, version=2)
    assert_matches_reference(same, [random_int8(rng, (2, 7, 3))])


def test_quantize_int8_to_int8():
    rng = np.random.default_rng(7)
    data = unary_model("QUANTIZE", (1, 40), (1, 40), (0.05, 3), (0.11, -20), version=2)
    assert_matches_reference(data, [random_int8(rng, (1, 40))])


def test_reshape_and_pad():
    rng = np.random.default_rng(8)
    q = (0.07, -5)
    reshaped = unary_model("RESHAPE", (1, 4, 3, 2), (1, 24), q, q,
                           extra_inputs=[((2,), np.int32, np.array([1, 24], np.int32))])
    assert_matches_reference(reshaped, [random_int8(rng, (1, 4, 3, 2))])
    paddings = np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32)
    padded = unary_model("PAD", (1, 4, 3, 2), (1, 7, 4, 2), q, q, version=2,
                         extra_inputs=[((4, 2), np.int32, paddings)])
    assert_matches_reference(padded, [random_int8(rng, (1, 4, 3, 2))])


def test_concatenation():
    rng = np.random.default_rng(9)
    b = TFLiteGraphBuilder()
    x1 = b.tensor((1, 3, 2), scale=0.05, zero_point=4)
    x2 = b.tensor((1, 3, 5), scale=0.05, zero_point=4)
    y = b.tensor((1, 3, 7), scale=0.05, zero_point=4)
    b.operator("CONCATENATION", [x1, x2], [y], axis=-1, fused_activation_function="NONE")
    data = b.to_bytes([x1, x2], [y])
    assert_matches_reference(data, [random_int8(rng, (1, 3, 2)), random_int8(rng, (1, 3, 5))])


def test_batch_equals_one_at_a_time():
    rng = np.random.default_rng(10)
    in_shape = (1, 9, 6, 3)
    data = conv_model(rng, "CONV_2D", in_shape, (3, 3), 5, 2, "SAME", "RELU")
    model = intmodel_from_tflite(parse_tflite(data))
    batch = random_int8(rng, (4, 9, 6, 3))
    together = run(model, batch).output
    apart = np.concatenate([run(model, batch[i:i + 1]).output for i in range(4)])
    np.testing.assert_array_equal(together, apart)


def test_unknown_operator_is_named():
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 4), scale=0.1, zero_point=0)
    y = b.tensor((1, 4), scale=0.1, zero_point=0)
    b.operator("HARD_SWISH", [x], [y])
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(HARD_SWISH\).*not supported"):
        intmodel_from_tflite(parse_tflite(b.to_bytes([x], [y]), "hard_swish.tflite"))


def test_float_model_is_rejected():
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 4), np.float32)
    y = b.tensor((1, 4), np.float32)
    b.operator("RELU", [x], [y])
    with pytest.raises(UnsupportedOpError, match="float32"):
        intmodel_from_tflite(parse_tflite(b.to_bytes([x], [y]), "float.tflite"))


@pytest.mark.parametrize("seed", [15, 18])
def test_fully_connected_rounding_differs_between_engines(seed):
    """LiteRT's reference FULLY_CONNECTED rounds once, TFLite Micro's twice: on these
    seeds (found by search) one output differs, and each arithmetic matches its engine."""
    rng = np.random.default_rng(seed)
    data = fc_model(rng, 64, 64, 12, "NONE")
    x = random_int8(rng, (64, 64))
    litert_ref = ours(data, [x], arithmetic="litert_ref")[0]
    micro = ours(data, [x], arithmetic="tflite_micro")[0]
    assert np.count_nonzero(litert_ref != micro) == 1
    np.testing.assert_array_equal(litert_ref, litert_outputs(data, [x])[0])
    np.testing.assert_array_equal(micro, tflm_outputs(data, [x])[0])


def mean_model(rng, in_shape, axes, keep_dims):
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(in_shape)) if keep_dims else tuple(
        d for i, d in enumerate(in_shape) if i not in axes)
    in_q = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128)))
    out_q = (in_q[0] * float(rng.uniform(0.3, 1.5)), int(rng.integers(-50, 50)))
    axes_data = np.array(axes, np.int32)
    return unary_model("MEAN", in_shape, out_shape, in_q, out_q, version=2,
                       extra_inputs=[(axes_data.shape, np.int32, axes_data)], keep_dims=keep_dims)


@pytest.mark.parametrize("shape, axes, keep_dims", [
    ((1, 25, 5, 16), (1, 2), True),  # global average pooling as Keras converts it
    ((1, 25, 5, 16), (1, 2), False),
    ((1, 7, 3, 16), (1,), True),
    ((2, 6, 4, 8), (1, 2, 3), False),
])
def test_mean(shape, axes, keep_dims):
    rng = np.random.default_rng(sum(shape) + len(axes))
    data = mean_model(rng, shape, axes, keep_dims)
    assert_matches_reference(data, [random_int8(rng, shape)])


def test_an_accumulator_outside_int32_is_an_error_naming_the_operator():
    """TFLite and the generated C accumulate in int32; the numpy runtime (int64) must not
    silently give what they cannot: 70,000 products of 127 * 255 exceed 2^31."""
    cin = 70_000
    b = TFLiteGraphBuilder()
    x = b.tensor((1, cin), scale=0.1, zero_point=-128)
    wt = b.tensor((1, cin), scale=0.01, data=np.full((1, cin), 127, np.int8))
    y = b.tensor((1, 1), scale=1000.0, zero_point=0, name="huge_fc")
    b.operator("FULLY_CONNECTED", [x, wt, -1], [y], version=4)
    model = intmodel_from_tflite(parse_tflite(b.to_bytes([x], [y]), "overflow.tflite"))
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(fully_connected, output 'huge_fc'\).*int32"):
        run(model, np.full((1, cin), 127, np.int8))
    # Half the inputs at the zero point: the sum fits, and the run is fine.
    half = np.where(np.arange(cin) % 2 == 0, 127, -128).astype(np.int8)[None]
    assert run(model, half).output.shape == (1, 1)
