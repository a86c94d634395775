"""The same recipe, seed, threads and packages give the same checkpoint, byte for byte, and
the run folder records what the numbers depend on."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinykws.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def _recipe(tmp_path: Path, data: Path) -> Path:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        f"data:\n  sources: [{{path: {data}, layout: raw}}]\n  epoch_size: 48\n"
        "model: {name: ds_cnn, kwargs: {layers: [[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]]}}\n"
        "frontend: {name: mlperf_mfcc}\n"
        "train: {epochs: 2, batch_size: 16, seed: 3, threads: 1}\n")
    return recipe


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_recipe_trained_twice_gives_identical_checkpoints(tiny_raw_dataset, tmp_path):
    recipe = _recipe(tmp_path, tiny_raw_dataset.root)
    assert main(["train", str(recipe), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    # The second run in a fresh process with another hash seed (set and dict order) and
    # the numeric settings it would get on any machine.
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO / "src"))
    done = subprocess.run([sys.executable, "-m", "tinykws", "train", str(recipe), "--out", str(tmp_path / "b"),
                           "--no-progress"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("best.pt", "last.pt"):
        assert _digest(tmp_path / "a" / name) == _digest(tmp_path / "b" / name), name
    # Wall-clock time lives in metrics.jsonl only.
    assert "train_seconds" in (tmp_path / "a" / "metrics.jsonl").read_text()
    env_doc = json.loads((tmp_path / "a" / "environment.json").read_text())
    session = env_doc["sessions"][0]
    assert session["environment"]["numeric_isa"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert session["environment"]["torch_cpu_capability"] == "AVX2"
    assert session["environment"]["packages"]["torch"].startswith("2.13")
    data = session["data"][0]
    assert data["kind"] == "folder" and data["files"] > 0 and len(data["listing_sha256"]) == 64
    # Another seed is another run: the comparison above can fail.
    assert main(["train", str(recipe), "--out", str(tmp_path / "c"), "--no-progress",
                 "--set", "train.seed=4"]) == 0
    assert _digest(tmp_path / "a" / "last.pt") != _digest(tmp_path / "c" / "last.pt")


def test_a_resumed_run_appends_to_its_provenance(tiny_raw_dataset, tmp_path):
    from tinykws.train.data import build_train_data
    from tinykws.train.loop import train
    from tinykws.train.recipe import load_recipe
    from tinykws.train.setup import resolve_frontend

    cfg = load_recipe(_recipe(tmp_path, tiny_raw_dataset.root), ["train.progress=false"])
    data = build_train_data(cfg.data, resolve_frontend(cfg), seed=cfg.train.seed, progress=False)
    train(cfg, data, tmp_path / "r", stop_after_epochs=1)
    result = train(cfg, data, tmp_path / "r", resume=True)
    sessions = json.loads((tmp_path / "r" / "environment.json").read_text())["sessions"]
    assert [s["started_at_epoch"] for s in sessions] == [0, 1]
    # The resumed history keeps the first epoch's wall-clock figures from metrics.jsonl.
    assert all("train_seconds" in h for h in result.history)
