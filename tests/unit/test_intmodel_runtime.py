"""The runtime's contract: input checking, batches, intermediates, quantization at the
boundary, and the errors of the importer (no ../shared needed)."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import ConfigError, ModelFormatError, TinyKWSError, UnsupportedOpError
from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_reader import parse_tflite
from tinykws.intmodel import IntTensor, dequantize, intmodel_from_tflite, quantize, run
from tinykws.intmodel.graph import IntModel, IntOp
from tinykws.intmodel.params import ReshapeParams


def _conv_relu_bytes(rng) -> bytes:
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 6, 5, 2), scale=0.05, zero_point=-7)
    w = b.tensor((4, 3, 3, 2), scale=[0.01, 0.02, 0.015, 0.03], data=rng.integers(-127, 128, (4, 3, 3, 2)))
    bias = b.tensor((4,), np.int32, scale=[0.0005, 0.001, 0.00075, 0.0015], data=[10, -20, 30, 0])
    y = b.tensor((1, 6, 5, 4), scale=0.04, zero_point=-128)
    b.operator("CONV_2D", [x, w, bias], [y], version=3, padding="SAME", stride_h=1, stride_w=1,
               fused_activation_function="RELU")
    return b.to_bytes([x], [y])


@pytest.fixture
def small_model():
    return intmodel_from_tflite(parse_tflite(_conv_relu_bytes(np.random.default_rng(3)), "small.tflite"))


def test_input_checks(small_model):
    with pytest.raises(TinyKWSError, match="must be int8"):
        run(small_model, np.zeros((1, 6, 5, 2), np.float32))
    with pytest.raises(TinyKWSError, match="must have shape"):
        run(small_model, np.zeros((1, 6, 6, 2), np.int8))
    with pytest.raises(TinyKWSError, match="takes 1 inputs, got 2"):
        run(small_model, [np.zeros((1, 6, 5, 2), np.int8)] * 2)


def test_unbatched_input_and_intermediates(small_model):
    x = np.random.default_rng(0).integers(-128, 128, (6, 5, 2), dtype=np.int8)
    result = run(small_model, x, keep_intermediates=True)
    assert result.output.shape == (1, 6, 5, 4)
    np.testing.assert_array_equal(result.output, run(small_model, x[None]).output)
    assert set(result.tensors) == {"t0", "t3"}
    assert run(small_model, x[None]).tensors == {}
    assert result.output.min() >= small_model.ops[0].params.act_min  # fused ReLU clamp


def test_quantize_dequantize_round_trip():
    tensor = IntTensor(name="x", shape=(1, 4), dtype=np.dtype(np.int8), scale=0.5, zero_point=10)
    q = quantize(np.array([0.0, 0.25, -0.25, 1000.0, -1000.0]), tensor)
    # 0.25 / 0.5 = 0.5 rounds away from zero to 1; large values saturate
    assert q.tolist() == [10, 11, 9, 127, -128]
    np.testing.assert_allclose(dequantize(q[:3], tensor), [0.0, 0.5, -0.5])


def test_importer_errors(tmp_path):
    with pytest.raises(ModelFormatError, match="no such file"):
        intmodel_from_tflite(tmp_path / "absent.tflite")
    with pytest.raises(ConfigError, match="unknown arithmetic"):
        intmodel_from_tflite(parse_tflite(_conv_relu_bytes(np.random.default_rng(0))), arithmetic="fastest")
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 8), scale=0.1, zero_point=0)
    y = b.tensor((1, 8), scale=0.1, zero_point=0)
    b.operator("SOFTMAX", [x], [y], version=2, beta=1.0)  # output must be scale 1/256, zero point -128
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(SOFTMAX\).*1/256"):
        intmodel_from_tflite(parse_tflite(b.to_bytes([x], [y]), "softmax.tflite"))


def test_unknown_kernel_kind_is_reported():
    t = IntTensor(name="x", shape=(1, 2), dtype=np.dtype(np.int8), scale=1.0)
    model = IntModel(tensors=(t, t), ops=(IntOp("warp", (0,), (1,), ReshapeParams((1, 2))),), inputs=(0,),
                     outputs=(1,))
    with pytest.raises(UnsupportedOpError, match="no kernel for 'warp'"):
        run(model, np.zeros((1, 2), np.int8))


def test_malformed_operator_is_reported():
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 4, 4, 1), scale=0.1, zero_point=0)
    y = b.tensor((1, 2, 2, 1), scale=0.1, zero_point=0)
    b.operator("AVERAGE_POOL_2D", [x], [y], padding="VALID", stride_h=2, stride_w=2)  # no filter size
    with pytest.raises(ModelFormatError, match=r"operator 0 \(AVERAGE_POOL_2D\): invalid operator.*filter height 0"):
        intmodel_from_tflite(parse_tflite(b.to_bytes([x], [y]), "pool.tflite"))
