"""Loss terms by hand (label smoothing, class weights, distillation), gradient clipping and
distillation from a checkpoint inside the loop."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from tinykws.errors import ConfigError
from tinykws.train.batches import ArraySource, TrainData
from tinykws.train.checkpoint import load_checkpoint
from tinykws.train.config import DistillConfig, FrontendConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from tinykws.train.distill import distillation_kl, load_teacher, load_teachers
from tinykws.train.loop import train
from tinykws.train.schedules import ScheduleConfig
from tinykws.train.setup import class_weight_tensor, per_clip_loss


def test_cross_entropy_smoothing_and_weights_by_hand():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    targets = torch.tensor([0, 2])
    z0 = math.exp(2) + 2
    z1 = 2 + math.e
    ce = [-(2 - math.log(z0)), -(0 - math.log(z1))]
    np.testing.assert_allclose(per_clip_loss(logits, targets).numpy(), ce, rtol=1e-6)
    # smoothing eps: (1 - eps) * CE + eps * mean over classes of -log p_k
    eps = 0.3
    mean_nll = [
        -((2 - math.log(z0)) + 2 * (0 - math.log(z0))) / 3,
        -((0 - math.log(z1)) * 2 + (1 - math.log(z1))) / 3,
    ]
    expected = [(1 - eps) * c + eps * m for c, m in zip(ce, mean_nll)]
    np.testing.assert_allclose(per_clip_loss(logits, targets, eps).numpy(), expected, rtol=1e-6)
    weights = class_weight_tensor([1.0, 1.0, 0.25], 3)
    np.testing.assert_allclose(per_clip_loss(logits, targets, 0.0, weights).numpy(), [ce[0], 0.25 * ce[1]], rtol=1e-6)
    with pytest.raises(ConfigError, match="needs 3 values"):
        class_weight_tensor([1.0, 2.0], 3)


def test_distillation_kl_by_hand():
    student = torch.tensor([[1.0, 0.0, -1.0]])
    teacher = torch.tensor([[0.0, 2.0, 0.0]])
    t = 2.0

    def softmax(v):
        e = [math.exp(x / t) for x in v]
        return [x / sum(e) for x in e]

    p, q = softmax([0.0, 2.0, 0.0]), softmax([1.0, 0.0, -1.0])
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    assert distillation_kl(student, teacher, t).item() == pytest.approx(t * t * kl, rel=1e-6)
    assert distillation_kl(teacher, teacher, t).item() == pytest.approx(0.0, abs=1e-7)
    # the teacher gets no gradient
    sl, tl = student.clone().requires_grad_(True), teacher.clone().requires_grad_(True)
    distillation_kl(sl, tl, t).sum().backward()
    assert tl.grad is None and sl.grad is not None


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 12, n)
    x = rng.normal(size=(n, 49, 10)).astype(np.float32)
    x[np.arange(n), (labels * 4) % 49, labels % 10] += 4.0
    return TrainData([ArraySource(x, labels)], validation=ArraySource(x[:8], labels[:8]))


def _cfg(**kw) -> RunConfig:
    return RunConfig(
        name="l", model=ModelConfig(name="ds_cnn", kwargs={"dropout": 0.0, "final_dropout": 0.0}),
        frontend=FrontendConfig(name="mlperf_mfcc"), schedule=ScheduleConfig(name="constant"),
        train=TrainConfig(epochs=1, batch_size=32, seed=0, progress=False, threads=1, freeze_batchnorm=True), **kw,
    )


def _weights(path):
    return torch.cat([v.flatten().float() for k, v in load_checkpoint(path).state_dict.items() if "running" not in k
                      and "num_batches" not in k])


def test_gradient_clipping_bounds_the_sgd_step(tmp_path):
    # One SGD step (momentum 0, lr 1) moves the weights by exactly the clipped gradient.
    from tinykws.models import build_model

    torch.manual_seed(0)
    init = torch.cat([p.detach().flatten() for p in build_model(
        "ds_cnn", num_classes=12, input_shape=(49, 10), dropout=0.0, final_dropout=0.0).parameters()])
    sgd = OptimConfig(name="sgd", lr=1.0, momentum=0.0)
    clipped = _cfg(optim=sgd)
    clipped = replace(clipped, train=replace(clipped.train, grad_clip_norm=1e-3))
    train(clipped, _data(), tmp_path / "clip")
    train(_cfg(optim=sgd), _data(), tmp_path / "free")
    step_clipped = float((_weights(tmp_path / "clip" / "last.pt") - init).norm())
    step_free = float((_weights(tmp_path / "free" / "last.pt") - init).norm())
    assert step_clipped == pytest.approx(1e-3, rel=1e-3)
    assert step_free > 10 * step_clipped


def test_distillation_from_a_checkpoint_teacher(tmp_path):
    train(_cfg(optim=OptimConfig(lr=1e-2)), _data(), tmp_path / "teacher")
    teacher = load_teacher(tmp_path / "teacher" / "best.pt")
    assert not any(p.requires_grad for p in teacher.model.parameters())
    # alpha = 1: only the soft term. The student starts as a copy of the teacher's
    # initialisation (same seed) but the teacher has trained, so the term is not zero.
    distilled = _cfg(distill=DistillConfig(teacher=str(tmp_path / "teacher" / "best.pt"), alpha=1.0, temperature=3.0))
    result = train(distilled, _data(), tmp_path / "student")
    assert result.history[0]["train_loss"] > 0
    with pytest.raises(ConfigError, match="distill.teacher .*missing.pt: file not found"):
        train(replace(distilled, distill=DistillConfig(teacher=str(tmp_path / "missing.pt"))), _data(), tmp_path / "x")


def test_an_ensemble_teacher_is_its_members_mean_log_probability(tmp_path):
    # Two teachers that differ (another seed, another learning rate), then a student of both.
    paths = []
    for name, seed, lr in (("a", 0, 1e-2), ("b", 1, 3e-2)):
        cfg = _cfg(optim=OptimConfig(lr=lr))
        train(replace(cfg, train=replace(cfg.train, seed=seed)), _data(), tmp_path / name)
        paths.append(str(tmp_path / name / "best.pt"))
    x = torch.from_numpy(_data().sources[0].data[:6]).unsqueeze(1)
    ensemble = load_teachers(paths)
    members = [load_teacher(p).logits(x) for p in paths]
    expected = (torch.log_softmax(members[0], 1) + torch.log_softmax(members[1], 1)) / 2
    assert torch.allclose(ensemble.logits(x), expected, atol=1e-6)
    assert not torch.allclose(members[0], members[1])
    assert not any(p.requires_grad for p in ensemble.model.parameters())
    assert ensemble.source == " + ".join(paths)

    distilled = _cfg(distill=DistillConfig(teacher=tuple(paths), alpha=1.0, temperature=3.0))
    result = train(distilled, _data(), tmp_path / "student")
    assert result.history[0]["train_loss"] > 0
    recorded = json.loads((tmp_path / "student" / "environment.json").read_text())
    assert [t["path"] for t in recorded["sessions"][0]["teacher"]] == paths
    with pytest.raises(ConfigError, match="distill.teacher .*missing.pt: file not found"):
        load_teachers([paths[0], str(tmp_path / "missing.pt")])


def test_ensemble_members_must_share_labels_and_front_end(tmp_path):
    train(_cfg(), _data(), tmp_path / "a")
    train(_cfg(), _data(), tmp_path / "b", labels=[f"w{i}" for i in range(12)])
    other_band = _cfg()
    train(replace(other_band, frontend=FrontendConfig(name="mlperf_mfcc", overrides={"upper_hz": 7000.0})),
          _data(), tmp_path / "c")
    with pytest.raises(ConfigError, match=r"ensemble member .*b/best.pt has other labels than .*a/best.pt"):
        load_teachers([str(tmp_path / "a" / "best.pt"), str(tmp_path / "b" / "best.pt")])
    with pytest.raises(ConfigError, match=r"ensemble member .*c/best.pt has other front-end than .*a/best.pt"):
        load_teachers([str(tmp_path / "a" / "best.pt"), str(tmp_path / "c" / "best.pt")])
    assert load_teachers([str(tmp_path / "a" / "best.pt")]).source == str(tmp_path / "a" / "best.pt")
    with pytest.raises(ConfigError, match="needs a single teacher"):
        DistillConfig(teacher=("a.pt", "b.pt"), attention=1.0).validate()
    with pytest.raises(ConfigError, match="none empty"):
        DistillConfig(teacher=("a.pt", "")).validate()


@pytest.mark.shared
def test_float_tflite_teacher(ref_model_float):
    teacher = load_teacher(ref_model_float)
    assert teacher.frontend["kind"] == "mfcc"  # ds_cnn's default front-end, mlperf_mfcc
    logits = teacher.logits(torch.zeros(3, 1, 49, 10))
    assert logits.shape == (3, 12) and torch.isfinite(logits).all()
