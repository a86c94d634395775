"""Evaluation streams and stream-eval: the streams follow their recipe and seed, and FRR /
false accepts per hour are counted right for a model that really detects (the tone model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tinykws.audio.io import write_wav
from tinykws.cli.main import main
from tinykws.data.eval_streams import StreamRecipe, build_eval_streams, load_stream_set
from tinykws.data.sentences import KEYWORD_LIKE, check_vocabulary, sentence_texts
from tinykws.errors import DataError
from tinykws.stream.evaluate import evaluate_streams
from tinykws.stream.open import open_stream
from tone_kws import keyword

SR = 16000


def test_sentences_never_contain_keywords():
    words = {w for text in sentence_texts(200, seed=3) for w in text.split()}
    assert words and words <= set(check_vocabulary())
    assert not words & (KEYWORD_LIKE | {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"})


def test_streams_follow_the_recipe_and_the_seed(tiny_folder_dataset, tmp_path):
    noise = tmp_path / "noise"
    write_wav(noise / "hum.wav", 0.1 * np.sin(np.arange(3 * SR) * 2 * np.pi * 50 / SR))
    recipe = StreamRecipe(seed=4, snrs_db=(20.0, 5.0), positives_per_keyword=1, negative_hours=0.004, sentences=3,
                          engines={"espeak": 1.0})
    first = build_eval_streams(recipe, tiny_folder_dataset.root, noise, tmp_path / "a")
    second = build_eval_streams(recipe, tiny_folder_dataset.root, noise, tmp_path / "b")
    assert [s.name for s in first.streams] == ["positive_snr20db", "positive_snr5db", "negative"]
    for a, b in zip(first.streams, second.streams):
        assert a.events == b.events
        np.testing.assert_array_equal(sf.read(a.path)[0], sf.read(b.path)[0])
    keywords = set(first.keywords)
    assert "_unknown_" not in keywords and len(keywords) == 10
    for s in first.positive:
        assert sorted(e.label for e in s.events) == sorted(keywords)  # one of each keyword per SNR
        assert all(0 < e.start_s and e.end_s <= s.seconds for e in s.events)
        assert all(b.start_s - a.end_s >= recipe.gap_s[0] for a, b in zip(s.events, s.events[1:]))
    sources = [e.source for s in first.positive for e in s.events]
    assert len(set(sources)) == len(sources)  # distinct clips across SNRs
    negative = first.negative[0]
    assert negative.events == () and negative.seconds == pytest.approx(0.004 * 3600, abs=1e-3)
    index = json.loads((tmp_path / "a" / "streams.json").read_text())
    assert index["recipe"]["seed"] == 4 and len(index["sentences"]) == 3
    with pytest.raises(DataError, match="streams.json"):
        load_stream_set(tmp_path)


def _tone_streams(folder):
    """Two short streams by hand: yes/no tone words at known times, and a negative one with
    other tone words and noise only."""
    rng = np.random.default_rng(0)
    positive = 0.003 * rng.standard_normal(14 * SR)
    events = []
    for i, (word, start) in enumerate([("yes", 1.0), ("no", 4.0), ("yes", 7.0), ("no", 10.0)]):
        positive[int(start * SR):int(start * SR) + SR] += keyword(word, 4000 + i)
        events.append({"label": word, "start_s": start, "end_s": start + 1.0, "source": f"{word}{i}"})
    negative = 0.003 * rng.standard_normal(20 * SR)
    for i, start in enumerate(range(1, 18, 4)):
        negative[start * SR:(start + 1) * SR] += keyword(("bed", "cat", "dog")[i % 3], 5000 + i)
    write_wav(folder / "positive.flac", positive)
    write_wav(folder / "negative.flac", negative)
    (folder / "streams.json").write_text(json.dumps({
        "format": "tinykws evaluation streams", "recipe": {"seed": 0}, "keywords": ["no", "yes"],
        "streams": [{"name": "positive_snr20db", "file": "positive.flac", "seconds": 14.0, "snr_db": 20.0,
                     "events": events},
                    {"name": "negative", "file": "negative.flac", "seconds": 20.0, "snr_db": None, "events": []}]}))
    return load_stream_set(folder)


def test_frr_and_false_accepts_per_hour_of_a_real_detector(tone_model, tmp_path):
    streams = _tone_streams(tmp_path)
    posteriors = open_stream(tone_model.tflite)
    try:
        result = evaluate_streams(streams, posteriors, "tone")
    finally:
        posteriors.close()
    assert set(result.curves) == {"yes", "no"}
    hours = 20.0 / 3600
    assert result.negative_hours == pytest.approx(hours)
    for curve in result.curves.values():
        assert curve.positives == 2
        assert np.allclose(curve.fa_per_hour, curve.false_accepts / hours)
        # the tone words are easy: some thresholds find both and accept nothing else...
        assert np.any((curve.frr == 0) & (curve.false_accepts == 0))
        # ... and at 0.9975 nothing fires. (FRR is not monotonic: below the background
        # probability a keyword fires early and, never falling below, is not re-armed.)
        assert curve.false_accepts[-1] == 0 and curve.frr[-1] == 1.0
    points = result.operating_points()
    assert points["0.5"]["yes"]["frr"] == 0.0 and points["1"]["no"]["frr"] == 0.0
    assert points["0.5"]["mean_frr"] == pytest.approx(np.mean([points["0.5"][k]["frr"] for k in ("yes", "no")]))


def test_stream_eval_cli_writes_curves_and_plot(tone_model, tmp_path, capsys):
    _tone_streams(tmp_path / "streams")
    out = tmp_path / "eval"
    assert main(["stream-eval", str(tone_model.checkpoint), "--data", str(tmp_path / "streams"), "--out",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    assert "FRR@0.5FA/h" in printed and "yes" in printed
    saved = json.loads((out / "stream_eval.json").read_text())
    assert saved["mode"] == "incremental" and set(saved["curves"]) == {"yes", "no"}
    assert (out / "det.png").stat().st_size > 0
