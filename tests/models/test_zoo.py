"""Every registered model: shapes, finiteness, gradients, parameter budget, rebuild from kwargs."""

from __future__ import annotations

import dataclasses

import json

import pytest
import torch

from tinykws.errors import ConfigError, TinyKWSError
from tinykws.models import MODELS, build_model, model_info, model_names
from tinykws.models.layers import PaddedConv2d, SubSpectralNorm, axis_padding
from tinykws.models.matchboxnet import TCSConv

NAMES = model_names()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # These models run many small ops: a second OpenMP thread only adds synchronisation,
    # which on a busy machine costs 100x (measured: 15 s instead of 0.15 s for 5 passes).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _short_input(name: str) -> tuple[int, int]:
    """The default features with at most 24 frames: every model takes any frame count
    (given as input_shape), and fewer frames keep the suite fast."""
    frames, features = model_info(name).input_shape
    return (min(frames, 24), features)


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_the_zoo_has_the_models_of_the_task():
    expected = {"ds_cnn", "ds_cnn_m", "ds_cnn_l", "tiny_conv", "crnn_gru_att", "matchboxnet_3x1x64",
                "bc_resnet_1", "bc_resnet_2", "bc_resnet_3", "bc_resnet_6", "bc_resnet_8"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_and_finite(name):
    torch.manual_seed(0)
    info = model_info(name)
    model = build_model(name, num_classes=7).eval()
    x = torch.randn(3, 1, *info.input_shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (3, 7)
    assert torch.isfinite(y).all()
    # (batch, time, features) is accepted too and means the same.
    with torch.no_grad():
        assert torch.equal(model(x[:, 0]), y)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(1)
    shape = _short_input(name)
    model = build_model(name, input_shape=shape).train()
    x = torch.randn(4, 1, *shape)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 3, 5, 11]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    for n, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), n
    assert sum(float(p.grad.abs().sum()) for p in model.parameters()) > 0


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_within_budget(name):
    info = model_info(name)
    n = _trainable(build_model(name))
    assert 0 < n <= info.param_budget


@pytest.mark.parametrize("name", NAMES)
def test_rebuild_from_name_and_kwargs(name):
    torch.manual_seed(2)
    model = build_model(name, num_classes=5, input_shape=_short_input(name)).eval()
    kwargs = json.loads(json.dumps(model.model_kwargs))  # what a checkpoint or manifest stores
    assert model.model_name == name
    assert kwargs["num_classes"] == 5
    rebuilt = build_model(name, **kwargs).eval()
    a, b = model.state_dict(), rebuilt.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    rebuilt.load_state_dict(a)
    x = torch.randn(2, 1, *_short_input(name))
    with torch.no_grad():
        assert torch.equal(model(x), rebuilt(x))


@pytest.mark.parametrize("name", NAMES)
def test_default_frontend_gives_the_default_input(name):
    from tinykws.audio.frontends import build_frontend

    info = model_info(name)
    assert build_frontend(info.frontend).output_shape == info.input_shape


def test_ds_cnn_is_the_mlperf_reference_size():
    model = build_model("ds_cnn")
    assert _trainable(model) == 23_756  # docs/architecture.md
    folded = build_model("ds_cnn", batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    # Folding removes the 9 BN layers' gamma and beta (64 channels each): "22.6 K after folding".
    assert _trainable(folded) == 23_756 - 9 * 2 * 64
    assert set(build_model("ds_cnn_s").state_dict()) == set(model.state_dict())


def _ds_cnn_params(rows, features_in=1, classes=12, bn=True):
    """Parameters of a Hello Edge DS-CNN from its model_size_info rows, all convs with bias."""
    channels, kt, kf, _, _ = rows[0]
    total = channels * (kt * kf * features_in + 1) + (2 * channels if bn else 0)
    for out, kt, kf, _, _ in rows[1:]:
        total += channels * (kt * kf + 1) + (2 * channels if bn else 0)  # depthwise
        total += out * (channels + 1) + (2 * out if bn else 0)  # pointwise
        channels = out
    return total + classes * (channels + 1)


def test_hello_edge_m_and_l_follow_model_size_info():
    # ML-KWS-for-MCU train_commands.txt, DS-CNN M and L.
    m_info = [5, 172, 10, 4, 2, 1, 172, 3, 3, 2, 2, 172, 3, 3, 1, 1, 172, 3, 3, 1, 1, 172, 3, 3, 1, 1]
    l_info = [6, 276, 10, 4, 2, 1, 276, 3, 3, 2, 2] + [276, 3, 3, 1, 1] * 4
    for name, info in (("ds_cnn_m", m_info), ("ds_cnn_l", l_info)):
        rows = [info[1 + 5 * i: 6 + 5 * i] for i in range(info[0])]
        model = build_model(name)
        assert _trainable(model) == _ds_cnn_params(rows), name
        assert [list(r) for r in model.model_kwargs["layers"]] == rows


def test_bc_resnet_1_matches_the_paper_size():
    n = _trainable(build_model("bc_resnet_1"))
    assert 9_150 <= n <= 9_250  # "BC-ResNet-1: 9.2 K parameters"
    assert _trainable(build_model("bc_resnet_8")) > 30 * n


def test_options_and_errors():
    with pytest.raises(ConfigError, match="no option banana"):
        build_model("ds_cnn", banana=1)
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("ds_cnn", input_shape=(49,))
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("ds_cnn", num_classes=0)
    with pytest.raises(TinyKWSError, match="unknown model 'nope'"):
        build_model("nope")
    with pytest.raises(ConfigError, match="ssn_groups"):
        build_model("bc_resnet_1", input_shape=(101, 10))
    with pytest.raises(ConfigError, match="rows of 5"):
        build_model("ds_cnn", layers=[[64, 10, 4]])
    # A non-default input builds a working model.
    model = build_model("tiny_conv", input_shape=(50, 10)).eval()
    assert model(torch.zeros(1, 1, 50, 10)).shape == (1, 12)


def test_model_info_is_typed_and_frozen():
    info = MODELS.get("crnn_gru_att").meta
    assert info.quantizable is True and info.stream == "reset" and info.streamable
    with pytest.raises(ConfigError, match="stream"):
        dataclasses.replace(info, stream="sometimes")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.param_budget = 1  # type: ignore[misc]


@pytest.mark.parametrize("size,kernel,stride,mode,expected", [
    (49, 10, 2, "same", (4, 5)),  # TF SAME: the odd element of padding goes after
    (10, 4, 2, "same", (1, 1)),
    (25, 3, 1, "same", (1, 1)),
    (20, 3, 2, "same", (0, 1)),
    (49, 10, 2, "causal", (9, 0)),
    (49, 10, 2, "valid", (0, 0)),
])
def test_axis_padding_follows_tensorflow_same(size, kernel, stride, mode, expected):
    assert axis_padding(size, kernel, stride, 1, mode) == expected


def test_same_padding_output_size_and_alignment():
    torch.manual_seed(3)
    conv = PaddedConv2d(1, 1, (10, 4), (2, 2), bias=False)
    torch.nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 49, 10)
    x[0, 0, 1, 0] = 1.0
    y = conv(x)
    assert y.shape == (1, 1, 25, 5)
    # Output row i covers input rows 2i-4 .. 2i+5 (4 padded before, 5 after), so input
    # row 1 is seen by output rows 0, 1 and 2 only. With the extra padding row before
    # (PyTorch-style) row 3 would see it too.
    assert y[0, 0, :4, 0].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_causal_layers_do_not_look_ahead():
    torch.manual_seed(4)
    conv2d = PaddedConv2d(2, 3, (5, 3), (1, 1), dilation=(2, 1), time_padding="causal")
    x = torch.randn(1, 2, 20, 6)
    later = x.clone()
    later[:, :, 12:, :] += 5.0  # change only frames 12..19
    assert conv2d(x).shape[2] == 20
    assert torch.equal(conv2d(x)[:, :, :12], conv2d(later)[:, :, :12])
    assert not torch.equal(conv2d(x)[:, :, 12:], conv2d(later)[:, :, 12:])

    tcs = TCSConv(4, 6, 7, dilation=2, time_padding="causal")
    x = torch.randn(1, 4, 20)
    later = x.clone()
    later[:, :, 12:] += 5.0
    assert tcs(x).shape[2] == 20
    assert torch.equal(tcs(x)[:, :, :12], tcs(later)[:, :, :12])

    # The same layer with 'same' padding does look ahead.
    same = TCSConv(4, 6, 7, dilation=2, time_padding="same")
    same.load_state_dict(tcs.state_dict())
    assert not torch.equal(same(x)[:, :, :12], same(later)[:, :, :12])


def test_subspectral_norm_normalises_each_band_separately():
    torch.manual_seed(5)
    norm = SubSpectralNorm(channels=2, groups=5).train()
    scale = torch.arange(1, 41, dtype=torch.float32)  # every bin a different spread
    x = torch.randn(8, 2, 30, 40) * scale + scale
    y = norm(x)
    bands = y.reshape(8, 2, 30, 5, 8)
    mean = bands.mean(dim=(0, 2, 4))
    var = bands.var(dim=(0, 2, 4), unbiased=False)
    assert torch.allclose(mean, torch.zeros(2, 5), atol=1e-4)
    assert torch.allclose(var, torch.ones(2, 5), atol=1e-3)
    with pytest.raises(ValueError, match="do not split"):
        norm(torch.zeros(1, 2, 3, 12))
