"""The bad-input catalogue, outputs: every verb that cannot write says so in one line
naming the path (exit 2), and outputs made of several files are whole or absent: a
failed or killed run leaves the previous set as it was, and the next run cleans up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import FUZZ_CORPUS, tree

from tinykws.audio.frontends import build_frontend
from tinykws.cli.main import main
from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import OutputError
from tinykws.fileio import atomic_path, recover_folder, staged_outputs
from tinykws.models import build_model
from tinykws.train.checkpoint import Checkpoint, save_checkpoint

MODEL = FUZZ_CORPUS / "tflite" / "tiny_conv.tflite"
UNWRITABLE = "/sys/tinykws-test"  # refused even to root (sysfs): "not writable" for any user


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("tiny_conv", num_classes=12, input_shape=(49, 10), filters=2)
    kwargs = {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}
    ckpt = Checkpoint("tiny_conv", kwargs, 12, model.state_dict(), build_frontend("mlperf_mfcc").to_dict(),
                      list(MLPERF_LABELS))
    return save_checkpoint(ckpt, tmp_path_factory.mktemp("ckpt") / "best.pt")


def _clips(dataset) -> list:
    return sorted(p for p in dataset.root.rglob("*") if p.suffix in (".wav", ".flac"))


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("not a folder")
    return path


# --- every verb: one line naming the path --------------------------------------------------
def test_features_output_errors(tiny_folder_dataset, tmp_path, a_file, refused):
    clip = _clips(tiny_folder_dataset)[0]
    (tmp_path / "taken.npy").mkdir()
    refused(["features", clip, "--out", tmp_path / "taken.npy"], tmp_path / "taken.npy", "is a directory")
    refused(["features", clip, "--out", a_file / "f.npy"], a_file, "is a file, not a folder")
    refused(["features", clip, "--out", f"{UNWRITABLE}/f.npy"], UNWRITABLE, "cannot write")


def test_evaluate_output_errors(tiny_folder_dataset, tmp_path, a_file, refused):
    data = tiny_folder_dataset.root
    refused(["evaluate", MODEL, "--data", data, "--no-progress", "--out", a_file], a_file, "is a file, not a folder")
    (tmp_path / "o.npy").mkdir()
    refused(["evaluate", MODEL, "--data", data, "--no-progress", "--outputs", tmp_path / "o.npy"],
            tmp_path / "o.npy", "is a directory")
    refused(["evaluate", MODEL, "--data", data, "--no-progress", "--out", f"{UNWRITABLE}/e"], UNWRITABLE)


def test_quantize_train_synth_download_output_errors(checkpoint, tiny_raw_dataset, tmp_path, a_file, refused):
    refused(["quantize", checkpoint, "--data", tiny_raw_dataset.root, "--out", a_file / "int8", "--calib", "4",
             "--no-progress"], a_file, "is a file, not a folder")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: {{sources: [{{path: {tiny_raw_dataset.root}}}]}}\n"
                      "model: {name: tiny_conv, kwargs: {filters: 2}}\nfrontend: {name: mlperf_mfcc}\n"
                      "train: {epochs: 1}\n")
    refused(["train", recipe, "--out", a_file / "run", "--no-progress"], a_file, "is a file, not a folder")
    refused(["data", "synth", "--words", "yes", "--per-word", "1", "--engines", "espeak", "--out", a_file / "c",
             "--no-progress"], a_file, "is a file, not a folder")
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"")
    refused(["data", "download", "speech-commands", "--out", a_file / "sc", "--url", archive.as_uri(),
             "--sha256", "0" * 64], a_file, "is a file, not a folder")
    assert a_file.read_text() == "not a folder"


# --- whole or absent ---------------------------------------------------------------------
def test_features_writes_both_files_or_neither(tiny_folder_dataset, tmp_path):
    clips = _clips(tiny_folder_dataset)
    out = tmp_path / "f.npy"
    assert main(["features", str(clips[0]), str(clips[1]), "--out", str(out), "--no-progress"]) == 0
    assert main(["features", str(clips[2]), "--out", str(out), "--no-progress"]) == 0
    assert np.load(out).shape[0] == len(json.loads(out.with_suffix(".json").read_text())["files"]) == 1
    assert sorted(tree(tmp_path)) == ["f.json", "f.npy"]


def test_a_failed_set_leaves_the_previous_set_whole(tmp_path):
    with staged_outputs(tmp_path, owned=("a", "b")) as stage:
        (stage / "a").write_text("old a")
        (stage / "b").write_text("old b")
    with pytest.raises(RuntimeError, match="disk full"):
        with staged_outputs(tmp_path, owned=("a", "b")) as stage:
            (stage / "a").write_text("new a")
            raise RuntimeError("disk full")
    assert tree(tmp_path) == {"a": b"old a", "b": b"old b"}
    with staged_outputs(tmp_path, owned=("a", "b")) as stage:  # a run without b removes the stale b
        (stage / "a").write_text("new a")
    assert tree(tmp_path) == {"a": b"new a"}


def test_a_commit_killed_half_way_is_finished_by_the_next_writer(tmp_path):
    pid = _dead_pid()
    (tmp_path / "f.npy").write_text("old npy")
    (tmp_path / "f.json").write_text("old json")
    stage = tmp_path / f".tinykws-stage-{pid}"
    stage.mkdir()
    (stage / "f.json").write_text("new json")  # f.npy was already renamed into place when the kill came
    (tmp_path / "f.npy").write_text("new npy")
    (tmp_path / f".tinykws-commit-{pid}.json").write_text(
        json.dumps({"stage": stage.name, "move": ["f.json", "f.npy"], "remove": []}))
    (tmp_path / f".f.tmp-{pid}.npy").write_text("half a file")  # an atomic_path temp of the same run
    recover_folder(tmp_path)
    assert tree(tmp_path) == {"f.json": b"new json", "f.npy": b"new npy"}


def test_leftovers_of_a_dead_run_go_with_the_next_write(tmp_path):
    pid = _dead_pid()
    (tmp_path / f".OUT.tmp-{pid}.npy").write_text("half")
    (tmp_path / f".OUT.tmp-{os.getpid()}.npy").write_text("ours, in use")
    with atomic_path(tmp_path / "other.txt") as tmp:
        tmp.write_text("x")
    assert sorted(tree(tmp_path)) == [f".OUT.tmp-{os.getpid()}.npy", "other.txt"]


def test_quantize_that_fails_late_leaves_the_previous_output_whole(checkpoint, tiny_raw_dataset, tmp_path,
                                                                   monkeypatch, capsys):
    out = tmp_path / "int8"
    args = ["quantize", str(checkpoint), "--data", str(tiny_raw_dataset.root), "--out", str(out), "--calib", "4",
            "--no-verify", "--no-arena", "--no-progress"]
    assert main(args) == 0
    before = tree(out)
    import tinykws.export.quantize_job as job

    def full_disk(path, obj):
        raise OutputError(path, "No space left on device")

    monkeypatch.setattr(job, "write_json", full_disk)  # the last write of the set fails
    assert main(args + ["--act-bits", "6"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["int8"]


def test_evaluate_out_is_replaced_as_a_set(tiny_folder_dataset, tmp_path, capsys):
    out = tmp_path / "e"
    out.mkdir()
    (out / "roc.png").write_bytes(b"stale plot of another model")
    assert main(["evaluate", str(MODEL), "--data", str(tiny_folder_dataset.root), "--no-progress",
                 "--out", str(out)]) == 0
    assert sorted(tree(out)) == ["confusion.png", "eval.json", "roc.png"]
    assert (out / "roc.png").read_bytes() != b"stale plot of another model"


def test_errors_with_a_path_survive_worker_processes():
    import pickle

    from tinykws.errors import AudioError

    for error in (OutputError("/x/a.wav", "No space left on device"), AudioError("a.wav", "truncated")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.path == error.path


def test_synth_refuses_to_mix_two_corpora_in_one_folder(tmp_path, refused, capsys):
    out = tmp_path / "corpus"
    args = ["data", "synth", "--words", "yes", "--per-word", "1", "--unknown-clips", "0", "--engines", "espeak",
            "--workers", "1", "--noise-seconds", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    before = tree(out)
    refused(args[:-3] + ["--seed", "7", "--out", str(out), "--no-progress"], out, "other options")
    assert tree(out) == before
