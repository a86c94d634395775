"""bench/offline_ablation.py re-scores a finished run instead of retraining it, so it must
tell a run of the row as it now is from a run of another configuration."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tinykws.train.recipe import load_recipe, save_config

BENCH = Path(__file__).resolve().parents[2] / "bench" / "offline_ablation.py"

RECIPE = """
name: tiny
data:
  sources:
    - path: {data}
      layout: raw
model:
  name: ds_cnn
frontend:
  name: mlperf_mfcc
train:
  epochs: 8
  threads: 1
"""


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("offline_ablation_under_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _recipe(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(RECIPE.format(data=data))
    return path


def test_same_config_threads_and_progress_aside(ablation, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    recipe = _recipe(tmp_path, corpus)
    run = tmp_path / "run"
    assert ablation.config_differences(run, load_recipe(recipe)) == []  # nothing saved yet
    run.mkdir()
    save_config(load_recipe(recipe, ["train.threads=2", "train.progress=false"]), run / "config.yaml")
    assert ablation.config_differences(run, load_recipe(recipe)) == []
    assert ablation.config_differences(run, load_recipe(recipe, ["train.epochs=9"])) == ["train.epochs"]
    assert ablation.config_differences(run, load_recipe(recipe, ["data.sources.0.weight=2.0"])) == [
        "data.sources.0.weight"]


def test_a_setting_added_later_takes_its_default(ablation, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    recipe = _recipe(tmp_path, corpus)
    run = tmp_path / "run"
    run.mkdir()
    save_config(load_recipe(recipe), run / "config.yaml")
    text = (run / "config.yaml").read_text()
    assert "  ema_decay: 0.0\n" in text
    (run / "config.yaml").write_text(text.replace("  ema_decay: 0.0\n", ""))  # a config from before the key
    assert ablation.config_differences(run, load_recipe(recipe)) == []
    assert ablation.config_differences(run, load_recipe(recipe, ["train.ema_decay=0.999"])) == ["train.ema_decay"]


def test_a_cache_link_to_another_corpus_is_a_difference(ablation, tmp_path):
    old, new = tmp_path / "corpus_old", tmp_path / "corpus_new"
    old.mkdir()
    new.mkdir()
    link = tmp_path / "cache"
    link.symlink_to(old)
    recipe = _recipe(tmp_path, Path("cache"))  # relative to the recipe, as the bench's recipes have it
    run = tmp_path / "run"
    run.mkdir()
    save_config(load_recipe(recipe), run / "config.yaml")
    link.unlink()
    link.symlink_to(new)
    assert ablation.config_differences(run, load_recipe(recipe)) == ["data.sources.0.path"]


def test_an_unreadable_saved_config_is_named(ablation, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    cfg = load_recipe(_recipe(tmp_path, corpus))
    for text in (b"train: {epochs: many}\n", b"\xff\xfe not text", b"- a list\n"):
        (run / "config.yaml").write_bytes(text)
        changed = ablation.config_differences(run, cfg)
        assert len(changed) == 1 and "cannot read" in changed[0], text
