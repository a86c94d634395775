"""`tinykws sweep` on generated data: settings with distillation, structured and
unstructured pruning, float16 and int8; the cache; an interrupted sweep resumes to the
same table as an uninterrupted one; the Ray backend on a local Ray instance."""

from __future__ import annotations

import json

import pytest
from datagen import MLPERF_WORDS, make_raw_dataset

from tinykws.cli.main import main
from tinykws.errors import ConfigError
from tinykws.sweep import SweepInterrupted, load_sweep, pareto_front, run_sweep
from tinykws.sweep.table import TIMING_COLUMNS

RECIPE = """
name: tiny
data:
  sources:
    - path: {data}
      layout: raw
  epoch_size: 48
model:
  name: ds_cnn
frontend:
  name: mlperf_mfcc
optim:
  name: adam
  lr: 3e-3
schedule:
  name: cosine
train:
  epochs: 2
  batch_size: 16
  seed: 3
  threads: 1
"""

SWEEP = """
name: tiny_sweep
recipe: recipe.yaml
test_data: {test}
overrides: [train.epochs=2]
latency_runs: 3
base: base
settings:
  - name: base
    description: a small DS-CNN from the recipe
    model: ds_cnn
    model_kwargs: {{layers: [[16, 10, 4, 2, 2], [16, 3, 3, 1, 1], [16, 3, 3, 1, 1]]}}
    quant: {{mode: float32}}
  - name: base_int8
    from: base
    quant: {{mode: ptq, verify_clips: 8, calib_clips: 20}}
  - name: structured
    from: base
    prune: {{kind: structured, amount: 0.5, criterion: bn}}
    train: [train.epochs=1]
    quant: {{mode: qat, epochs: 1, clips: 20, calib_clips: 20, verify_clips: 8}}
  - name: unstructured_fp16
    from: base
    prune: {{kind: unstructured, amount: 0.6, end_epoch: 1}}
    train: []
    quant: {{mode: fp16}}
  - name: student
    description: a smaller DS-CNN distilled from the base
    model: ds_cnn
    model_kwargs: {{layers: [[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]]}}
    teacher: base
    distill: {{alpha: 0.7, temperature: 2.0}}
    quant: {{mode: ptq, weight_bits: 4, act_bits: 6, weight_symmetric: false}}
"""


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory, tiny_folder_dataset):
    root = tmp_path_factory.mktemp("sweep")
    data = make_raw_dataset(root / "sc", words=MLPERF_WORDS[:4] + ("bed",), speakers_per_word=3, clips_per_speaker=2)
    (root / "recipe.yaml").write_text(RECIPE.format(data=data.root))
    path = root / "sweep.yaml"
    path.write_text(SWEEP.format(test=tiny_folder_dataset.root))
    return path


def _comparable(rows):
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows]


@pytest.mark.slow
def test_interrupted_sweep_resumes_to_the_same_table(sweep_file, tmp_path):
    full = run_sweep(sweep_file, tmp_path / "full", echo=lambda *_: None)
    assert not full.failed and set(full.ran) == set(load_sweep(sweep_file).names)
    with pytest.raises(SweepInterrupted, match="base: stopped after 1 of 2"):
        run_sweep(sweep_file, tmp_path / "part", stop_after_epochs=1, echo=lambda *_: None)
    # resumed with two worker processes: the second wave's settings run in parallel
    resumed = run_sweep(sweep_file, tmp_path / "part", workers=2, echo=lambda *_: None)
    assert _comparable(resumed.rows) == _comparable(full.rows)
    again = run_sweep(sweep_file, tmp_path / "part", echo=lambda *_: None)
    assert again.ran == () and _comparable(again.rows) == _comparable(full.rows)

    rows = {r["setting"]: r for r in full.rows}
    results = full.results
    assert rows["base"]["mode"] == "float32" and rows["base"]["macs_ratio"] == 1.0
    # int8 weights are 4x smaller (biases stay 32-bit); the file's fixed overhead dominates a model this small
    assert rows["base_int8"]["weight_bytes"] * 2.5 < rows["base"]["weight_bytes"]
    assert rows["base_int8"]["bytes_ratio"] > 1 and rows["base_int8"]["macs"] == rows["base"]["macs"]
    assert results["base_int8"]["verification"]["ok"]
    # structured: a smaller dense model of the same family; unstructured: same dense counts, fewer non-zeros
    assert results["structured"]["model"]["kwargs"]["layers"][0][0] == 8
    assert rows["structured"]["params"] < rows["base"]["params"] and rows["structured"]["macs"] < rows["base"]["macs"]
    assert rows["unstructured_fp16"]["params"] == rows["base"]["params"]
    assert rows["unstructured_fp16"]["macs"] == rows["base"]["macs"]
    assert rows["unstructured_fp16"]["nonzero_params"] < 0.6 * rows["base"]["params"]
    assert results["unstructured_fp16"]["scored_with"].startswith("ai-edge-litert")
    assert results["student"]["artifact"] is None and "simulation" in results["student"]["scored_with"]
    for name in ("top1_vs_macs.png", "top1_vs_file_bytes.png", "report.md", "report.html", "table.md"):
        assert (tmp_path / "full" / name).is_file()
    report = (tmp_path / "full" / "report.md").read_text()
    assert "--only student" in report and "a smaller DS-CNN distilled" in report


def test_pareto_front():
    costs = [10, 20, 20, 30, 5, 40]
    tops = [80, 85, 84, 85, 70, 90]
    # 20/84 is beaten by 20/85; 30/85 by 20/85; the rest trade cost for accuracy
    assert pareto_front(costs, tops) == [4, 0, 1, 5]
    assert pareto_front([1, 1], [2, 2]) == [0, 1]
    assert pareto_front([], []) == []


def test_sweep_files_are_checked(tmp_path, sweep_file):
    bad = tmp_path / "bad.yaml"
    text = sweep_file.read_text().replace("recipe: recipe.yaml", f"recipe: {sweep_file.parent / 'recipe.yaml'}")
    for old, new, message in (
        ("quant: {mode: float32}", "quant: {mode: float8}", "quant.mode"),
        ("teacher: base", "teacher: nobody", "neither a setting nor a file"),
        ("teacher: base", "teacher: [base, base]", "an ensemble of teachers goes in the recipe"),
        ("    from: base\n    quant: {mode: ptq", "    from: student\n    quant: {mode: ptq", None),
    ):
        bad.write_text(text.replace(old, new, 1))
        if message is None:
            load_sweep(bad)  # depending on a later setting is fine: order() sorts it out
            continue
        with pytest.raises(ConfigError, match=message):
            load_sweep(bad)
    assert main(["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")]) == 2


@pytest.mark.slow
def test_ray_backend_runs_settings_on_a_local_ray_instance(sweep_file, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is optional")
    import ray

    out = tmp_path / "ray"
    try:
        result = run_sweep(sweep_file, out, workers=1, backend="ray", only=["base_int8"],
                           echo=lambda *_: None)
    finally:
        ray.shutdown()
    assert set(result.ran) == {"base", "base_int8"} and not result.failed
    logs = [json.loads((out / "settings" / n / "result.json").read_text())["setting"] for n in result.ran]
    assert sorted(logs) == sorted(result.ran)
