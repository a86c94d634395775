"""Parameter and MAC counts per layer."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from tinykws.models import build_model, model_info, model_names
from tinykws.profile.counts import count_model


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # These models run many small ops: a second OpenMP thread only adds synchronisation,
    # which on a busy machine costs 100x (measured: 15 s instead of 0.15 s for 5 passes).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_ds_cnn_matches_the_published_counts():
    counts = count_model(build_model("ds_cnn"), (49, 10))
    assert counts.params == 23_756
    assert counts.macs == 2_656_768  # docs/architecture.md / MLPerf Tiny
    conv1 = next(r for r in counts.rows if r.name == "conv1")
    assert conv1.output_shape == (64, 25, 5)  # feature maps 25x5x64
    assert conv1.macs == 25 * 5 * 64 * 10 * 4
    depthwise = [r for r in counts.rows if r.name.endswith("depthwise")]
    assert [r.macs for r in depthwise] == [25 * 5 * 64 * 9] * 4
    fc = next(r for r in counts.rows if r.name == "fc")
    assert (fc.params, fc.macs) == (64 * 12 + 12, 64 * 12)
    # Batch norm, ReLU, dropout and pooling cost no MACs.
    assert all(r.macs == 0 for r in counts.rows if r.kind in ("BatchNorm2d", "Dropout", "GlobalAvgPool"))


def test_tiny_conv_counts():
    counts = count_model(build_model("tiny_conv"), (49, 40))
    out_t, out_f = 25, 20  # ceil(49 / 2), ceil(40 / 2)
    assert counts.macs == out_t * out_f * 8 * 10 * 8 + out_t * out_f * 8 * 12
    assert counts.params == 8 * 80 + 8 + out_t * out_f * 8 * 12 + 12


def test_recurrent_and_custom_macs():
    class Toy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 5, batch_first=True)
            self.lstm = nn.LSTM(5, 3, batch_first=True, bidirectional=True)
            self.extra = Weighted()

        def forward(self, x):
            h, _ = self.gru(x[:, 0])
            h, _ = self.lstm(h)
            return self.extra(h)

    class Weighted(nn.Module):
        def forward(self, h):
            return h.sum(dim=1)

        def macs(self, inputs, output):
            return 1000

    counts = count_model(Toy(), (7, 6))
    by_name = {r.name: r for r in counts.rows}
    assert by_name["gru"].macs == 7 * 3 * (6 + 5) * 5
    assert by_name["lstm"].macs == 7 * 2 * 4 * (5 + 3) * 3
    assert by_name["extra"].macs == 1000
    assert counts.macs == 7 * 3 * 11 * 5 + 7 * 2 * 4 * 8 * 3 + 1000
    assert by_name["gru"].params == 3 * (6 * 5 + 5 * 5 + 2 * 5)


def test_grouped_conv1d_and_mode_restored():
    model = nn.Sequential(nn.Conv1d(4, 8, 3, groups=2, padding=1))

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = model

        def forward(self, x):
            return self.body(x[:, 0].transpose(1, 2))

    wrapped = Wrap().train()
    counts = count_model(wrapped, (10, 4))
    assert counts.macs == 10 * 8 * (4 // 2) * 3
    assert wrapped.training  # put back in its previous mode


@pytest.mark.parametrize("name", model_names())
def test_row_params_add_up_and_serialise(name):
    info = model_info(name)
    model = build_model(name)
    counts = count_model(model, info.input_shape)
    assert counts.params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in counts.rows) == counts.params
    assert counts.macs == sum(r.macs for r in counts.rows) > 0
    data = json.loads(json.dumps(counts.to_dict()))
    assert data["macs"] == counts.macs and data["input_shape"] == list(info.input_shape)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="frames, features"):
        count_model(build_model("ds_cnn"), (1, 49, 10))


def test_cli_models_table_and_json(capsys):
    from tinykws.cli.main import main

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ds = next(r for r in rows if r["name"] == "ds_cnn")
    assert (ds["params"], ds["macs"], ds["frontend"], ds["input_shape"]) == (23_756, 2_656_768, "mlperf_mfcc", [49, 10])
    assert {r["name"] for r in rows} == set(model_names())
    assert all(r["quantizable"] is model_info(r["name"]).quantizable for r in rows)

    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert "2,656,768" in table and "matchboxnet_3x1x64" in table

    assert main(["models", "ds_cnn"]) == 0
    assert "blocks.3.pointwise" in capsys.readouterr().out

    assert main(["models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
