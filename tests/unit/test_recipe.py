"""Recipes: strict keys, types, overrides, clear errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykws.errors import ConfigError
from tinykws.train.config import RunConfig
from tinykws.train.recipe import config_to_yaml, load_recipe, save_config

REPO = Path(__file__).resolve().parents[2]

GOOD = """
name: tiny
data:
  sources:
    - path: data/a
      weight: 2
    - path: /abs/b
      layout: folders
model:
  name: ds_cnn
  kwargs: {batch_norm: true}
optim: {name: adamw, lr: 0.001, weight_decay: 0.01}
schedule: {name: cosine, warmup_epochs: 1}
train: {epochs: 3, batch_size: 16, class_weights: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5]}
"""


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_recipe_and_relative_paths(tmp_path):
    cfg = load_recipe(_write(tmp_path, GOOD))
    assert isinstance(cfg, RunConfig)
    assert cfg.name == "tiny" and cfg.optim.name == "adamw" and cfg.optim.weight_decay == 0.01
    assert cfg.data.sources[0].path == str((tmp_path / "data" / "a").resolve())
    assert cfg.data.sources[0].weight == 2.0 and isinstance(cfg.data.sources[0].weight, float)
    assert cfg.data.sources[1].path == "/abs/b" and cfg.data.sources[1].layout == "folders"
    assert cfg.schedule.warmup_epochs == 1.0
    assert cfg.model.kwargs == {"batch_norm": True}
    assert len(cfg.train.class_weights) == 12


def test_a_teacher_or_an_ensemble_of_teachers_is_relative_to_the_recipe(tmp_path):
    one = load_recipe(_write(tmp_path, "distill: {teacher: t/a.pt}\n"))
    assert one.distill.teachers == (str((tmp_path / "t" / "a.pt").resolve()),)
    many = load_recipe(_write(tmp_path, "distill: {teacher: [t/a.pt, /abs/b.pt]}\n"))
    assert many.distill.teachers == (str((tmp_path / "t" / "a.pt").resolve()), "/abs/b.pt")
    out = tmp_path / "run" / "config.yaml"
    save_config(many, out)
    assert load_recipe(out) == many
    assert load_recipe(_write(tmp_path, "distill: {teacher: ''}\n")).distill.teachers == ()
    by_override = load_recipe(_write(tmp_path, "name: r\n"), ["distill.teacher=[t/a.pt, /abs/b.pt]"])
    assert by_override.distill.teachers == many.distill.teachers
    with pytest.raises(ConfigError, match=r"distill.teacher\[1\]: expected a string, got 1"):
        load_recipe(_write(tmp_path, "distill: {teacher: [t/a.pt, 1]}\n"))
    with pytest.raises(ConfigError, match="none empty"):
        load_recipe(_write(tmp_path, "distill: {teacher: []}\n"))


def test_name_defaults_to_file_stem(tmp_path):
    cfg = load_recipe(_write(tmp_path, "train: {epochs: 2}\n", name="my_run.yaml"))
    assert cfg.name == "my_run" and cfg.train.epochs == 2


def test_overrides(tmp_path):
    cfg = load_recipe(_write(tmp_path, GOOD), ["train.epochs=7", "optim.lr=3e-4", "model.kwargs.batch_norm=false"])
    assert cfg.train.epochs == 7 and cfg.optim.lr == 3e-4 and cfg.model.kwargs == {"batch_norm": False}
    with pytest.raises(ConfigError, match=r"r.yaml: unknown key\(s\) train.epoch\b"):
        load_recipe(_write(tmp_path, GOOD), ["train.epoch=7"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_recipe(_write(tmp_path, GOOD), ["train.epochs"])


def test_overrides_index_lists(tmp_path):
    recipe = _write(tmp_path, "data:\n  sources:\n    - {path: a, weight: 1.0}\n    - {path: b, weight: 2.0}\n")
    cfg = load_recipe(recipe, ["data.sources.1.weight=0.5", "data.sources.-2.layout=raw"])
    assert [s.weight for s in cfg.data.sources] == [1.0, 0.5] and cfg.data.sources[0].layout == "raw"
    with pytest.raises(ConfigError, match="index 2 is outside a list of 2"):
        load_recipe(recipe, ["data.sources.2.weight=0.5"])
    with pytest.raises(ConfigError, match="'w' is not an index of a list of 2"):
        load_recipe(recipe, ["data.sources.w.weight=0.5"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(recipe, ["data.sources.0.wait=0.5"])


def test_quant_and_export_sections(tmp_path):
    from tinykws.quant.config import OBSERVERS
    from tinykws.train.config import OBSERVER_NAMES

    assert OBSERVER_NAMES == OBSERVERS  # layer 5 validates the names layer 6 defines
    recipe = _write(tmp_path, "quant: {calib_clips: 300, observer: mse, qat_epochs: 2, calib_data: cal}\n"
                              "export: {test_data: ../test, verify: false}\n")
    cfg = load_recipe(recipe)
    assert (cfg.quant.calib_clips, cfg.quant.observer, cfg.quant.qat_epochs) == (300, "mse", 2)
    assert cfg.quant.calib_data == str((tmp_path / "cal").resolve())  # relative to the recipe
    assert cfg.export.test_data == str((tmp_path.parent / "test").resolve()) and cfg.export.verify is False
    for bad, key in (("quant: {observer: histogram}", "quant.observer"), ("quant: {weight_bits: 9}", "weight_bits"),
                     ("quant: {qat_lr: .nan}", "qat_lr"), ("quant: {calib_clips: 0}", "calib_clips")):
        with pytest.raises(ConfigError, match=key):
            load_recipe(_write(tmp_path, bad + "\n"))


def test_resolved_config_round_trips(tmp_path):
    cfg = load_recipe(_write(tmp_path, GOOD))
    out = tmp_path / "run" / "config.yaml"
    save_config(cfg, out)
    assert load_recipe(out) == cfg
    assert "adamw" in config_to_yaml(cfg)


def test_shipped_recipes_parse():
    recipes = sorted((REPO / "recipes").glob("*.yaml"))
    assert any(p.name == "ds_cnn_sc12.yaml" for p in recipes)
    for path in recipes:
        cfg = load_recipe(path)
        assert cfg.name == path.stem


def test_malformed_yaml_names_the_file(tmp_path):
    p = _write(tmp_path, "train: {epochs: 3\nmodel: [", name="broken.yaml")
    with pytest.raises(ConfigError, match=r"broken.yaml: malformed YAML"):
        load_recipe(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping"):
        load_recipe(_write(tmp_path, "- 1\n- 2\n", name="list.yaml"))


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"typo.yaml: unknown key\(s\) train.epoch\b.*allowed: .*epochs"):
        load_recipe(_write(tmp_path, "train: {epoch: 3}\n", name="typo.yaml"))
    with pytest.raises(ConfigError, match=r"top.yaml: unknown key\(s\) trian"):
        load_recipe(_write(tmp_path, "trian: {}\n", name="top.yaml"))
    with pytest.raises(ConfigError, match=r"src.yaml: unknown key\(s\) data.sources\[0\].weigth"):
        load_recipe(_write(tmp_path, "data: {sources: [{path: a, weigth: 2}]}\n", name="src.yaml"))


def test_wrong_types_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"types.yaml: train.epochs: expected an integer, got 'ten'"):
        load_recipe(_write(tmp_path, "train: {epochs: ten}\n", name="types.yaml"))
    with pytest.raises(ConfigError, match=r"train.progress: expected true or false"):
        load_recipe(_write(tmp_path, "train: {progress: 3}\n"))
    with pytest.raises(ConfigError, match=r"optim.lr: expected a number"):
        load_recipe(_write(tmp_path, "optim: {lr: fast}\n"))
    with pytest.raises(ConfigError, match=r"data.sources: expected a list"):
        load_recipe(_write(tmp_path, "data: {sources: here}\n"))


def test_invalid_values(tmp_path):
    with pytest.raises(ConfigError, match=r"v.yaml: optim.name 'adagrad'"):
        load_recipe(_write(tmp_path, "optim: {name: adagrad}\n", name="v.yaml"))
    with pytest.raises(ConfigError, match=r"train.label_smoothing must be in \[0, 1\)"):
        load_recipe(_write(tmp_path, "train: {label_smoothing: 1.5}\n"))
    with pytest.raises(ConfigError, match=r"weight must be in \(0, 1e\+06\]"):
        load_recipe(_write(tmp_path, "data: {sources: [{path: a, weight: 0}]}\n"))
    with pytest.raises(ConfigError, match=r"distill.alpha must be in \[0, 1\]"):
        load_recipe(_write(tmp_path, "distill: {teacher: t.pt, alpha: 2}\n"))


def test_unknown_model_and_frontend_names(tmp_path):
    with pytest.raises(ConfigError, match=r"m.yaml: model.name 'ds_cnnn' is not a registered model; known: .*ds_cnn"):
        load_recipe(_write(tmp_path, "model: {name: ds_cnnn}\n", name="m.yaml"))
    with pytest.raises(ConfigError, match=r"f.yaml: frontend.name 'mfcc9' is not a front-end"):
        load_recipe(_write(tmp_path, "frontend: {name: mfcc9}\n", name="f.yaml"))
