"""The bad-input catalogue, recipes and arguments: YAML that would exhaust the machine,
ambiguous YAML, run names that escape the runs folder, model options and numbers that
cannot work. Each is refused when the recipe is read, naming it, before any work."""

from __future__ import annotations

import pytest

from tinykws.cli.main import main


def _recipe(tmp_path, text: str):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def _billion_laughs(levels: int = 9) -> str:
    """10 ** levels strings once every alias is expanded, in a few hundred bytes."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case, text, problem", [
    ("alias_bomb", _billion_laughs(), "aliases"),
    ("alias_bomb_within_alias_count", _billion_laughs(6)[: _billion_laughs(6).index("a5")], "expands to more than"),
    ("deep_nesting", "x: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels"),
    ("duplicate_key", "train: {epochs: 1}\ntrain: {epochs: 50}\n", "duplicate key 'train' (line 2)"),
    ("nul_byte", "name: a\0b\n", "malformed YAML"),
    ("name_dot_dot", "name: ..\n", "plain folder name"),
    ("name_with_slash", "name: ../../etc\n", "plain folder name"),
    ("dropout_7", "model: {name: ds_cnn, kwargs: {dropout: 7}}\n", "invalid options"),
    ("width_text", "model: {name: tiny_conv, kwargs: {filters: wide}}\n", "invalid options"),
    ("huge_model", "model: {name: tiny_conv, kwargs: {filters: 60000, kernel: [49, 10]}}\n", "parameters"),
    ("probability_over_1", "data: {augment: {background_frequency: 1.5}}\n", "background_frequency"),
    ("nan_lr", "optim: {lr: .nan}\n", "expected a finite number"),
    ("zero_batch", "train: {batch_size: 0}\n", "train.batch_size"),
    ("frontend_terabytes", "frontend: {name: logmel, overrides: {num_mel_bins: 100000000}}\n", "num_mel_bins"),
])
def test_a_bad_recipe_is_refused_when_read(tmp_path, refused, case, text, problem):
    recipe = _recipe(tmp_path, text)
    refused(["train", recipe, "--out", tmp_path / "run", "--no-progress"], recipe, problem)
    assert not (tmp_path / "run").exists()


def test_a_bad_override_is_refused_like_the_recipe(tmp_path, refused):
    recipe = _recipe(tmp_path, "train: {epochs: 1}\n")
    refused(["train", recipe, "--set", "optim.lr=.inf"], "optim.lr", "finite")
    refused(["train", recipe, "--set", "name=a/b"], "plain folder name")


@pytest.mark.parametrize("argv, problem", [
    (["evaluate", "m.pt", "--data", "d", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["quantize", "m.pt", "--out", "o", "--qat-lr", "nan"], "argument --qat-lr: must be a finite number above 0"),
    (["quantize", "m.pt", "--out", "o", "--calib", "-5"], "argument --calib: must be at least 1"),
    (["data", "synth", "--words", "yes", "--out", "o", "--per-word", "0"], "argument --per-word: must be at least 1"),
    (["--threads", "0", "models"], "argument --threads: must be at least 1"),
])
def test_numbers_that_cannot_work_are_usage_errors(capsys, argv, problem):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err
