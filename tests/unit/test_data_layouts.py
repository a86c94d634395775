"""Layouts, the split rule and the label set."""

from __future__ import annotations

import hashlib

import pytest
from datagen import make_folder_dataset, make_raw_dataset

from tinykws.data.labels import MLPERF_LABELS, label_index
from tinykws.data.layouts import FOLDERS, RAW, detect_layout, load_index
from tinykws.data.splits import hash_percentage, list_key, speaker_of, split_by_hash
from tinykws.errors import DataError


def _design_rule(speaker: str) -> str:
    # The formula of docs/architecture.md, written out independently of tinykws.data.splits.
    p = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % (2**27)) * (100 / (2**27 - 1))
    return "validation" if p < 10 else "test" if p < 20 else "train"


def test_label_order_is_the_reference_models():
    assert MLPERF_LABELS == (
        "down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"
    )
    assert label_index("_silence_") == 10 and label_index("_unknown_") == 11
    assert label_index("bed") == 11 and label_index("yes") == 9


def test_speaker_is_the_name_before_nohash():
    assert speaker_of("yes/0a7c2a8d_nohash_3.wav") == "0a7c2a8d"
    assert speaker_of("bed_0a7c2a8d_nohash_0.flac") == "bed_0a7c2a8d"
    assert speaker_of("1024.flac") == "1024"


def test_hash_rule_matches_design_formula_on_many_speakers():
    speakers = [f"{i * 2654435761 % 2**32:08x}" for i in range(3000)]
    got = [split_by_hash(s) for s in speakers]
    assert got == [_design_rule(s) for s in speakers]
    # All three splits occur, roughly 10/10/80.
    share = {s: got.count(s) / len(got) for s in ("train", "validation", "test")}
    assert 0.07 < share["validation"] < 0.13 and 0.07 < share["test"] < 0.13
    assert 0.0 <= min(hash_percentage(s) for s in speakers) and max(hash_percentage(s) for s in speakers) <= 100.0


def test_list_key_ignores_extension_and_dot_slash():
    assert list_key("./yes/abc_nohash_0.wav\n") == list_key("yes/abc_nohash_0.flac") == "yes/abc_nohash_0"


def test_raw_layout_with_lists(tiny_raw_dataset):
    spec = tiny_raw_dataset
    index = load_index(spec.root)
    assert index.layout == RAW and index.split_source == "lists"
    assert len(index.clips) == len(spec.files)
    assert len(index.noise_files) == len(spec.noise_files)
    by_rel = {c.relpath: c for c in index.clips}
    for rel, folder in spec.files.items():
        clip = by_rel[rel]
        assert clip.word == folder and clip.folder == folder
        assert clip.speaker == spec.speakers[rel]
        assert clip.split == spec.split_of[rel]


@pytest.mark.parametrize("fmt", ["wav", "flac", "mixed"])
def test_raw_layout_without_lists_uses_hash_rule(tmp_path, fmt):
    spec = make_raw_dataset(tmp_path / "sc", words=("up", "dog"), speakers_per_word=12, clips_per_speaker=1,
                            fmt=fmt, with_lists=False, noise=("white",), noise_seconds=2)
    index = load_index(spec.root)
    assert index.layout == RAW and index.split_source == "hash"
    assert len(index.clips) == 24
    for clip in index.clips:
        assert clip.split == _design_rule(clip.speaker)
    # A speaker's clips never straddle two splits.
    splits_per_speaker: dict[str, set[str]] = {}
    for clip in index.clips:
        splits_per_speaker.setdefault(clip.speaker, set()).add(clip.split)
    assert all(len(s) == 1 for s in splits_per_speaker.values())


def test_lists_take_precedence_over_hash(tmp_path):
    spec = make_raw_dataset(tmp_path / "sc", words=("go",), speakers_per_word=8, clips_per_speaker=1,
                            with_lists=False, noise=())
    rels = sorted(spec.files)
    # Put every clip in the test list, whatever its hash says.
    (spec.root / "testing_list.txt").write_text("\n".join(r.replace(".wav", ".flac") for r in rels) + "\n")
    index = load_index(spec.root)
    assert index.layout == RAW  # list files alone identify the raw layout
    assert {c.split for c in index.clips} == {"test"}


def test_folder_layout(tiny_folder_dataset):
    spec = tiny_folder_dataset
    index = load_index(spec.root)
    assert index.layout == FOLDERS and index.split_source == "single:test"
    assert {c.split for c in index.clips} == {"test"}
    assert index.counts() == {f: spec.count(f) for f in sorted(set(spec.files.values()))}
    by_rel = {c.relpath: c for c in index.clips}
    unknown = [c for rel, c in by_rel.items() if rel.startswith("_unknown_/")]
    assert {c.word for c in unknown} == {"bed", "cat", "dog"}
    for c in unknown:
        assert c.speaker == spec.speakers[c.relpath]
    assert all(c.speaker is None and c.word == "" for c in index.clips if c.folder == "_silence_")


def test_folder_layout_split_options(tiny_folder_dataset, tmp_path):
    index = load_index(tiny_folder_dataset.root, folder_split="train")
    assert {c.split for c in index.clips} == {"train"}
    hashed = load_index(tiny_folder_dataset.root, folder_split="hash")
    assert all(c.split == _design_rule(c.speaker) for c in hashed.clips if c.speaker)
    spec = make_folder_dataset(tmp_path / "f", classes=("yes", "no"), with_lists=True, silence_clips=1)
    index = load_index(spec.root)
    assert index.split_source == "lists"
    assert {c.relpath: c.split for c in index.clips} == spec.split_of


def test_detect_layout_and_forced_layout(tiny_raw_dataset, tiny_folder_dataset):
    assert detect_layout(tiny_raw_dataset.root) == RAW
    assert detect_layout(tiny_folder_dataset.root) == FOLDERS
    forced = load_index(tiny_raw_dataset.root, layout="folders", folder_split="train")
    # Forced to class folders, the list files still decide the split.
    assert forced.layout == FOLDERS and forced.split_source == "lists"
    assert {c.relpath: c.split for c in forced.clips} == tiny_raw_dataset.split_of


def test_bad_folders_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_index(tmp_path / "missing")
    (tmp_path / "afile.txt").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        load_index(tmp_path / "afile.txt")
    empty = tmp_path / "empty"
    (empty / "docs").mkdir(parents=True)
    (empty / "docs" / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match="neither a raw Speech Commands folder") as err:
        load_index(empty)
    assert str(empty) in str(err.value)
    with pytest.raises(DataError, match="layout"):
        load_index(empty, layout="zip")
