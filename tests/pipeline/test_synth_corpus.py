"""A tiny synthetic corpus end to end: layout, held-out speakers, manifest, determinism,
resume, and reading it back with the raw-layout reader and `tinykws data info`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tinykws.data import info as info_mod
from tinykws.data import layouts
from tinykws.data.synth.corpus import SynthOptions, synthesize_corpus
from tinykws.errors import ConfigError, EngineUnavailableError

WORDS = ("go", "off")


def _opts(out: Path, **kw) -> SynthOptions:
    base = dict(words=WORDS, out_dir=str(out), per_word=12, unknown_words=("cat", "dog", "go"),
                unknown_clips=6, engines=(("espeak", 1.0),), seed=11, workers=1,
                noise_seconds=2.0, progress=False)
    base.update(kw)
    return SynthOptions(**base)


def _wavs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.wav"))}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    return out, synthesize_corpus(_opts(out))


def test_layout_and_clips(corpus):
    out, result = corpus
    assert result.clips_planned == 2 * 12 + 6 and result.clips_written == result.clips_planned
    assert not result.failures
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["_background_noise_", "cat", "dog", "go", "off"]
    # "go" is a keyword, so it is dropped from the unknown words: 6 unknown clips over cat, dog.
    assert result.clips_per_word == {"go": 12, "off": 12, "cat": 3, "dog": 3}
    for wav in (out / "off").glob("*.wav"):
        assert "_nohash_" in wav.name and len(wav.name.split("_nohash_")[0]) == 8
        x, rate = sf.read(wav)
        assert rate == 16000 and x.shape == (16000,)
        assert np.sqrt(np.mean(x**2)) > 1e-3
    noise = sorted(p.name for p in (out / "_background_noise_").iterdir())
    assert noise == ["synth_babble.wav", "synth_brown_noise.wav", "synth_pink_noise.wav", "synth_white_noise.wav"]


def test_held_out_speakers_are_disjoint(corpus):
    out, _ = corpus
    manifest = json.loads((out / "synth_manifest.json").read_text())
    val = (out / "validation_list.txt").read_text().split()
    test = (out / "testing_list.txt").read_text().split()
    speaker = lambda rel: rel.split("/")[1].split("_nohash_")[0]  # noqa: E731
    all_clips = {str(p.relative_to(out)) for p in out.glob("*/*.wav") if p.parent.name != "_background_noise_"}
    assert set(val) <= all_clips and set(test) <= all_clips
    train = all_clips - set(val) - set(test)
    assert not {speaker(r) for r in val} & {speaker(r) for r in test}
    assert not {speaker(r) for r in train} & {speaker(r) for r in val + test}
    for rel in val:
        assert manifest["speakers"][speaker(rel)]["split"] == "validation"
    assert manifest["engines"]["espeak"]["version"]
    assert set(manifest["clips"]) == all_clips


def test_same_seed_same_bytes_and_resume(corpus, tmp_path):
    out, _ = corpus
    again = tmp_path / "again"
    synthesize_corpus(_opts(again))
    assert _wavs(again) == _wavs(out)
    # Resume: delete two clips; the rerun writes only those, identical, and no more files.
    victims = sorted((again / "off").glob("*.wav"))[:2]
    before = _wavs(again)
    for v in victims:
        v.unlink()
    result = synthesize_corpus(_opts(again))
    assert result.clips_written == 2 and result.clips_kept == result.clips_planned - 2
    assert _wavs(again) == before


def test_a_folder_of_other_options_is_refused_or_made_again(tmp_path):
    out = tmp_path / "owned"
    synthesize_corpus(_opts(out, per_word=2, unknown_clips=0))
    with pytest.raises(ConfigError, match="other options"):
        synthesize_corpus(_opts(out, per_word=2, unknown_clips=0, seed=12))
    # A pipeline's own folder (replace_other) is emptied and made again: it holds exactly
    # what a fresh folder of the new options holds, nothing of the old corpus.
    synthesize_corpus(_opts(out, per_word=2, unknown_clips=0, seed=12, replace_other=True))
    fresh = tmp_path / "fresh"
    synthesize_corpus(_opts(fresh, per_word=2, unknown_clips=0, seed=12))
    assert _wavs(out) == _wavs(fresh)
    assert {p.name for p in out.iterdir()} == {p.name for p in fresh.iterdir()}
    # An unreadable stamp is never leave to delete.
    (out / ".tinykws-synth-options.json").write_text("{not json")
    with pytest.raises(ConfigError, match="other options"):
        synthesize_corpus(_opts(out, per_word=2, unknown_clips=0, replace_other=True))
    assert _wavs(out) == _wavs(fresh)


def test_other_seed_differs(corpus, tmp_path):
    out, _ = corpus
    other = tmp_path / "other"
    synthesize_corpus(_opts(other, seed=12, per_word=3, unknown_clips=0))
    assert _wavs(other).keys() != {k for k in _wavs(out) if k.startswith(("go/", "off/"))}


def test_reads_back_with_the_raw_layout_reader(corpus):
    out, result = corpus
    index = layouts.load_index(out)
    assert index.layout == "raw" and index.split_source == "lists"
    assert index.counts("word") == result.clips_per_word
    assert len(index.noise_files) == 4
    val = set((out / "validation_list.txt").read_text().split())
    assert {c.relpath for c in index.select("validation")} == val
    info = info_mod.dataset_info(out)
    assert info.formats == {"16000 Hz, 1 ch, PCM_16": result.clips_planned}
    assert not info.unreadable


def test_bad_requests_are_clear(tmp_path):
    with pytest.raises(EngineUnavailableError, match="unknown speech engine 'nope'"):
        synthesize_corpus(_opts(tmp_path / "x", engines=(("nope", 1.0),)))
    with pytest.raises(ConfigError, match="--per-word"):
        synthesize_corpus(_opts(tmp_path / "x", per_word=0))


@pytest.mark.slow
def test_workers_give_the_same_corpus(corpus, tmp_path):
    out, _ = corpus
    parallel = tmp_path / "parallel"
    synthesize_corpus(_opts(parallel, workers=2))
    assert _wavs(parallel) == _wavs(out)


def test_cli_synth(tmp_path, capsys):
    from tinykws.cli.main import main

    out = tmp_path / "cli"
    code = main(["data", "synth", "--words", "on", "--per-word", "3", "--unknown-words", "cat",
                 "--unknown-clips", "2", "--engines", "espeak", "--out", str(out), "--workers", "1",
                 "--noise-seconds", "1", "--no-progress", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["clips_per_word"] == {"on": 3, "cat": 2}
    assert main(["data", "synth", "--words", "on", "--out", str(out), "--engines", "mbrola"]) == 2


@pytest.mark.slow
def test_every_installed_engine_is_reproducible(tmp_path):
    from tinykws.data.synth.engine import available_engines

    mix = tuple((name, 1.0) for name in available_engines())
    a = synthesize_corpus(_opts(tmp_path / "a", engines=mix, per_word=8, unknown_clips=0))
    synthesize_corpus(_opts(tmp_path / "b", engines=mix, per_word=8, unknown_clips=0))
    assert not a.failures
    assert _wavs(tmp_path / "a") == _wavs(tmp_path / "b")
    manifest = json.loads((tmp_path / "a" / "synth_manifest.json").read_text())
    used = {c["engine"] for c in manifest["clips"].values()}
    assert used <= {name for name, _ in mix} and len(used) >= min(2, len(mix))


def test_noise_dir_is_copied_as_16k_wav(tmp_path):
    from tinykws.data.synth.noise import copy_noise_dir
    from tinykws.errors import DataError

    src = tmp_path / "noise"
    src.mkdir()
    rng = np.random.default_rng(0)
    sf.write(src / "fan.flac", (0.1 * rng.standard_normal(8000 * 3)).astype(np.float32), 8000)
    (src / "notes.txt").write_text("not audio")
    out = tmp_path / "corpus"
    written = copy_noise_dir(src, out)
    assert [p.name for p in written] == ["fan.wav"]
    x, rate = sf.read(out / "_background_noise_" / "fan.wav")
    assert rate == 16000 and x.shape == (16000 * 3,)
    with pytest.raises(DataError, match="not a folder"):
        copy_noise_dir(tmp_path / "missing", out)


def test_the_noise_folder_is_known_by_where_it_is_not_how_it_is_spelt(tmp_path, monkeypatch):
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "fan.flac", (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 16000)
    out = tmp_path / "corpus"
    monkeypatch.chdir(tmp_path)
    synthesize_corpus(_opts(out, per_word=1, unknown_clips=0, noise_dir="noise"))
    # the same folder, spelt from elsewhere: a resume, not a corpus of other options
    monkeypatch.chdir(out)
    synthesize_corpus(_opts(out, per_word=1, unknown_clips=0, noise_dir="../noise"))
    synthesize_corpus(_opts(out, per_word=1, unknown_clips=0, noise_dir=str(noise)))
    # the same text from another directory names another folder
    other = out / "noise"
    other.mkdir()
    with pytest.raises(ConfigError, match="other options"):
        synthesize_corpus(_opts(out, per_word=1, unknown_clips=0, noise_dir="noise"))
    # a stamp from before folders were recorded resolved holds the text as typed
    stamp = out / ".tinykws-synth-options.json"
    doc = json.loads(stamp.read_text())
    assert doc["noise_dir"] == str(noise.resolve())
    stamp.write_text(json.dumps({**doc, "noise_dir": "noise"}))
    monkeypatch.chdir(tmp_path)
    synthesize_corpus(_opts(out, per_word=1, unknown_clips=0, noise_dir=str(noise)))
    # ... and is rewritten in the resolved form once it has matched
    assert json.loads(stamp.read_text()) == doc
