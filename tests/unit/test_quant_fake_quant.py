"""Fake-quant arithmetic and observers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.errors import ConfigError
from tinykws.quant import QuantConfig
from tinykws.quant.fake_quant import (
    activation_qparams,
    bias_codes,
    fake_quantize,
    quantize_bias,
    quantize_weight,
    round_half_away,
    weight_codes,
    weight_scales,
)
from tinykws.quant.observers import MinMaxObserver, MSEObserver, PercentileObserver, make_observer


def test_round_half_away_from_zero():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51])
    assert round_half_away(x).tolist() == [-3, -2, -1, 1, 2, 3, 0, -1]


def test_fake_quantize_grid_clamp_and_straight_through_gradient():
    x = torch.tensor([-10.0, -0.26, 0.0, 0.24, 0.26, 10.0], requires_grad=True)
    y = fake_quantize(x, 0.5, 3, -8, 7)
    # codes: round(x/0.5)+3 clamped to [-8, 7] -> real (code-3)*0.5
    assert y.tolist() == [-5.5, -0.5, 0.0, 0.0, 0.5, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # no gradient where it saturates


def test_weight_scales_per_channel_symmetric():
    w = torch.tensor([[1.0, -2.54], [0.5, 0.25], [0.0, 0.0]])
    s = weight_scales(w, 0, 8)
    assert s.dtype == torch.float32
    np.testing.assert_allclose(s.numpy(), np.float32([2.54 / 127, 0.5 / 127, 1.0]), rtol=1e-7)
    codes = weight_codes(w, s, 0, 8)
    assert codes.dtype == np.int8
    assert codes[0].tolist() == [50, -127] and codes[1].tolist() == [127, 64] and codes[2].tolist() == [0, 0]
    # per-tensor
    assert weight_scales(w, None, 8).shape == (1,)
    assert float(weight_scales(w, None, 8)[0]) == pytest.approx(2.54 / 127, rel=1e-7)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
def test_n_bit_weights_stay_in_their_symmetric_range(bits):
    w = torch.randn(16, 3, 3, 3, generator=torch.Generator().manual_seed(bits))
    s = weight_scales(w, 0, bits)
    codes = weight_codes(w, s, 0, bits)
    qmax = 2 ** (bits - 1) - 1
    assert codes.min() >= -qmax and codes.max() <= qmax
    assert (np.abs(codes).reshape(16, -1).max(axis=1) == qmax).all()  # each channel uses its range
    fq = quantize_weight(w, s, 0, bits)
    np.testing.assert_allclose(fq.detach().numpy(), codes * s.numpy().reshape(-1, 1, 1, 1), rtol=1e-6)


def test_bias_codes_use_input_times_weight_scale():
    b = torch.tensor([0.1, -0.2, 1e9])
    scales = torch.tensor([1e-3, 1e-3, 1e-3])
    assert bias_codes(b, scales).tolist() == [100, -200, 2**31 - 1]  # saturates to int32
    np.testing.assert_allclose(quantize_bias(b[:2], scales[:2]).detach().numpy(), [0.1, -0.2], rtol=1e-6)


def test_activation_qparams_include_zero_and_match_tflite_relu_convention():
    scale, zp = activation_qparams(0.0, 6.0, 8)
    assert zp == -128 and scale == pytest.approx(6.0 / 255)
    scale, zp = activation_qparams(-1.0, 1.0, 8)
    assert zp in (0, -1) and scale == pytest.approx(2.0 / 255)
    scale, zp = activation_qparams(2.0, 3.0, 8)  # widened to include 0
    assert zp == -128 and scale == pytest.approx(3.0 / 255)
    scale, zp = activation_qparams(-1.0, 1.0, 4)
    assert -8 <= zp <= 7 and scale == pytest.approx(2.0 / 15)


def test_quant_config_rejects_bad_settings():
    with pytest.raises(ConfigError, match="observer"):
        QuantConfig(observer="kl")
    with pytest.raises(ConfigError, match="weight_bits"):
        QuantConfig(weight_bits=1)
    with pytest.raises(ConfigError, match="act_bits"):
        QuantConfig(act_bits=1)
    assert not QuantConfig(act_bits=6).exportable and QuantConfig(weight_bits=3).exportable
    assert not QuantConfig(weight_symmetric=False).exportable and not QuantConfig(act_symmetric=True).exportable


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_asymmetric_weights_use_the_whole_range_and_symmetric_activations_have_zero_point_0(bits):
    from tinykws.quant.fake_quant import (
        asymmetric_weight_qparams,
        fake_quantize_weight,
        quantize_weight,
        symmetric_activation_qparams,
        weight_scales,
    )

    torch.manual_seed(bits)
    w = torch.rand(6, 3, 3) * 2.0 - 0.3  # skewed: mostly positive
    scales, zps = asymmetric_weight_qparams(w, 0, bits)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = torch.round(w / scales.reshape(-1, 1, 1)) + zps.reshape(-1, 1, 1)
    assert codes.min() >= qmin and codes.max() <= qmax
    asym = fake_quantize_weight(w, scales, zps, 0, bits)
    sym = quantize_weight(w, weight_scales(w, 0, bits), 0, bits)
    # On skewed weights the asymmetric grid is finer: never a larger error than the symmetric one.
    assert (asym - w).abs().max() <= (sym - w).abs().max() + 1e-6
    assert ((asym - w).abs() <= scales.reshape(-1, 1, 1) / 2 + 1e-6).all()
    scale, zp = symmetric_activation_qparams(-0.5, 2.0, bits)
    assert zp == 0 and scale == pytest.approx(2.0 / (2 ** (bits - 1) - 1))


def test_observers():
    rng = np.random.default_rng(0)
    values = rng.normal(size=100_000).astype(np.float32)
    values[0] = 60.0  # one outlier
    x = torch.from_numpy(values)
    mm, pc, mse = MinMaxObserver(), PercentileObserver(99.9), MSEObserver()
    for obs in (mm, pc, mse):
        obs.observe(x[:50_000])
        obs.observe(x[50_000:])
    assert mm.range(8) == (float(values.min()), 60.0)
    lo, hi = pc.range(8)
    assert 2.5 < hi < 4.0 and -4.0 < lo < -2.5  # the outlier is clipped
    lo, hi = mse.range(8)
    assert hi < 60.0  # clipping the lone outlier lowers the error
    with pytest.raises(ConfigError):
        MinMaxObserver().range(8)
    with pytest.raises(ConfigError):
        make_observer("histogram")
