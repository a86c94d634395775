"""Teacher-mined splices (`tinykws data mine`, tinykws.train.mining)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tinykws.audio.frontends import build_frontend
from tinykws.audio.io import load_audio
from tinykws.cli.main import main
from tinykws.data.layouts import load_index
from tinykws.errors import ConfigError, DataError
from tinykws.train.distill import load_teacher
from tinykws.train.mining import CROSSFADE, MineOptions, _Cut, mine_splices, read_manifest, speech_onset, splice


def _burst(n: int, start: int, stop: int, freq: float, amp: float = 0.5) -> np.ndarray:
    x = np.zeros(n, np.float32)
    t = np.arange(stop - start) / 16000
    x[start:stop] = amp * np.sin(2 * np.pi * freq * t)
    return x


def test_speech_onset_finds_where_the_energy_starts():
    x = _burst(16000, 4000, 9000, 440.0)
    assert 4000 - 160 <= speech_onset(x) <= 4000 + 160
    assert speech_onset(np.zeros(16000, np.float32)) == 0


def test_splice_joins_head_and_tail_at_the_head_onset():
    head = _burst(16000, 3000, 8000, 300.0, 0.8)
    tail = _burst(16000, 5000, 12000, 1000.0, 0.2)
    cut = _Cut(head=0, tail=1, head_len=1600, skip=800, gain=1.0)
    made = splice(head, tail, cut)
    out, onset = made.samples, speech_onset(head)
    assert made.start == onset and made.head_samples == 1600
    assert out.shape == (16000,) and out.dtype == np.float32
    assert np.array_equal(out, np.round(out * 32768) / 32768)  # exactly what 16 bits hold
    assert not out[: onset].any()  # nothing before the head's onset
    # the head's peak is scaled to the tail's (gain 1.0); the tail follows after the crossfade
    assert np.abs(out[onset: onset + 1600 - CROSSFADE]).max() == pytest.approx(0.2, abs=1e-3)
    tail_onset = speech_onset(tail)
    rest = tail[tail_onset + 800 + CROSSFADE: tail_onset + 800 + 3000]
    placed = out[onset + 1600: onset + 1600 + len(rest)]
    assert np.abs(placed - rest).max() < 1e-4
    assert splice(head, tail, _Cut(0, 1, head_len=40, skip=0, gain=1.0)) is None  # head too short
    assert splice(head, np.zeros(16000, np.float32), cut) is None  # silent tail


@pytest.fixture(scope="module")
def mined(tone_model, tiny_raw_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("mined") / "corpus"
    opts = MineOptions(teacher=str(tone_model.checkpoint), sources=(str(tiny_raw_dataset.root),),
                       out_dir=str(out), per_class=4, candidates=1500, min_confidence=0.5, seed=3, batch=100)
    return opts, mine_splices(opts)


def test_mined_corpus_is_a_training_folder_labelled_by_the_teacher(mined, tone_model, tiny_raw_dataset):
    opts, result = mined
    index = load_index(result.out_dir)
    assert index.layout == "raw" and {c.split for c in index.clips} == {"train"}
    manifest = read_manifest(result.out_dir)
    assert len(manifest["clips"]) == len(index.clips) == sum(result.kept.values()) > 0
    assert set(result.kept) == {"yes", "no", "unknown"}  # silence is never mined
    assert result.kept["yes"] <= 4 and result.kept["no"] <= 4 and result.kept["unknown"] <= 8
    assert 0 < result.candidates_drawn <= 1500
    # Re-scoring each written file gives its folder's label back, with the recorded probability.
    teacher = load_teacher(tone_model.checkpoint)
    frontend = build_frontend(teacher.frontend).torch_module()
    labels = teacher.labels
    train_clips = {c.path for c in load_index(tiny_raw_dataset.root).select("train")}
    for record in manifest["clips"]:
        x = load_audio(f"{result.out_dir}/{record['file']}")
        with torch.no_grad():
            p = torch.softmax(teacher.logits(frontend(torch.from_numpy(x[None])).float().unsqueeze(1)), 1)[0]
        assert labels[int(p.argmax())] == record["label"]
        assert float(p.max()) == pytest.approx(record["p"], abs=1e-3) and record["p"] >= opts.min_confidence
        assert record["head"] in train_clips and record["tail"] in train_clips  # never validation clips
        assert 0 < record["head_samples"] <= 0.25 * 16000 and 0 <= record["start"] <= 12000


def test_provenance_fingerprints_a_mined_corpus_by_its_manifest(mined):
    from tinykws.train.provenance import data_fingerprint

    _, result = mined
    entry = data_fingerprint(result.out_dir)
    assert entry["kind"] == "mined corpus" and entry["clips"] == sum(result.kept.values())
    assert len(entry["manifest_sha256"]) == 64


def test_mining_is_deterministic_for_a_seed(mined, tmp_path):
    opts, result = mined
    again = mine_splices(MineOptions(**{**opts.__dict__, "out_dir": str(tmp_path / "again")}))
    first, second = read_manifest(result.out_dir), read_manifest(again.out_dir)
    assert first["clips"] and first["clips"] == second["clips"]
    for record in first["clips"]:
        a = (tmp_path / "again" / record["file"]).read_bytes()
        assert a == open(f"{result.out_dir}/{record['file']}", "rb").read()


def test_mine_cli_json_and_bad_input(tone_model, tiny_raw_dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["data", "mine", "--teacher", str(tone_model.checkpoint), "--from", str(tiny_raw_dataset.root),
                 "--out", str(out), "--per-class", "2", "--candidates", "300", "--no-progress", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["out_dir"] == str(out) and (out / "mine_manifest.json").is_file()
    # a missing source and a missing teacher: a clean error naming the path, nothing written
    assert main(["data", "mine", "--teacher", str(tone_model.checkpoint), "--from", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "o1"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and not (tmp_path / "o1").exists()
    assert main(["data", "mine", "--teacher", str(tmp_path / "t.pt"), "--from", str(tiny_raw_dataset.root),
                 "--out", str(tmp_path / "o2"), "--no-progress"]) == 2
    assert "t.pt" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_mine_refuses_bad_options_and_a_users_folder(tone_model, tiny_raw_dataset, tmp_path):
    base = dict(teacher=str(tone_model.checkpoint), sources=(str(tiny_raw_dataset.root),), out_dir=str(tmp_path / "o"))
    with pytest.raises(ConfigError, match="min-confidence"):
        mine_splices(MineOptions(**base, min_confidence=1.5))
    with pytest.raises(ConfigError, match="head_ms"):
        mine_splices(MineOptions(**base, head_ms=(50.0, 10.0)))
    with pytest.raises(ConfigError, match="--from"):
        mine_splices(MineOptions(**{**base, "sources": ()}))
    mine_dir = tmp_path / "mine"
    mine_dir.mkdir()
    (mine_dir / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not an earlier tinykws output"):
        mine_splices(MineOptions(**{**base, "out_dir": str(mine_dir)}, candidates=10))
    assert (mine_dir / "notes.txt").read_text() == "keep me"
    with pytest.raises(DataError):
        mine_splices(MineOptions(**{**base, "sources": (str(tmp_path / "missing"),)}))


def test_a_corrupt_clip_met_while_mining_leaves_no_output(tone_model, tiny_raw_dataset, tmp_path, capsys):
    import shutil

    from datagen import write_corrupt

    source = tmp_path / "src"
    shutil.copytree(tiny_raw_dataset.root, source)
    train_clip = next(c for c in load_index(source).select("train") if c.word == "yes")
    write_corrupt(Path(train_clip.path))  # found only when a candidate first uses it
    out = tmp_path / "out"
    assert main(["data", "mine", "--teacher", str(tone_model.checkpoint), "--from", str(source),
                 "--out", str(out), "--per-class", "50", "--candidates", "3000", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert train_clip.path.split("/")[-1] in err and "Traceback" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_a_teacher_whose_outputs_do_not_match_its_labels_is_refused(tiny_raw_dataset, tmp_path):
    # A float .tflite teacher is read with the 12 MLPerf labels; the tone model has 4 outputs.
    from tinykws.audio.frontends import build_frontend
    from tinykws.export.float_tflite import export_float_tflite
    from tinykws.models import build_model

    torch.manual_seed(0)
    model = build_model("ds_cnn", num_classes=4).eval()
    teacher = tmp_path / "four.tflite"
    export_float_tflite(model, teacher, build_frontend("mlperf_mfcc").to_dict(), ["yes", "no", "silence", "unknown"])
    with pytest.raises(ConfigError, match="has 4 outputs, not the 12"):
        mine_splices(MineOptions(teacher=str(teacher), sources=(str(tiny_raw_dataset.root),),
                                 out_dir=str(tmp_path / "o"), tflite_frontend="mlperf_mfcc"))
    assert not (tmp_path / "o").exists()
