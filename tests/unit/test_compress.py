"""Pruning: the gradual schedule, magnitude masks, and structured channel removal that leaves a model's outputs unchanged
when the removed channels contribute nothing, and counts that equal the smaller shapes'."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.compress import (
    gradual_sparsity,
    magnitude_masks,
    plan_channels,
    prunable_parameters,
    prune_channels,
)
from tinykws.compress.channels import ChannelPlan
from tinykws.models import build_model
from tinykws.profile.counts import count_model


def test_gradual_schedule_is_cubic_and_monotone():
    values = [gradual_sparsity(s, 10, 110, 0.1, 0.8) for s in range(0, 130)]
    assert values[:10] == [0.0] * 10 and values[10] == pytest.approx(0.1) and values[110:] == [0.8] * 20
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert values[60] == pytest.approx(0.8 + (0.1 - 0.8) * 0.5 ** 3)


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_masks_remove_exactly_the_smallest_weights(scope):
    torch.manual_seed(0)
    model = build_model("ds_cnn")
    params = prunable_parameters(model, exclude=("fc.*",))
    assert "fc.weight" not in params and all(p.dim() >= 2 for p in params.values())
    masks = magnitude_masks(params, 0.6, scope)
    total = sum(m.numel() for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    assert total - kept == round(0.6 * total) or scope == "layer"
    for name, mask in masks.items():
        w = params[name].detach().abs()
        if scope == "layer":
            assert int((~mask).sum()) == round(0.6 * mask.numel())
        if (~mask).any() and mask.any():
            assert w[~mask].max() <= w[mask].min()


def _with_dead_channels(name: str, plan: ChannelPlan) -> torch.nn.Module:
    """A model whose channels outside `plan` feed nothing: their consumers' columns are zero."""
    torch.manual_seed(1)
    model = build_model(name).eval()
    g = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    with torch.no_grad():
        if name.startswith("ds_cnn"):
            consumers = [b.pointwise.weight for b in model.blocks] + [model.fc.weight]
            for k, weight in enumerate(consumers):
                dead = sorted(set(range(weight.shape[1])) - set(plan.keep[f"layer{k}"]))
                weight[:, dead] = 0
        else:
            hidden, bins = model.gru.hidden_size, model.gru.input_size // model.conv.out_channels
            dead_c = sorted(set(range(model.conv.out_channels)) - set(plan.keep["conv"]))
            model.gru.weight_ih_l0.view(3 * hidden, -1, bins)[:, dead_c] = 0
            dead_h = sorted(set(range(hidden)) - set(plan.keep["hidden"]))
            for w in (model.gru.weight_hh_l0, model.attention.proj.weight, model.fc.weight):
                w[:, dead_h] = 0
            dead_a = sorted(set(range(model.attention.proj.out_features)) - set(plan.keep["attention"]))
            model.attention.score.weight[:, dead_a] = 0
    return model


@pytest.mark.parametrize("name, keep", [
    ("ds_cnn", {f"layer{k}": tuple(range(k, 64, 2)) for k in range(5)}),
    ("crnn_gru_att", {"conv": (0, 3, 4, 9, 15), "hidden": tuple(range(0, 64, 3)), "attention": (1, 2, 30)}),
])
def test_removing_channels_that_feed_nothing_keeps_the_outputs(name, keep):
    plan = ChannelPlan(keep)
    model = _with_dead_channels(name, plan)
    small = prune_channels(model, plan=plan)
    rebuilt = build_model(small.model_name, **{k: v for k, v in small.model_kwargs.items()})
    rebuilt.load_state_dict(small.state_dict())
    x = torch.randn(5, 1, 49, 10)
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt.eval()(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_pruned_ds_cnn_counts_equal_the_analytic_counts_of_the_smaller_shapes():
    torch.manual_seed(0)
    model = build_model("ds_cnn").eval()
    small = prune_channels(model, amount=0.5, criterion="bn")
    c = 32
    # conv1, 4 x (depthwise, pointwise) with biases, FC, and 9 batch norms of (gamma, beta)
    params = (10 * 4 * c + c) + 4 * (9 * c + c + c * c + c) + 12 * c + 12 + 9 * 2 * c
    macs = 25 * 5 * c * 40 + 4 * (25 * 5 * c * 9 + 25 * 5 * c * c) + 12 * c
    counts = count_model(small, (49, 10))
    assert (counts.params, counts.macs) == (params, macs)
    assert small.model_kwargs["layers"][0][0] == 32
    plan = plan_channels(model, 0.5, "l1")
    scores = model.conv1.weight.detach().abs().sum(dim=(1, 2, 3))
    assert set(plan.keep["layer0"]) == set(torch.argsort(scores, descending=True)[:32].tolist())


def test_a_structurally_pruned_ds_cnn_quantizes_exports_and_generates_c_bit_exact(tmp_path):
    """Half the channels removed: the smaller model of the same family goes through PTQ, the
    .tflite export and the C generator, and runs bit-exact in the numpy runtime, LiteRT,
    TFLite Micro and the generated C."""
    from c_cases import compare_c_with_numpy
    from zoo_helpers import randomized_model

    from tinykws.export import LiteRTEngine, TFLMEngine, export_tflite
    from tinykws.intmodel import intmodel_from_tflite, quantize, run
    from tinykws.quant import quantize_ptq

    small = prune_channels(randomized_model("ds_cnn"), amount=0.5, criterion="l1")
    assert small.model_kwargs["layers"] == [[32, 10, 4, 2, 2]] + [[32, 3, 3, 1, 1]] * 4
    rng = np.random.default_rng(5)
    q = quantize_ptq(small, (rng.normal(size=(6, 49, 10)) * 3).astype(np.float32))
    result = export_tflite(q, tmp_path / "pruned.tflite", {"kind": "test"}, [str(i) for i in range(12)], arena=False)
    x = (rng.normal(size=(3, 49, 10)) * 3).astype(np.float32)
    for arithmetic, engine in (("litert_ref", LiteRTEngine), ("tflite_micro", TFLMEngine)):
        im = intmodel_from_tflite(result.tflite_path, arithmetic)
        xi = quantize(x, im.input_tensors[0]).reshape(len(x), *im.input_tensors[0].shape[1:])
        np.testing.assert_array_equal(engine(result.tflite_path).run(xi), run(im, xi).output)
    micro = intmodel_from_tflite(result.tflite_path, "tflite_micro")
    c = compare_c_with_numpy([micro], tmp_path / "c", tmp_path / "cache", items=3)
    assert c.differing(["pruned ds_cnn"]) == []
