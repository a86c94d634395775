"""`tinykws train` then `tinykws evaluate` on a generated dataset, end to end through the CLI."""

from __future__ import annotations

import json

import pytest
from datagen import MLPERF_WORDS, make_folder_dataset, make_raw_dataset

from tinykws.cli.main import main
from tinykws.errors import ConfigError
from tinykws.train.checkpoint import load_checkpoint
from tinykws.eval.evaluate import evaluate_folder

RECIPE = """
name: tiny_e2e
data:
  sources:
    - path: {data}
      layout: raw
  silence_percentage: 10
  unknown_percentage: 10
model:
  name: ds_cnn
  kwargs: {{dropout: 0.0, final_dropout: 0.0}}
frontend:
  name: mlperf_mfcc
optim:
  name: adam
  lr: 5e-3
schedule:
  name: constant
train:
  epochs: 8
  batch_size: 16
  seed: 1
  threads: 1  # 2 threads on a shared, busy 2-core machine are many times slower
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    spec = make_raw_dataset(root / "sc", words=MLPERF_WORDS + ("bed", "cat"), speakers_per_word=5,
                            clips_per_speaker=2, noise=("white", "pink"))
    recipe = root / "tiny.yaml"
    recipe.write_text(RECIPE.format(data=spec.root))
    run_dir = root / "run"
    code = main(["train", str(recipe), "--out", str(run_dir), "--no-progress", "--json"])
    assert code == 0
    return spec, run_dir


@pytest.mark.slow
def test_train_writes_a_complete_run_folder(trained, capsys):
    _, run_dir = trained
    for name in ("config.yaml", "metrics.jsonl", "best.pt", "last.pt", "curves.png",
                 "validation.json", "validation_confusion.png", "validation_roc.png"):
        assert (run_dir / name).is_file(), name
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 8
    assert json.loads(lines[-1])["train_loss"] < json.loads(lines[0])["train_loss"]
    ckpt = load_checkpoint(run_dir / "best.pt")
    assert ckpt.config["name"] == "tiny_e2e" and ckpt.frontend["kind"] == "mfcc"
    assert (run_dir / "validation_confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_evaluate_cli_on_the_test_split(trained, tmp_path, capsys):
    spec, run_dir = trained
    capsys.readouterr()
    code = main(["evaluate", str(run_dir / "best.pt"), "--data", str(spec.root), "--split", "test",
                 "--json", "--out", str(tmp_path / "ev"), "--no-progress"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    # speaker 1 of each word is the test split: 2 clips per keyword, plus unknown and silence
    keyword_clips = sum(1 for f, s in spec.split_of.items() if s == "test" and spec.files[f] in MLPERF_WORDS)
    assert keyword_clips == 20
    assert result["per_class"]["yes"]["clips"] == 2
    assert result["num_clips"] == sum(r["clips"] for r in result["per_class"].values()) > keyword_clips
    assert set(result["per_class_accuracy"]) == set(MLPERF_WORDS) | {"silence", "unknown"}
    assert result["top1"] > 0.5  # tones per word are easy; chance is 1/12
    assert (tmp_path / "ev" / "eval.json").is_file()
    for png in ("confusion.png", "roc.png"):
        assert (tmp_path / "ev" / png).read_bytes()[:4] == b"\x89PNG"
    # the human-readable table
    assert main(["evaluate", str(run_dir / "best.pt"), "--data", str(spec.root), "--no-progress"]) == 0
    assert "top-1" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_class_folder_dataset(trained, tmp_path):
    _, run_dir = trained
    folders = make_folder_dataset(tmp_path / "sc12", clips_per_class=2, unknown_clips=3, silence_clips=2)
    result = evaluate_folder(run_dir / "best.pt", folders.root, "torch", layout="folders", split="test").result
    assert result.num_clips == 10 * 2 + 3 + 2
    assert result.per_class_counts().tolist() == [2] * 10 + [2, 3]
    # a class-folder dataset without lists is wholly in whichever split is asked for
    assert evaluate_folder(run_dir / "best.pt", folders.root, "torch", split="all").result.num_clips == 25
    with pytest.raises(ConfigError, match="split 'dev'"):
        evaluate_folder(run_dir / "best.pt", folders.root, "torch", split="dev")


def test_cli_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    (tmp_path / "data").mkdir()
    assert main(["evaluate", str(bad), "--data", str(tmp_path / "data")]) == 2
    assert "bad.pt" in capsys.readouterr().err
    recipe = tmp_path / "broken.yaml"
    recipe.write_text("train: {epochs: many}\n")
    assert main(["train", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "train.epochs" in err


@pytest.mark.shared
def test_reference_float_model_as_checkpoint_on_real_clips(sc12_test_dev, ref_model_float, tmp_path):
    """The MLPerf float reference, stored as a tinykws checkpoint, evaluated on real clips
    (the first 10 of each class of sc12_test_dev): the whole evaluate path on real data."""
    from tinykws.audio.frontends import build_frontend
    from tinykws.data.labels import MLPERF_LABELS
    from tinykws.models.tflite_import import import_float_tflite
    from tinykws.train.checkpoint import Checkpoint, save_checkpoint
    from tinykws.train.setup import model_kwargs_of

    model = import_float_tflite(ref_model_float).model
    ckpt = Checkpoint("ds_cnn", model_kwargs_of(model), 12, model.state_dict(),
                      build_frontend("mlperf_mfcc").to_dict(), list(MLPERF_LABELS))
    path = save_checkpoint(ckpt, tmp_path / "ref.pt")
    subset = tmp_path / "subset"
    for folder in sorted(p for p in sc12_test_dev.iterdir() if p.is_dir()):
        (subset / folder.name).mkdir(parents=True)
        for clip in sorted(folder.iterdir())[:10]:
            (subset / folder.name / clip.name).symlink_to(clip)
    result = evaluate_folder(path, subset, "torch", layout="folders").result
    assert result.num_clips == 120
    # 91.0 % on the whole set; a front-end, model or label-order bug gives far less
    assert result.top1 >= 0.85
    assert result.macro_auc > 0.97


def test_build_train_data_cached_and_mixed(tmp_path):
    import numpy as np

    from tinykws.audio.frontends import build_frontend
    from tinykws.train.batches import FEATURES, WAVEFORM
    from tinykws.train.config import DataConfig, DataSourceConfig
    from tinykws.train.data import build_train_data

    raw = make_raw_dataset(tmp_path / "raw", words=("yes", "no", "bed"), speakers_per_word=4, clips_per_speaker=1)
    folders = make_folder_dataset(tmp_path / "folders", clips_per_class=2, unknown_clips=2, silence_clips=2)
    fe = build_frontend("mlperf_mfcc")
    sources = (DataSourceConfig(str(raw.root), "raw", 3.0), DataSourceConfig(str(folders.root), "folders", 1.0))
    cached = build_train_data(DataConfig(sources=sources, cache=True, cache_dir=str(tmp_path / "cache")),
                              fe, progress=False)
    assert cached.kind == FEATURES and list(cached.weights) == [3.0, 1.0]
    # raw: speakers 2 and 3 train (lists), 2 words x 2 clips + unknown + silence; folders: all train
    assert len(cached.sources[1]) == 10 * 2 + 2 + 2
    assert cached.sources[0].data.shape[1:] == (49, 10)
    # validation: speaker 0 of the raw folder (the folder dataset has no validation clips)
    assert cached.validation is not None and len(cached.validation) >= 2
    # cached features are the front-end's numbers for the clean clip
    view_source = build_train_data(DataConfig(sources=sources), fe, progress=False)
    assert view_source.kind == WAVEFORM
    clean = view_source.sources[1].get(0, None)
    np.testing.assert_allclose(cached.sources[1].get(0, None), fe.compute(clean), rtol=1e-5, atol=1e-4)
    # augmentation is a function of the generator only
    a = view_source.sources[0].get(1, np.random.default_rng(7))
    b = view_source.sources[0].get(1, np.random.default_rng(7))
    assert np.array_equal(a, b) and not np.array_equal(a, view_source.sources[0].get(1, None))
