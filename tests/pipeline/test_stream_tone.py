"""Always-on detection with a model that really detects (the tone model of tests/tone_kws.py):
the detections do not depend on the chunk size, keywords at the very start and end of a
stream are found, the refractory period holds, every runtime gives the same scores, the
whole-window fallback equals the incremental stream (numpy runtime, LiteRT, TFLite Micro
and the generated C agree bit for bit), and `tinykws stream` refuses bad input
with a clear error."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest
import soundfile as sf

from tinykws.audio.io import write_wav
from tinykws.cli.main import main
from tinykws.stream.detector import Detector, DetectorConfig
from tone_kws import keyword

SR = 16000


def _stream(*words_at: tuple[str, float], seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Low noise with each word's one-second clip starting at the given second."""
    audio = 0.003 * np.random.default_rng(seed).standard_normal(int(seconds * SR))
    for i, (word, start) in enumerate(words_at):
        s = int(start * SR)
        audio[s:s + SR] += keyword(word, 3000 + i)
    return audio.astype(np.float32)


def _run(detector: Detector, audio: np.ndarray, chunk: int):
    found, rows = [], []
    for i in range(0, len(audio), chunk):
        found += detector.process(audio[i:i + chunk])
        rows.append(detector.last_rows.probs)
    found += detector.flush()
    rows.append(detector.last_rows.probs)
    return [(d.label, d.time_s, d.score) for d in found], np.concatenate(rows)


def test_chunk_sizes_give_identical_detections_and_keywords_at_both_ends(tone_model):
    audio = _stream(("yes", 0.0), ("no", 2.0))  # the stream starts with "yes" and ends with "no"
    results = {}
    with Detector(tone_model.tflite, runtime="reference") as detector:
        assert detector.stream.mode == "incremental"
        for chunk in (1, 160, 320, 1000, 16000):
            detector.reset()
            results[chunk] = _run(detector, audio, chunk)
    detections, rows = results[16000]
    for chunk, (d, r) in results.items():
        assert d == detections, chunk
        np.testing.assert_array_equal(r, rows)
    assert [d[0] for d in detections] == ["yes", "no"]
    assert detections[0][1] <= 1.2 and 2.0 <= detections[1][1] <= 3.0


def test_refractory_period_on_real_detections(tone_model):
    audio = _stream(("yes", 0.0), ("yes", 1.6), seconds=3.0)
    counts = {}
    for refractory in (200.0, 3000.0):
        with Detector(tone_model.checkpoint, config=DetectorConfig(refractory_ms=refractory)) as detector:
            counts[refractory] = [d[0] for d in _run(detector, audio, 1600)[0]]
    assert counts == {200.0: ["yes", "yes"], 3000.0: ["yes"]}


def test_every_runtime_gives_the_same_scores(tone_model):
    audio = _stream(("no", 0.5), ("yes", 1.8), seconds=3.0, seed=1)
    rows = {}
    for runtime, options in (("reference", {}), ("litert", {}), ("tflm", {}), ("c-host", {}),
                             ("reference", {"arithmetic": "tflite_micro"}), ("torch", {})):
        model = tone_model.checkpoint if runtime == "torch" else tone_model.tflite
        with Detector(model, runtime=runtime, **options) as detector:
            rows[(runtime, *options.values())] = _run(detector, audio, 1000)
    np.testing.assert_array_equal(rows[("litert",)][1], rows[("reference",)][1])
    np.testing.assert_array_equal(rows[("tflm",)][1], rows[("reference", "tflite_micro")][1])
    np.testing.assert_array_equal(rows[("c-host",)][1], rows[("reference", "tflite_micro")][1])
    labels = [d[0] for d in rows[("torch",)][0]]
    assert labels == ["no", "yes"] and [d[0] for d in rows[("reference",)][0]] == labels
    assert np.abs(rows[("torch",)][1] - rows[("reference",)][1]).max() < 0.05  # float against int8


def test_whole_window_fallback_equals_the_incremental_stream(tone_model):
    audio = _stream(("yes", 0.7), seconds=2.5, seed=2)
    with Detector(tone_model.tflite, mode="window") as window, Detector(tone_model.tflite) as incremental:
        assert window.stream.mode == "window"
        _, by_window = _run(window, audio, 4000)
        _, by_frame = _run(incremental, audio, 4000)
    # both start with the window of the first second and move 20 ms per row
    assert len(by_window) == (len(audio) - SR) // 320 + 1
    np.testing.assert_array_equal(by_frame[:len(by_window)], by_window)


def test_stream_cli_prints_detections_writes_outputs_and_refuses_bad_input(tone_model, tmp_path, capsys,
                                                                          monkeypatch):
    wav = tmp_path / "talk.wav"
    write_wav(wav, _stream(("yes", 0.0), ("no", 2.0)))
    assert main(["stream", str(tone_model.tflite.parent), str(wav), "--out", str(tmp_path / "out"), "--json"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["label"] for d in printed] == ["yes", "no"]
    saved = json.loads((tmp_path / "out" / "talk.probabilities.json").read_text())
    assert saved["columns"] == ["time_s", "yes", "no", "silence", "unknown"] and saved["mode"] == "incremental"
    assert np.load(tmp_path / "out" / "talk.probabilities.npy").shape == (len(saved["rows"]), 5)
    assert (tmp_path / "out" / "talk.png").stat().st_size > 0

    raw = (_stream(("no", 0.5), seconds=2.0) * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert main(["stream", str(tone_model.checkpoint), "-"]) == 0
    assert "no" in capsys.readouterr().out

    bad = {"empty.wav": None, "silent.wav": np.zeros(SR), "nan.wav": np.full(SR, np.nan)}
    for name, samples in bad.items():
        if samples is None:
            (tmp_path / name).write_bytes(b"")
        else:
            sf.write(tmp_path / name, samples, SR, subtype="FLOAT")
    write_wav(tmp_path / "rate.wav", _stream(seconds=1.0), sample_rate=8000)
    expected = {"empty.wav": "empty file", "silent.wav": "digital silence", "nan.wav": "NaN",
                "rate.wav": "8000 Hz"}
    for name, message in expected.items():
        assert main(["stream", str(tone_model.checkpoint), str(tmp_path / name)]) == 2
        assert message in capsys.readouterr().err, name
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["stream", str(tone_model.checkpoint), "-"]) == 2
    assert "gave no samples" in capsys.readouterr().err


def test_glued_tracks_with_a_keyword_between_them(tone_model, tmp_path):
    from tinykws.pipeline.glued import glued_track
    from tinykws.report.html import write_report

    rng = np.random.default_rng(5)
    track_a = 0.003 * rng.standard_normal(10 * SR)
    track_a[4 * SR:5 * SR] += keyword("bed", 77)
    track_b = 0.003 * rng.standard_normal(10 * SR)
    track_b[3 * SR:4 * SR] += keyword("cat", 78)
    with Detector(tone_model.tflite) as detector:
        result = glued_track(detector, track_a, keyword("yes", 79), track_b, "yes", tmp_path)
    assert result.span == (10.0, 11.0)
    assert result.peak_inside > 0.5 and result.peak_outside < 0.3
    assert [(d.label, 10.0 <= d.time_s <= 12.0) for d in result.detections] == [("yes", True)]
    page = write_report(tmp_path / "report.html", "glued", [result.section("glued tracks")])
    assert "glued.png" in page.read_text()


@pytest.mark.shared
def test_the_mlperf_reference_streams_by_whole_windows(ref_model_int8, sc12_test_dev):
    """'same' padding and per-clip peak normalisation: the reference model is refused as a
    frame-by-frame stream and listens by whole windows, and hears real keywords."""
    from tinykws.audio.io import load_audio
    from tinykws.stream.plan import StreamRefusal

    gap = lambda: 0.003 * np.random.default_rng(len(audio)).standard_normal(SR).astype(np.float32)  # noqa: E731
    audio = []
    audio += [gap(), load_audio(sorted((sc12_test_dev / "yes").glob("*.flac"))[0], length=SR), gap()]
    audio += [load_audio(sorted((sc12_test_dev / "stop").glob("*.flac"))[0], length=SR), gap()]
    audio = np.concatenate(audio)
    with pytest.raises(StreamRefusal, match="pads the time axis"):
        Detector(ref_model_int8, mode="incremental")
    with Detector(ref_model_int8) as detector:
        assert detector.stream.mode == "window"
        found, _ = _run(detector, audio, 1600)
    # each keyword is heard while its clip is in the window (other labels may fire at the
    # windows' edges: the reference normalises whatever part of a word a window holds)
    assert any(d[0] == "yes" and 1.0 <= d[1] <= 3.0 for d in found)
    assert any(d[0] == "stop" and 3.0 <= d[1] <= 5.0 for d in found)
