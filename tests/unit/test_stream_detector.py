"""The detection rule on posterior rows: smoothing, per-keyword thresholds, the refractory
period, silence/unknown never firing, and independence from how rows are grouped."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.errors import ConfigError
from tinykws.stream.detector import DetectionLogic, DetectorConfig, smoothing_rows
from tinykws.stream.posteriors import Posteriors

LABELS = ("yes", "no", "silence", "unknown")
HOP = 0.02


def rows(profile: dict[str, list[tuple[int, int, float]]], n: int = 300) -> Posteriors:
    """Posteriors of n hops; `profile` sets label probabilities on row ranges, the rest
    goes to silence."""
    probs = np.zeros((n, len(LABELS)))
    for label, spans in profile.items():
        for start, end, value in spans:
            probs[start:end, LABELS.index(label)] = value
    probs[:, 2] = 1.0 - probs.sum(axis=1) + probs[:, 2]
    return Posteriors(np.arange(n) * HOP + 1.0, probs)


def detect(posteriors: Posteriors, groups=(None,), **config):
    logic = DetectionLogic(LABELS, DetectorConfig(**config), HOP)
    found = []
    cuts = [0, *[g for g in groups if g], len(posteriors)]
    for a, b in zip(cuts[:-1], cuts[1:]):
        found += logic.update(Posteriors(posteriors.times[a:b], posteriors.probs[a:b]))
    return [(d.label, round(d.time_s, 2)) for d in found]


def test_smoothing_delays_and_filters():
    # a one-row spike does not survive a 5-row average; a sustained keyword does, 4 rows late
    spiky = rows({"yes": [(50, 51, 0.99)], "no": [(100, 130, 0.9)]})
    assert smoothing_rows(100.0, HOP) == 5
    assert detect(spiky) == [("no", round(1.0 + 102 * HOP, 2))]  # mean of 3 of 5 rows at 0.9 >= 0.5
    assert detect(spiky, smoothing_ms=0.0) == [("yes", 2.0), ("no", 3.0)]


def test_refractory_period_and_per_keyword_thresholds():
    # 5-row smoothing: 0.9 on 3 of 5 rows reaches 0.5 two rows after the onset
    twice = rows({"yes": [(50, 70, 0.9), (90, 110, 0.9)]})
    assert detect(twice, refractory_ms=1000.0) == [("yes", 2.04)]
    assert detect(twice, refractory_ms=500.0) == [("yes", 2.04), ("yes", 2.84)]
    # one long utterance fires once, however long the refractory period is not
    held = rows({"yes": [(50, 250, 0.9)]})
    assert detect(held, refractory_ms=100.0) == [("yes", 2.04)]
    weak = rows({"yes": [(50, 70, 0.6)], "no": [(150, 170, 0.6)]})  # 0.5 reached on the 5th row
    assert detect(weak) == [("yes", 2.08), ("no", 4.08)]
    assert detect(weak, thresholds={"no": 0.7}) == [("yes", 2.08)]
    assert detect(weak, threshold=0.7, thresholds={"no": 0.55}) == [("no", 4.08)]


def test_silence_and_unknown_never_fire():
    noisy = rows({"unknown": [(10, 200, 0.95)]})
    assert detect(noisy, threshold=0.01) == []


def test_grouping_of_rows_does_not_matter():
    p = rows({"yes": [(50, 70, 0.9), (140, 150, 0.7)], "no": [(200, 240, 0.8)]})
    whole = detect(p, refractory_ms=300.0)
    assert whole and detect(p, groups=(1, 2, 52, 53, 141, 299), refractory_ms=300.0) == whole


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="unknown keyword"):
        DetectionLogic(LABELS, DetectorConfig(thresholds={"maybe": 0.5}), HOP)
    with pytest.raises(ConfigError, match=r"threshold yes=1.5"):
        DetectionLogic(LABELS, DetectorConfig(thresholds={"yes": 1.5}), HOP)
