"""Training with the synthetic-to-real options end to end on tiny data: channel augmentation,
SpecAugment, another source's noise, and teacher-only inputs; reproducible for a seed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from datagen import make_raw_dataset

from tinykws.audio.frontends import build_frontend
from tinykws.errors import ConfigError, DataError
from tinykws.train.checkpoint import load_checkpoint
from tinykws.train.config import (AugmentConfig, DataConfig, DataSourceConfig, DistillConfig, FrontendConfig,
                                  ModelConfig, RunConfig, SpecAugmentConfig, TrainConfig)
from tinykws.train.data import build_train_data
from tinykws.train.loop import train
from tinykws.train.recipe import config_from_dict
from tinykws.train.schedules import ScheduleConfig

AUG = AugmentConfig(speed_range=(0.9, 1.1), reverb_probability=0.5, reverb_rooms=3, reverb_rt60_s=(0.2, 0.3),
                    eq_probability=0.5, snr_db=(0.0, 20.0),
                    specaugment=SpecAugmentConfig(time_masks=1, time_width=5, freq_masks=1, freq_width=2))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("chan")
    a = make_raw_dataset(root / "a", words=("yes", "no", "bed"), speakers_per_word=4, clips_per_speaker=1)
    b = make_raw_dataset(root / "b", words=("yes", "no"), speakers_per_word=4, clips_per_speaker=1, seed=5)
    return a, b


def _cfg(a, b, **kw) -> RunConfig:
    data = DataConfig(sources=(DataSourceConfig(str(a.root), "raw", noise=(str(b.root / "_background_noise_"),)),),
                      epoch_size=24, augment=AUG)
    return RunConfig(name="c", data=data, model=ModelConfig(name="ds_cnn"), frontend=FrontendConfig(name="mlperf_mfcc"),
                     schedule=ScheduleConfig(name="constant"),
                     train=TrainConfig(epochs=1, batch_size=8, seed=3, progress=False, threads=1), **kw)


def _run(cfg: RunConfig, out) -> dict:
    data = build_train_data(cfg.data, build_frontend("mlperf_mfcc"), seed=cfg.train.seed, progress=False)
    train(cfg, data, out)
    return load_checkpoint(out / "last.pt").state_dict


def test_channel_options_train_reproducibly_and_use_the_other_noise(corpora, tmp_path):
    a, b = corpora
    cfg = _cfg(a, b)
    data = build_train_data(cfg.data, build_frontend("mlperf_mfcc"), seed=3, progress=False)
    view = data.sources[0].view
    assert set(view.noise_files) == {str(b.root / f) for f in b.noise_files}
    bank = data.sources[0].bank
    assert len(bank.rooms) == 3 and len(bank.colourings) == 3
    first, second = _run(cfg, tmp_path / "r1"), _run(cfg, tmp_path / "r2")
    assert all(torch.equal(first[k], second[k]) for k in first)
    # SpecAugment changes what the student sees, so the weights differ without it.
    plain = _run(replace(cfg, data=replace(cfg.data, augment=replace(AUG, specaugment=SpecAugmentConfig()))),
                 tmp_path / "r3")
    assert any(not torch.equal(first[k], plain[k]) for k in first if first[k].is_floating_point())


def test_teacher_only_inputs_in_the_loop(corpora, tmp_path):
    a, b = corpora
    cfg = _cfg(a, b)
    _run(cfg, tmp_path / "teacher")
    student = replace(cfg, distill=DistillConfig(teacher=str(tmp_path / "teacher" / "best.pt"), alpha=0.5,
                                                 mix_share=0.25, crop_share=0.25))
    one, two = _run(student, tmp_path / "s1"), _run(student, tmp_path / "s2")
    assert all(torch.equal(one[k], two[k]) for k in one)
    without = _run(replace(student, distill=replace(student.distill, mix_share=0.0, crop_share=0.0)), tmp_path / "s3")
    assert any(not torch.equal(one[k], without[k]) for k in one if one[k].is_floating_point())


def test_recipe_keys_are_validated(corpora, tmp_path):
    a, b = corpora
    base = {"data": {"sources": [{"path": str(a.root)}]}}
    for bad in ({"speed_range": [1.2, 0.9]}, {"reverb_probability": 1.5}, {"snr_db": [5.0]},
                {"specaugment": {"time_masks": -1}}):
        with pytest.raises(ConfigError):
            config_from_dict({**base, "data": {**base["data"], "augment": bad}})
    cfg = config_from_dict({**base, "data": {**base["data"], "augment": {"snr_db": [0, 10]}}})
    assert cfg.data.augment.snr_db == (0.0, 10.0)
    missing = replace(_cfg(a, b).data, sources=(DataSourceConfig(str(a.root), noise=(str(tmp_path / "none"),)),))
    with pytest.raises(DataError, match="noise folder not found"):
        build_train_data(missing, build_frontend("mlperf_mfcc"), progress=False)
