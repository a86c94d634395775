"""Teacher-only inputs for distillation: mixtures and partial words, and their config."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import ConfigError
from tinykws.train.config import DistillConfig
from tinykws.train.distill import teacher_only_inputs, teacher_rng


def _batch(b: int = 20, n: int = 1600) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((b, n)) * np.linspace(0.05, 0.3, b)[:, None]).astype(np.float32)


def test_shares_of_the_batch_become_mixtures_and_crops():
    clips = _batch()
    out, labelled = teacher_only_inputs(clips, 0.25, 0.25, teacher_rng(0, 0, 0))
    assert out.shape == clips.shape and out.dtype == np.float32
    assert int((~labelled).sum()) == 10
    changed = ~np.all(out == clips, axis=1)
    assert np.array_equal(changed, ~labelled)  # labelled clips are untouched
    cropped = [i for i in np.flatnonzero(~labelled) if np.count_nonzero(out[i]) < 0.61 * clips.shape[1]]
    mixed = [i for i in np.flatnonzero(~labelled) if i not in cropped]
    assert len(cropped) == 5 and len(mixed) == 5
    for i in cropped:  # a contiguous stretch of the original, zero elsewhere
        nz = np.flatnonzero(out[i])
        assert np.array_equal(out[i, nz[0] : nz[-1] + 1], clips[i, nz[0] : nz[-1] + 1])
        assert 0.25 * 1600 - 2 <= nz[-1] - nz[0] + 1 <= 0.6 * 1600
    for i in mixed:  # the clip plus a scaled partner: louder than the clip alone
        assert np.sqrt(np.mean(out[i] ** 2)) > np.sqrt(np.mean(clips[i] ** 2))


def test_same_generator_same_inputs_and_no_share_no_change():
    clips = _batch()
    a, la = teacher_only_inputs(clips, 0.3, 0.1, teacher_rng(1, 2, 3))
    b, lb = teacher_only_inputs(clips, 0.3, 0.1, teacher_rng(1, 2, 3))
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    same, labelled = teacher_only_inputs(clips, 0.0, 0.0, teacher_rng(1, 2, 3))
    assert np.array_equal(same, clips) and labelled.all()


def test_config_needs_a_teacher_and_shares_within_one():
    DistillConfig(teacher="t.tflite", mix_share=0.3, crop_share=0.2).validate()
    with pytest.raises(ConfigError, match="teacher"):
        DistillConfig(mix_share=0.3).validate()
    with pytest.raises(ConfigError):
        DistillConfig(teacher="t.tflite", mix_share=0.7, crop_share=0.5).validate()
