"""The prepared kernels (the fast path `run` takes) against the generic kernels they replace:
array_equal on random inputs, extreme values, every geometry the models use, both code
paths of each kernel, and the int32 overflow error where a bound cannot rule it out."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.fixedpoint.primitives import INT32_MAX, Int32RangeError
from tinykws.intmodel import ops_conv, prepared
from tinykws.intmodel.graph import IntModel, IntOp, IntTensor
from tinykws.intmodel.params import ConcatParams, ConvParams, FullyConnectedParams, PoolParams, geometry
from tinykws.intmodel.requantizer import Requantizer
from tinykws.intmodel.runtime import KERNELS

INT8 = np.dtype(np.int8)


def tensor(name, shape, data=None, dtype=INT8):
    return IntTensor(name=name, shape=tuple(shape), dtype=np.dtype(dtype), scale=0.1, data=data)


def multipliers(rng, n, low=-12, high=2):
    """Per-channel multipliers in [2^30, 2^31) and shifts in [low, high]."""
    return rng.integers(1 << 30, 1 << 31, n).astype(np.int64), rng.integers(low, high + 1, n).astype(np.int64)


def one_op_model(kind, params, x_shape, out_shape, constants=(), rounding="double"):
    tensors = [tensor("x", x_shape)] + [tensor(f"c{i}", c.shape, c, c.dtype) for i, c in enumerate(constants)]
    tensors.append(tensor("y", out_shape))
    inputs = tuple(range(len(tensors) - 1))
    op = IntOp(kind, inputs, (len(tensors) - 1,), params, rounding)
    return IntModel(tuple(tensors), (op,), (0,), (len(tensors) - 1,))


def assert_same_as_generic(model, x):
    """The prepared kernel exists and equals the generic kernel on x."""
    op = model.ops[0]
    fast = prepared.prepare(model, op)
    assert fast is not None, f"{op.kind} was not prepared"
    xs = [x] + [model.tensors[i].data for i in op.inputs[1:]]
    out_dtype = model.tensors[op.outputs[0]].dtype
    expected = KERNELS[op.kind](op, xs, np.dtype(out_dtype), op.rounding)
    got = fast(xs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def random_int8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("shifts", ["mixed", "right", "uniform", "left"])
def test_requantizer_equals_requantize(rounding, shifts):
    rng = np.random.default_rng(len(shifts) + len(rounding))
    m, s = multipliers(rng, 16)
    s = {"mixed": s, "right": -np.abs(s) - 1, "uniform": np.full(16, -7), "left": np.abs(s) % 3}[shifts]
    s[:4] = s[:4] if shifts != "right" else [-1, -2, -3, -4]  # small shifts: outputs inside the clamp
    bound = (1 << 20) if shifts != "left" else (1 << 27)
    acc = rng.integers(-bound, bound + 1, (300, 16))
    acc[:16] = np.array([0, 1, -1, bound, -bound, 2, -2, 3, -3, 1 << 10, -(1 << 10), 5, -5, 7, -7, 6])[:, None]
    every = np.repeat(np.arange(-(1 << 12), (1 << 12) + 1)[:, None], 16, axis=1)
    for m, acc in ((m, acc), (np.full(16, 1 << 30), every)):  # multiplier 1/2: every rounding tie
        for offset, lo, hi in ((-5, -128, 127), (20, -3, 100)):
            expected = ops_conv.requantize(acc.copy(), m, s, offset, lo, hi, rounding, np.int8)
            for known in (bound, None, INT32_MAX + 1):
                got = Requantizer(m, s, offset, lo, hi, rounding, np.int8, known)(acc.copy())
                np.testing.assert_array_equal(got, expected)


def test_requantizer_checks_int32_only_without_a_bound():
    m, s = multipliers(np.random.default_rng(0), 2)
    acc = np.array([[INT32_MAX + 1, 0]])
    with pytest.raises(Int32RangeError):
        Requantizer(m, s, 0, -128, 127, "double", np.int8, None)(acc.copy())
    with pytest.raises(Int32RangeError):
        Requantizer(m, s, 0, -128, 127, "double", np.int8, 1 << 40)(acc.copy())


CONV_CASES = [  # (input shape, kernel, cout, strides, padding, dilation)
    ((2, 14, 12, 1), (10, 4), 8, (1, 2), "VALID", (1, 1)),  # the streaming step's first conv
    ((3, 49, 10, 1), (10, 4), 8, (2, 2), "SAME", (1, 1)),  # the MLPerf DS-CNN's first conv
    ((2, 5, 5, 16), (1, 1), 12, (1, 1), "VALID", (1, 1)),  # pointwise
    ((1, 7, 6, 3), (3, 3), 5, (2, 1), "SAME", (2, 1)),
    ((2, 6, 5, 4), (3, 2), 6, (1, 1), "SAME", (1, 2)),
]


def conv_params(rng, x_shape, kernel, channels, strides, padding, dilation):
    g = geometry(x_shape[1], x_shape[2], *kernel, *strides, padding, *dilation)
    m, s = multipliers(rng, channels)
    zp = int(rng.integers(-128, 128))
    return g, ConvParams(g, -zp, int(rng.integers(-20, 20)), m, s, -128, int(rng.integers(0, 128)))


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
@pytest.mark.parametrize("seed", range(3))
def test_conv2d(case, seed):
    rng = np.random.default_rng(10 * case + seed)
    x_shape, kernel, cout, strides, padding, dilation = CONV_CASES[case]
    g, p = conv_params(rng, x_shape, kernel, cout, strides, padding, dilation)
    weights = random_int8(rng, (cout, *kernel, x_shape[3]))
    bias = rng.integers(-5000, 5000, cout).astype(np.int32)
    model = one_op_model("conv2d", p, x_shape, (x_shape[0], g.out_h, g.out_w, cout), (weights, bias))
    assert_same_as_generic(model, random_int8(rng, x_shape))
    assert_same_as_generic(model, np.full(x_shape, -128, np.int8))  # extreme values
    assert_same_as_generic(model, np.full(x_shape, 127, np.int8))


@pytest.mark.parametrize("case", [1, 3, 4])
@pytest.mark.parametrize("batch", [1, 300])  # gathered windows, then tap by tap
def test_depthwise_conv2d(case, batch):
    rng = np.random.default_rng(case + batch)
    x_shape, kernel, _, strides, padding, dilation = CONV_CASES[case]
    x_shape = (batch, *x_shape[1:3], 8)
    g, p = conv_params(rng, x_shape, kernel, 8, strides, padding, dilation)
    weights = random_int8(rng, (1, *kernel, 8))
    bias = rng.integers(-5000, 5000, 8).astype(np.int32)
    model = one_op_model("depthwise_conv2d", p, x_shape, (batch, g.out_h, g.out_w, 8), (weights, bias))
    assert (batch * g.out_h * g.out_w * kernel[0] * kernel[1] * 8 > prepared.GATHER_LIMIT) == (batch == 300)
    assert_same_as_generic(model, random_int8(rng, x_shape))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_fully_connected_with_offsets(rounding):
    rng = np.random.default_rng(5)
    weights = random_int8(rng, (12, 64))
    m, s = multipliers(rng, 1)
    p = FullyConnectedParams(-3, 7, -9, m, s, -128, 127)
    bias = rng.integers(-900, 900, 12).astype(np.int32)
    model = one_op_model("fully_connected", p, (5, 64), (5, 12), (weights, bias), rounding)
    assert_same_as_generic(model, random_int8(rng, (5, 64)))


@pytest.mark.parametrize("shape", [(1, 12, 5, 64), (3, 25, 5, 16), (2, 1, 1, 4)])
def test_global_average_pool(shape):
    rng = np.random.default_rng(shape[1])
    g = geometry(shape[1], shape[2], shape[1], shape[2], shape[1], shape[2], "VALID")
    model = one_op_model("average_pool2d", PoolParams(g, -100, 120), shape, (shape[0], 1, 1, shape[3]))
    assert_same_as_generic(model, random_int8(rng, shape))
    assert_same_as_generic(model, np.full(shape, -128, np.int8))
    halves = np.where(np.arange(shape[1] * shape[2]) % 2 == 0, 3, -4).reshape(1, shape[1], shape[2], 1)
    assert_same_as_generic(model, np.broadcast_to(halves, shape).astype(np.int8))  # means ending in .5


def test_concatenation_and_what_is_not_prepared():
    rng = np.random.default_rng(1)
    p = ConcatParams(1, -128, 127)
    model = one_op_model("concatenation", p, (1, 4, 7, 3), (1, 9, 7, 3), (random_int8(rng, (1, 5, 7, 3)),))
    assert_same_as_generic(model, random_int8(rng, (1, 4, 7, 3)))
    clamped = one_op_model("concatenation", ConcatParams(1, -10, 127), (1, 4, 7, 3), (1, 9, 7, 3),
                           (random_int8(rng, (1, 5, 7, 3)),))
    assert prepared.prepare(clamped, clamped.ops[0]) is None  # a real clamp: the generic kernel
    g = geometry(6, 6, 2, 2, 2, 2, "VALID")
    pool = one_op_model("average_pool2d", PoolParams(g, -128, 127), (1, 6, 6, 2), (1, 3, 3, 2))
    assert prepared.prepare(pool, pool.ops[0]) is None  # not a global pool


def test_conv_whose_bound_exceeds_int32_is_still_checked():
    """70,000 products: the bound does not fit int32, so every call checks the accumulator."""
    cin = 70_000
    m, s = multipliers(np.random.default_rng(2), 1, -30, -30)
    p = FullyConnectedParams(128, 0, 0, m, s, -128, 127)
    model = one_op_model("fully_connected", p, (1, cin), (1, 1), (np.full((1, cin), 127, np.int8),))
    fast = prepared.prepare(model, model.ops[0])
    with pytest.raises(Int32RangeError):
        fast([np.full((1, cin), 127, np.int8), model.tensors[1].data])
    half = np.where(np.arange(cin) % 2 == 0, 127, -128).astype(np.int8)[None]
    assert_same_as_generic(model, half)


@pytest.mark.parametrize("form", ["fixed_point", "lut"])
@pytest.mark.parametrize("function, out_q", [("logistic", (1 / 256, -128)), ("tanh", (1 / 128, 0))])
def test_activation_table_equals_the_kernel_on_every_code(function, out_q, form):
    from tinykws.intmodel.params_elementwise import activation_params

    for in_scale, in_zp in ((0.0014395035637338159, 3), (0.04, -7), (0.11, 0)):
        p = activation_params(function, form, in_scale, in_zp, *out_q)
        model = one_op_model(function, p, (2, 128), (2, 128))
        assert_same_as_generic(model, np.arange(-128, 128, dtype=np.int8).reshape(2, 128))
