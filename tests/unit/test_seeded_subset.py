"""`eval.dataset.seeded_subset`: the one seeded subset sampler (quantize's calibration clips,
the harness's --limit and grade's re-run samples)."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import DataError
from tinykws.eval.dataset import dataset_features, seeded_subset


def test_a_subset_is_sorted_distinct_in_range_and_fixed_by_the_seed():
    a = seeded_subset(1000, 37, seed=5)
    assert len(a) == 37 and len(set(a.tolist())) == 37 and np.all(np.diff(a) > 0) and a.min() >= 0 and a.max() < 1000
    assert np.array_equal(a, seeded_subset(1000, 37, seed=5))
    assert not np.array_equal(a, seeded_subset(1000, 37, seed=6))


def test_all_items_or_a_refusal_at_the_edges():
    assert seeded_subset(10, None) is None and seeded_subset(10, 10) is None and seeded_subset(10, 99) is None
    with pytest.raises(DataError, match="at least 1"):
        seeded_subset(10, 0)


def test_dataset_features_takes_that_subset(tiny_raw_dataset):
    from tinykws.audio.frontends import build_frontend
    from tinykws.data.labels import MLPERF_LABELS

    fe = build_frontend("mlperf_mfcc")
    every = dataset_features(tiny_raw_dataset.root, "train", fe, MLPERF_LABELS, progress=False)
    some = dataset_features(tiny_raw_dataset.root, "train", fe, MLPERF_LABELS, limit=5, seed=3, progress=False)
    picked = seeded_subset(len(every), 5, seed=3)
    assert some.clips == tuple(every.clips[i] for i in picked)
    assert np.array_equal(some.features, every.features[picked])
