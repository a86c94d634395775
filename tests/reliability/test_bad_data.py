"""The bad-input catalogue, data: audio headers that lie, several unreadable clips at once,
a closed output pipe, decompression bombs and archives that would merge through a link."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import FUZZ_CORPUS, tree

from tinykws.cli.main import main
from tinykws.data.download import sha256_of

MODEL = FUZZ_CORPUS / "tflite" / "tiny_conv.tflite"  # 12 MLPerf labels, mlperf_mfcc, embedded contract


def lying_flac(path: Path) -> Path:
    """A 1 s FLAC whose STREAMINFO claims 2^36 - 1 samples (the low 36 bits of bytes 18..25)."""
    sf.write(path, (0.3 * np.sin(np.arange(16000) / 10)).astype(np.float32), 16000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[21] |= 0x0F
    data[22:26] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


def truncated_wav(path: Path) -> Path:
    """A WAV whose header is whole but whose samples stop half-way (the header reads fine)."""
    sf.write(path, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:16000])
    return path


@pytest.fixture
def two_bad_clips(tiny_folder_dataset, tmp_path):
    """A copy of the 12-class folder dataset with one lying FLAC and one truncated WAV."""
    root = tmp_path / "sc12"
    shutil.copytree(tiny_folder_dataset.root, root)
    yes = sorted((root / "yes").iterdir())[0]
    yes.unlink()
    flac = lying_flac(root / "yes" / "lying.flac")
    wav = truncated_wav(root / "no" / "truncated.wav")
    return root, flac, wav


def test_a_lying_header_is_refused_by_features_without_touching_memory(tmp_path, refused):
    flac = lying_flac(tmp_path / "lie.flac")
    refused(["features", flac, "--out", tmp_path / "f.npy", "--no-progress"], flac,
            "header claims 68,719,476,735 samples")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lie.flac"]


def test_features_names_every_unreadable_file_at_once(two_bad_clips, tmp_path, refused):
    root, flac, wav = two_bad_clips
    refused(["features", root, "--out", tmp_path / "f.npy", "--no-progress"], "2 unreadable audio file(s)", flac, wav)
    assert not (tmp_path / "f.npy").exists()


def test_data_info_lists_every_unreadable_clip(two_bad_clips, capsys):
    root, flac, wav = two_bad_clips
    assert main(["data", "info", str(root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [u["path"] for u in info["unreadable"]] == [str(flac)]  # headers only: the truncation is not seen
    assert info["total_duration_s"] < 60
    assert main(["data", "info", str(root), "--check"]) == 0
    printed = capsys.readouterr().out
    assert "unreadable files: 2 (decoded)" in printed and str(flac) in printed and str(wav) in printed


def test_evaluate_names_every_unreadable_clip_then_skips_them_on_request(two_bad_clips, tmp_path, refused, capsys):
    root, flac, wav = two_bad_clips
    out = tmp_path / "eval"
    line = refused(["evaluate", MODEL, "--data", root, "--no-progress", "--out", out], "2 unreadable audio file(s)",
                   flac, wav, "--skip-unreadable")
    assert "header claims" in line and "truncated" in line and not out.exists()
    assert main(["evaluate", str(MODEL), "--data", str(root), "--no-progress", "--skip-unreadable", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["skipped_unreadable"]) == sorted([str(flac), str(wav)])
    assert summary["num_clips"] == sum(1 for p in root.rglob("*.wav")) + sum(1 for p in root.rglob("*.flac")) - 2


def test_train_names_every_unreadable_clip_before_the_first_step(two_bad_clips, tmp_path, refused, capsys):
    root, flac, wav = two_bad_clips
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: {{sources: [{{path: {root}, layout: folders}}], validation: []}}\n"
                      "model: {name: tiny_conv, kwargs: {filters: 2}}\nfrontend: {name: mlperf_mfcc}\n"
                      "train: {epochs: 1, batch_size: 8}\n")
    run = tmp_path / "run"
    refused(["train", recipe, "--out", run, "--no-progress"], flac, wav)
    assert not run.exists()
    assert main(["train", str(recipe), "--out", str(run), "--no-progress", "--skip-unreadable"]) == 0
    assert "skipped 2 unreadable clip(s)" in capsys.readouterr().err
    assert (run / "best.pt").is_file()


def test_a_closed_output_pipe_ends_quietly(tiny_folder_dataset):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-m", "tinykws", "data", "info", str(tiny_folder_dataset.root)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    child.stdout.close()  # the reader is gone before the first line: like `| head -0`
    err = child.stderr.read().decode()
    assert child.wait() == 141 and err == ""


# --- archives --------------------------------------------------------------------------
def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _download(archive: Path, out: Path) -> list[str]:
    return ["data", "download", "speech-commands", "--out", out, "--url", archive.as_uri(),
            "--sha256", sha256_of(archive), "--no-progress"]


def test_a_decompression_bomb_is_refused_while_extracting(tmp_path, refused):
    bomb = _archive(tmp_path / "bomb.tar.gz", {"yes/a.wav": b"x", "no/zeros.wav": bytes(2 << 20)})
    assert bomb.stat().st_size < 10_000  # 2 MiB of zeros in a few KB: ratio over 200
    out = tmp_path / "out"
    refused(_download(bomb, out), "bomb.tar.gz", "'no/zeros.wav'", "decompression bomb")
    assert tree(out) == {}


def test_extraction_through_a_symlinked_class_folder_merges_nothing(tmp_path, refused):
    archive = _archive(tmp_path / "sc.tar.gz", {"no/b.wav": b"b", "yes/a.wav": b"a"})
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "yes").symlink_to(elsewhere, target_is_directory=True)
    refused(_download(archive, out), out / "yes", "symbolic link")
    assert sorted(p.name for p in out.iterdir()) == ["yes"] and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("module", ["tinykws.eval.runner", "torch"])
def test_ctrl_c_while_modules_load_ends_quietly(module):
    # A real SIGINT at a fixed point: when the command line first imports `module` (a verb's
    # dependency while the parser is built; torch for --threads).
    # The child starts with Python's own SIGINT handler: a suite started as a background job
    # of a non-interactive shell runs with SIGINT ignored, and children inherit that.
    code = (
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "def hook(event, args):\n"
        f"    if event == 'import' and args[0] == {module!r}:\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "sys.addaudithook(hook)\n"
        "from tinykws.cli.main import main\n"
        "sys.exit(main(['--threads', '1', 'data', 'info', '.']))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
    assert child.returncode == 130 and child.stderr.decode() == "tinykws: interrupted\n"


def test_quantize_names_every_unreadable_clip_then_skips_them_on_request(two_bad_clips, tone_model, tiny_raw_dataset,
                                                                        tmp_path, refused, capsys):
    root, flac, wav = two_bad_clips  # the test data; calibration comes from a clean raw dataset
    out = tmp_path / "q"
    argv = ["quantize", tone_model.checkpoint, "--data", tiny_raw_dataset.root, "--test-data", root,
            "--out", out, "--no-progress", "--no-arena"]
    line = refused(argv, "2 unreadable audio file(s)", flac, wav, "--skip-unreadable")
    assert not out.exists()
    assert main([str(a) for a in argv] + ["--skip-unreadable", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["skipped_unreadable"]) == sorted([str(flac), str(wav)]) and "header claims" in line
    assert summary["test_clips"] == sum(1 for p in root.rglob("*") if p.suffix in (".wav", ".flac")) - 2
    assert (out / "model.tflite").is_file()
