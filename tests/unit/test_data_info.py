"""`data.info` on generated data, and the exact counts of the two real datasets."""

from __future__ import annotations

import shutil

import pytest
import soundfile as sf
from datagen import write_corrupt

from tinykws.data.info import dataset_info, format_info
from tinykws.data.layouts import load_index
from tinykws.data.splits import split_by_hash
from tinykws.data.view import MLPerfView
from tinykws.errors import DataError

# /work/shared/data/README.md, typed in by hand.
SC12_COUNTS = {"down": 250, "go": 245, "left": 246, "no": 242, "off": 247, "on": 233, "right": 234,
               "stop": 258, "up": 262, "yes": 241, "_silence_": 189, "_unknown_": 238}
PARTIAL_COUNTS = {"left": 1200, "right": 1200, "down": 1032, "yes": 901, "no": 879, "stop": 897, "up": 897,
                  "go": 15, "on": 12, "off": 11, "bed": 253, "bird": 248, "cat": 253, "dog": 250}
PARTIAL_SMALL_WORDS = ("eight", "five", "four", "happy", "house", "marvin", "nine", "one", "seven", "sheila",
                       "six", "three", "tree", "two", "wow", "zero")


def test_info_counts_on_generated_raw(tiny_raw_dataset):
    spec = tiny_raw_dataset
    info = dataset_info(spec.root)
    assert info.layout == "raw" and info.split_source == "lists"
    assert info.clips == len(spec.files)
    assert info.clips_per_class == {w: spec.count(w) for w in sorted(set(spec.files.values()))}
    for split in ("train", "validation", "test"):
        assert info.clips_per_split[split] == sum(1 for s in spec.split_of.values() if s == split)
    assert info.speakers == len(set(spec.speakers.values()))
    assert info.speakers_per_word == {w: 4 for w in set(spec.files.values())}
    seconds = sum(sf.info(str(spec.path(r))).duration for r in spec.files)
    assert info.total_duration_s == pytest.approx(seconds, abs=1e-3)
    assert info.noise_files == 2 and info.noise_duration_s == pytest.approx(24.0)
    assert info.unreadable == ()
    text = format_info(info)
    assert "raw" in text and "yes" in text


def test_unreadable_files_are_listed_not_fatal(tiny_raw_dataset, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_raw_dataset.root, root)
    write_corrupt(root / "yes" / "deadbeef_nohash_0.wav")
    (root / "no" / "deadbeef_nohash_1.flac").write_bytes(b"")
    (root / "no" / "notes.txt").write_text("not audio")
    info = dataset_info(root)
    assert info.clips == len(tiny_raw_dataset.files) + 2
    bad = {u.path.rsplit("/", 2)[-2] + "/" + u.path.rsplit("/", 1)[-1]: u.problem for u in info.unreadable}
    assert set(bad) == {"yes/deadbeef_nohash_0.wav", "no/deadbeef_nohash_1.flac"}
    assert "empty" in bad["no/deadbeef_nohash_1.flac"]
    assert [p.rsplit("/", 1)[-1] for p in info.skipped] == ["notes.txt"]
    assert "unreadable files: 2 (from headers" in format_info(info)
    assert info.to_dict()["unreadable"][0]["problem"]


def test_info_on_a_folder_that_is_no_dataset(tmp_path):
    with pytest.raises(DataError, match="not found"):
        dataset_info(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="neither"):
        dataset_info(tmp_path)


@pytest.mark.shared
def test_sc12_test_dev_counts(sc12_test_dev):
    info = dataset_info(sc12_test_dev)
    assert info.layout == "folders" and info.clips == 2885 == sum(SC12_COUNTS.values())
    assert info.clips_per_class == dict(sorted(SC12_COUNTS.items()))
    assert info.clips_per_split == {"train": 0, "validation": 0, "test": 2885}
    assert info.unreadable == () and info.formats == {"16000 Hz, 1 ch, PCM_16": 2885}
    view = MLPerfView(sc12_test_dev, "test")
    counts = view.class_counts()
    assert counts["silence"] == 189 and counts["unknown"] == 238 and counts["stop"] == 258


@pytest.mark.shared
def test_speech_commands_partial_counts(speech_commands_partial):
    info = dataset_info(speech_commands_partial)
    assert info.layout == "raw" and info.split_source == "lists"
    for word, n in PARTIAL_COUNTS.items():
        assert info.clips_per_class[word] == n, word
    assert set(info.clips_per_class) == set(PARTIAL_COUNTS) | set(PARTIAL_SMALL_WORDS)
    assert all(8 <= info.clips_per_class[w] <= 13 for w in PARTIAL_SMALL_WORDS)
    # The README's headline says 8,214 clips; its own per-word table sums to 8,219 (what is on disk).
    assert info.clips == 8219
    assert info.noise_files == 6 and info.unreadable == ()
    assert info.clips_per_split["test"] == 0
    assert info.clips_per_split["validation"] == len(
        (speech_commands_partial / "validation_list.txt").read_text().split())


@pytest.mark.shared
def test_partial_validation_list_is_the_hash_rule(speech_commands_partial):
    index = load_index(speech_commands_partial)
    assert all(c.split == split_by_hash(c.speaker) for c in index.clips)
    assert sum(c.split == "validation" for c in index.clips) == 1014
