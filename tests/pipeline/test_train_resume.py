"""The training loop on a tiny in-memory dataset: exact resume, early stopping, run folder,
weight averaging (train.ema_decay)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tinykws.errors import ConfigError, DataError
from tinykws.train.averaging import WeightAverage
from tinykws.train.batches import (FEATURES, WAVEFORM, ArraySource, TrainData, epoch_plan, iterate_batches,
                                   source_arrays)
from tinykws.train.checkpoint import load_checkpoint
from tinykws.train.config import FrontendConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from tinykws.train.loop import train
from tinykws.train.schedules import ScheduleConfig

NUM_CLASSES = 12


def _features(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, n)
    x = rng.normal(size=(n, 49, 10)).astype(np.float32)
    x[np.arange(n), (labels * 4) % 49, labels % 10] += 4.0  # a class-dependent bump
    return x, labels


def _waveforms(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, n)
    t = np.arange(16000) / 16000.0
    freqs = 300.0 + 250.0 * labels
    x = 0.3 * np.sin(2 * np.pi * freqs[:, None] * t[None, :]) + 0.01 * rng.normal(size=(n, 16000))
    return x.astype(np.float32), labels


def _shift(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.roll(clip, int(rng.integers(-800, 801))) * np.float32(rng.uniform(0.8, 1.2))


def _data(kind: str) -> TrainData:
    make = _features if kind == FEATURES else _waveforms
    a, la = make(40, 1)
    b, lb = make(24, 2)
    v, lv = make(24, 3)
    augment = _shift if kind == WAVEFORM else None
    return TrainData(
        [ArraySource(a, la, augment), ArraySource(b, lb, augment)], kind=kind, weights=[2.0, 1.0],
        validation=ArraySource(v, lv), epoch_size=48,
    )


def _cfg(model: str, epochs: int = 3, **train_kw) -> RunConfig:
    return RunConfig(
        name="t",
        model=ModelConfig(name=model),
        frontend=FrontendConfig(name="mlperf_mfcc"),
        optim=OptimConfig(name="adam", lr=3e-3),
        schedule=ScheduleConfig(name="cosine", warmup_epochs=0.5),
        train=TrainConfig(epochs=epochs, batch_size=16, seed=5, progress=False, threads=1, **train_kw),
    )


@pytest.mark.parametrize("model,kind", [("tiny_conv", FEATURES), ("ds_cnn", WAVEFORM)])
def test_resume_equals_uninterrupted_run(tmp_path, model, kind):
    # tiny_conv has dropout (torch RNG state must be restored); ds_cnn has batch norm and
    # trains on augmented waveforms through the front-end.
    data = _data(kind)
    cfg = _cfg(model)
    full = train(cfg, data, tmp_path / "full")
    part = train(cfg, data, tmp_path / "part", stop_after_epochs=1)
    assert part.epochs_completed == 1
    resumed = train(cfg, data, tmp_path / "part", resume=True)
    assert resumed.epochs_completed == full.epochs_completed == 3

    a, b = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "part" / "last.pt")
    assert a.state_dict.keys() == b.state_dict.keys()
    for key in a.state_dict:
        assert torch.equal(a.state_dict[key], b.state_dict[key]), key
    assert a.step == b.step == 9
    for sa, sb in zip(a.optimizer["state"].values(), b.optimizer["state"].values()):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"])
    assert torch.equal(a.rng["torch"], b.rng["torch"])

    def strip(lines):
        return [{k: v for k, v in json.loads(x).items() if "second" not in k and "per_s" not in k} for x in lines]

    full_lines = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    part_lines = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    assert len(full_lines) == 3
    assert strip(full_lines) == strip(part_lines)
    assert (tmp_path / "part" / "config.yaml").is_file() and (tmp_path / "part" / "best.pt").is_file()


def test_training_learns_and_writes_run_folder(tmp_path):
    result = train(_cfg("ds_cnn", epochs=4), _data(FEATURES), tmp_path / "run")
    history = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert result.best_val_top1 == max(h["val_top1"] for h in history)
    best = load_checkpoint(result.best_path)
    assert best.epoch == result.best_epoch and best.metrics["val_top1"] == result.best_val_top1
    assert best.model_name == "ds_cnn" and best.frontend["kind"] == "mfcc" and len(best.labels) == 12
    assert best.config["train"]["batch_size"] == 16
    model = best.build_model()
    assert model(torch.zeros(2, 1, 49, 10)).shape == (2, 12)


def test_early_stopping(tmp_path):
    # A learning rate this small never changes a prediction: validation accuracy stays put,
    # so epochs 2 and 3 are "no better" and patience 2 stops the run after epoch 3.
    cfg = _cfg("ds_cnn", epochs=10, early_stopping_patience=2)
    cfg = replace(cfg, optim=OptimConfig(name="sgd", lr=1e-12, momentum=0.0), train=replace(cfg.train, freeze_batchnorm=True))
    result = train(cfg, _data(FEATURES), tmp_path / "run")
    assert result.stopped_early and result.epochs_completed == 3 and result.best_epoch == 1


def test_run_folder_guards(tmp_path):
    cfg = _cfg("ds_cnn", epochs=1)
    data = _data(FEATURES)
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(cfg, data, tmp_path / "empty", resume=True)
    train(cfg, data, tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a run"):
        train(cfg, data, tmp_path / "run")
    other = replace(cfg, model=ModelConfig(name="tiny_conv"))
    with pytest.raises(ConfigError, match="cannot resume"):
        train(other, data, tmp_path / "run", resume=True)


def test_data_that_does_not_fit_is_refused(tmp_path):
    x, labels = _features(8, 0)
    wrong_shape = TrainData([ArraySource(x[:, :40, :], labels)])
    with pytest.raises(DataError, match=r"features of shape \(40, 10\), but front-end mfcc gives \(49, 10\)"):
        train(_cfg("ds_cnn", epochs=1), wrong_shape, tmp_path / "a")
    bad_labels = TrainData([ArraySource(x, labels + 12)])
    with pytest.raises(DataError, match="label 2[0-3] but only 12 labels"):
        train(_cfg("ds_cnn", epochs=1), bad_labels, tmp_path / "b")


def test_epoch_plan_mixes_sources_by_weight():
    plan = epoch_plan([40, 24], [2.0, 1.0], 48, seed=5, epoch=0)
    assert plan.shape == (48, 2)
    assert (plan[:, 0] == 0).sum() == 32 and (plan[:, 0] == 1).sum() == 16
    # no clip of a source repeats before every clip of it has appeared
    assert len(set(plan[plan[:, 0] == 0, 1])) == 32
    small = epoch_plan([5], [1.0], 12, seed=0, epoch=0)
    counts = np.bincount(small[:, 1], minlength=5)
    assert counts.min() >= 2 and counts.max() <= 3
    assert not np.array_equal(epoch_plan([40, 24], [2.0, 1.0], 48, 5, 1), plan)
    assert np.array_equal(epoch_plan([40, 24], [2.0, 1.0], 48, 5, 0), plan)


def test_rank_parts_cover_the_global_batch():
    data = _data(WAVEFORM)
    single = list(iterate_batches(data, 1, 16, seed=3))
    parts = [list(iterate_batches(data, 1, 16, seed=3, rank=r, world_size=2)) for r in range(2)]
    for b, (clips, labels, size) in enumerate(single):
        joined = np.concatenate([parts[0][b][0], parts[1][b][0]])
        assert size == 16 and np.array_equal(joined, clips)  # same clips, same augmentation
        assert np.array_equal(np.concatenate([parts[0][b][1], parts[1][b][1]]), labels)


def test_a_checkpoint_from_before_an_option_existed_still_resumes(tmp_path):
    """A model option added later (with its default) does not make older runs unresumable."""
    from tinykws.train.checkpoint import save_checkpoint

    data = _data(FEATURES)
    cfg = _cfg("tiny_conv", epochs=2)
    train(cfg, data, tmp_path / "run", stop_after_epochs=1)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    dropped = next(iter(k for k in ckpt.model_kwargs if k != "input_shape"))
    ckpt.model_kwargs.pop(dropped)
    save_checkpoint(ckpt, tmp_path / "run" / "last.pt")
    assert train(cfg, data, tmp_path / "run", resume=True).epochs_completed == 2
    ckpt.model_kwargs[dropped] = "not a value it had"
    save_checkpoint(ckpt, tmp_path / "run" / "last.pt")
    with pytest.raises(ConfigError, match="cannot resume"):
        train(replace(cfg, train=replace(cfg.train, epochs=3)), data, tmp_path / "run", resume=True)


def test_average_follows_its_formula():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    avg = WeightAverage(0.9)
    avg.on_start(model, 0, 10)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for n in range(1, 6):
        with torch.no_grad():
            model[0].weight.add_(float(n))
        model.train()(torch.randn(4, 3))  # moves the batch-norm statistics and its count
        avg.after_step(model, n)
        d = min(0.9, (1 + n) / (10 + n))
        for k, v in model.state_dict().items():
            expected[k] = d * expected[k] + (1 - d) * v if v.dtype.is_floating_point else v.clone()
    for k, v in avg.model.state_dict().items():
        assert torch.allclose(v, expected[k], atol=1e-6), k
    assert avg.model[1].num_batches_tracked == 5
    assert not torch.equal(avg.model[0].weight, model[0].weight)


def test_best_holds_the_average_and_last_the_live_weights(tmp_path):
    cfg = _cfg("ds_cnn", epochs=3, ema_decay=0.9)
    data = _data(FEATURES)
    train(cfg, data, tmp_path / "run")
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    averaged = last.hooks["ema"]["weights"]
    assert last.hooks["ema"]["updates"] == last.step == 9
    # Validation scored the average: the final epoch's val_top1 is the average's accuracy.
    history = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    x, y = source_arrays(data.validation)

    def val_loss(weights):
        model = last.build_model()
        model.load_state_dict(weights)
        with torch.no_grad():
            logp = torch.log_softmax(model.eval()(torch.from_numpy(x)[:, None]), 1)
        return float(-logp[torch.arange(len(y)), torch.from_numpy(y)].mean())

    # (the loss, not top-1: on this tiny set both models can share the same top-1)
    logged = history[-1]["val_loss"]
    assert abs(logged - val_loss(averaged)) < 1e-5 < 1e-4 < abs(logged - val_loss(last.state_dict))
    assert any(not torch.equal(last.state_dict[k], averaged[k]) for k in averaged)
    # Without validation data best.pt is the last epoch's model: the average, no hook state.
    result = train(cfg, replace(data, validation=None), tmp_path / "noval")
    best = load_checkpoint(result.best_path)
    averaged = load_checkpoint(tmp_path / "noval" / "last.pt").hooks["ema"]["weights"]
    assert best.hooks == {} and best.epoch == 3
    for k, v in averaged.items():
        assert torch.equal(best.state_dict[k], v), k


def test_resumed_run_averages_like_an_uninterrupted_one(tmp_path):
    cfg = _cfg("ds_cnn", ema_decay=0.8)
    data = _data(WAVEFORM)
    train(cfg, data, tmp_path / "full")
    train(cfg, data, tmp_path / "part", stop_after_epochs=1)
    train(cfg, data, tmp_path / "part", resume=True)
    a = load_checkpoint(tmp_path / "full" / "last.pt").hooks["ema"]
    b = load_checkpoint(tmp_path / "part" / "last.pt").hooks["ema"]
    assert a["updates"] == b["updates"]
    for k in a["weights"]:
        assert torch.equal(a["weights"][k], b["weights"][k]), k
    assert (tmp_path / "full" / "metrics.jsonl").read_text().count("val_top1") == 3


def test_resume_refuses_another_averaging_setting(tmp_path):
    data = _data(FEATURES)
    train(_cfg("ds_cnn", ema_decay=0.9), data, tmp_path / "run", stop_after_epochs=1)
    for decay in (0.0, 0.95):
        with pytest.raises(ConfigError, match="ema_decay"):
            train(_cfg("ds_cnn", ema_decay=decay), data, tmp_path / "run", resume=True)
    train(_cfg("tiny_conv"), data, tmp_path / "plain", stop_after_epochs=1)
    with pytest.raises(ConfigError, match="ema_decay"):
        train(_cfg("tiny_conv", ema_decay=0.9), data, tmp_path / "plain", resume=True)


def test_averaging_is_refused_with_pruning_and_out_of_range(tmp_path):
    class Hook:
        name = "prune"

    with pytest.raises(ConfigError, match="ema_decay"):
        train(_cfg("ds_cnn", ema_decay=0.9), _data(FEATURES), tmp_path / "r", hooks=(Hook(),))
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(ema_decay=1.0).validate()
