"""Lowering, batch-norm folding, PTQ, QAT and the fake-quant model against the integer runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.intmodel import quantize, run
from tinykws.intmodel.from_quantized import intmodel_from_quantized, tflite_model_from_quantized
from tinykws.models import build_model
from tinykws.quant import QuantConfig, finetune_qat, fp16_weights, load_quantized, prepare, quantize_ptq, save_quantized

SMALL_DS_CNN = dict(layers=[[8, 10, 4, 2, 2], [8, 3, 3, 1, 1], [12, 3, 3, 1, 1]])


def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
    return model.eval()


def _features(n: int, shape=(49, 10), seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, *shape)) * 4).astype(np.float32)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return _randomize_bn(build_model("ds_cnn", **SMALL_DS_CNN))


def _int_outputs(qmodel, x, arithmetic="litert_ref"):
    im = intmodel_from_quantized(qmodel, arithmetic)
    xi = quantize(x, im.input_tensors[0]).reshape(len(x), *im.input_tensors[0].shape[1:])
    return run(im, xi).output


def test_lowering_folds_batch_norm_and_fuses_relu(small_model):
    q = prepare(small_model)
    kinds = [(n.kind, n.attrs.get("activation"), n.attrs.get("groups")) for n in q.graph.nodes]
    assert kinds == [("conv", "RELU", 1), ("conv", "RELU", 8), ("conv", "RELU", 1), ("conv", "RELU", 8),
                     ("conv", "RELU", 1), ("avgpool", None, None), ("linear", "NONE", None)]
    assert q.graph.nodes[0].attrs["pads"] == (4, 5, 1, 1)  # TF SAME for 49x10, kernel 10x4, stride 2
    x = torch.from_numpy(_features(6))
    with torch.no_grad():
        np.testing.assert_allclose(q.set_mode("float")(x).numpy(), small_model(x.unsqueeze(1)).numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_ptq_scales_follow_the_tflite_scheme(small_model):
    q = quantize_ptq(small_model, _features(16))
    tfl = tflite_model_from_quantized(q)
    sg = tfl.main
    convs = [op for op in sg.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    for op in convs:
        x, w, b = (sg.tensors[i] for i in op.inputs)
        assert w.type_name == "INT8" and w.quantization.per_channel
        assert (w.quantization.zero_points == 0).all()
        assert b.type_name == "INT32"
        np.testing.assert_allclose(b.quantization.scales, np.float32(x.quantization.scales[0] * w.quantization.scales),
                                   rtol=1e-6)
        assert op.options["fused_activation_function"] == "RELU"
        assert sg.tensors[op.outputs[0]].quantization.zero_points[0] == -128  # ReLU output range starts at 0
    assert [op.opcode for op in convs] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]
    assert [op.options["padding"] for op in convs] == ["SAME"] * 5
    fc = next(op for op in sg.operators if op.opcode == "FULLY_CONNECTED")
    assert sg.tensors[fc.inputs[1]].quantization.scales.size == 1  # per tensor
    out = sg.tensors[sg.outputs[0]]
    assert out.type_name == "INT8" and out.quantization.zero_points[0] == -128
    assert out.quantization.scales[0] == pytest.approx(1 / 256)
    assert sg.tensors[sg.inputs[0]].type_name == "INT8"


def _simulated_codes(q, x) -> np.ndarray:
    """The fake-quant model's probabilities as int8 codes (scale 1/256, zero point -128)."""
    with torch.no_grad():
        return np.round(q.probabilities(torch.from_numpy(x)).numpy() * 256).astype(int) - 128


def _assert_simulation_tracks(sim: np.ndarray, ints: np.ndarray) -> None:
    # float32 simulation against exact fixed-point arithmetic: equal on most outputs, a
    # rounding step or two apart on the rest, the same decision on nearly every input.
    diff = np.abs(sim - ints.astype(int))
    assert np.mean(diff == 0) >= 0.98 and diff.max() <= 2
    assert np.mean(sim.argmax(-1) == ints.argmax(-1)) >= 0.95


@pytest.mark.parametrize("arithmetic", ["litert_ref", "tflite_micro"])
def test_fake_quant_simulation_tracks_the_integer_network(small_model, arithmetic):
    q = quantize_ptq(small_model, _features(16))
    x = _features(40, seed=3)
    _assert_simulation_tracks(_simulated_codes(q, x), _int_outputs(q, x, arithmetic))


@pytest.mark.parametrize("observer", ["minmax", "percentile", "mse"])
def test_observers_give_a_working_model(small_model, observer):
    x = _features(24)
    q = quantize_ptq(small_model, x[:16], QuantConfig(observer=observer))
    with torch.no_grad():
        float_top1 = small_model(torch.from_numpy(x).unsqueeze(1)).argmax(-1)
        quant_top1 = q(torch.from_numpy(x)).argmax(-1)
    assert (float_top1 == quant_top1).float().mean() >= 0.75


def test_n_bit_simulation(small_model):
    x = _features(16)
    q4 = quantize_ptq(small_model, x, QuantConfig(weight_bits=4, act_bits=4))
    assert set(q4.act_zero_point.tolist()) <= set(range(-8, 8))
    with torch.no_grad():
        y = q4(torch.from_numpy(x))
    assert torch.isfinite(y).all()
    with pytest.raises(ConfigError, match="simulation only"):
        tflite_model_from_quantized(q4)
    q3 = quantize_ptq(small_model, x, QuantConfig(weight_bits=3))  # narrow weights still export exactly
    tensors = tflite_model_from_quantized(q3).main.tensors
    codes = [t.data for t in tensors if t.data is not None and t.type_name == "INT8"]
    assert max(int(np.abs(c).max()) for c in codes) == 3


def test_qat_trains_through_fake_quant(small_model):
    x = _features(64, seed=5)
    y = np.random.default_rng(5).integers(0, 12, size=64)
    q = quantize_ptq(small_model, x[:16])
    before = [p.detach().clone() for p in q.parameters()]
    result = finetune_qat(q, x, y, epochs=3, lr=3e-3, batch_size=16)
    assert len(result.losses) == 3 and result.losses[-1] < result.losses[0]
    assert any(not torch.equal(a, b) for a, b in zip(before, q.parameters()))
    _assert_simulation_tracks(_simulated_codes(q, x), _int_outputs(q, x))


def test_uncalibrated_model_cannot_run_quantized(small_model):
    q = prepare(small_model)
    with pytest.raises(ConfigError, match="calibrated"):
        q.set_mode("quantized")
    with pytest.raises(ConfigError, match="calibrate"):
        tflite_model_from_quantized(q)
    with pytest.raises(ConfigError):
        quantize_ptq(small_model, np.zeros((0, 49, 10), np.float32))


def test_quantized_checkpoint_round_trip(small_model, tmp_path):
    q = quantize_ptq(small_model, _features(8))
    path = save_quantized(q, tmp_path / "q.pt", {"kind": "mfcc"}, ["a", "b"])
    loaded = load_quantized(path)
    assert loaded.labels == ["a", "b"] and loaded.frontend == {"kind": "mfcc"}
    x = torch.from_numpy(_features(5, seed=9))
    with torch.no_grad():
        np.testing.assert_array_equal(loaded.qmodel(x).numpy(), q(x).numpy())


def test_fp16_weights_round_every_parameter(small_model):
    half = fp16_weights(small_model)
    for p in half.parameters():
        assert torch.equal(p, p.half().float())
    x = torch.from_numpy(_features(4)).unsqueeze(1)
    with torch.no_grad():
        np.testing.assert_allclose(half(x).numpy(), small_model(x).numpy(), rtol=0.05, atol=0.05)


class _Gated(nn.Module):
    input_shape = (49, 10)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return torch.sin(self.conv(x)).mean(dim=(2, 3))


class _Recurrent(nn.Module):
    input_shape = (49, 10)

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(10, 8, batch_first=True)

    def forward(self, x):
        return self.lstm(x.squeeze(1))[0].mean(dim=1)


def test_operations_without_an_int8_builtin_are_named():
    with pytest.raises(UnsupportedOpError, match="sin"):
        prepare(_Gated())
    with pytest.raises(UnsupportedOpError, match="lstm"):
        prepare(_Recurrent())


class _Grouped(nn.Module):
    input_shape = (49, 10)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.grouped = nn.Conv2d(4, 4, 3, groups=2)

    def forward(self, x):
        return self.grouped(self.conv(x)).mean(dim=(2, 3))


class _ValuePad(nn.Module):
    input_shape = (49, 10)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv(torch.nn.functional.pad(x, (1, 1, 1, 1), value=1.0)).mean(dim=(2, 3))


class _LoneBatchNorm(nn.Module):
    input_shape = (49, 10)

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.fc = nn.Linear(1, 3)

    def forward(self, x):
        return self.fc(self.bn(x).mean(dim=(2, 3)))


@pytest.mark.parametrize("model, named", [(_Grouped(), "grouped conv2d"), (_ValuePad(), "pad"),
                                          (_LoneBatchNorm(), "batch_norm")])
def test_unexpressible_graphs_are_refused(model, named):
    with pytest.raises(UnsupportedOpError, match=named):
        prepare(model.eval())
