"""`tinykws quantize` end to end on a tiny generated dataset and a checkpoint made here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tinykws.audio.frontends import build_frontend
from tinykws.cli.main import main
from tinykws.data.labels import MLPERF_LABELS
from tinykws.export import LiteRTEngine, TFLMEngine, read_manifest
from tinykws.intmodel import intmodel_from_tflite, quantize, run
from tinykws.models import build_model
from tinykws.train.checkpoint import Checkpoint, save_checkpoint
from tinykws.train.setup import model_kwargs_of


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("ds_cnn", layers=[[16, 10, 4, 2, 2], [16, 3, 3, 1, 1]])
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2.0)
    ckpt = Checkpoint(model_name="ds_cnn", model_kwargs=model_kwargs_of(model), num_classes=12,
                      state_dict=model.state_dict(), frontend=build_frontend("mlperf_mfcc").to_dict(),
                      labels=list(MLPERF_LABELS))
    return save_checkpoint(ckpt, tmp_path_factory.mktemp("ckpt") / "best.pt")


def test_quantize_cli_writes_a_bit_exact_model(checkpoint, tiny_raw_dataset, tmp_path, capsys):
    out = tmp_path / "int8"
    code = main(["quantize", str(checkpoint.parent), "--data", str(tiny_raw_dataset.root), "--out", str(out),
                 "--calib", "6", "--observer", "percentile", "--qat-epochs", "1", "--qat-clips", "8"])
    assert code == 0
    printed = capsys.readouterr().out
    n = int(printed.split("verified on ")[1].split(" inputs")[0])
    assert n > 0
    for engine in ("LiteRT BUILTIN_REF", "TFLite Micro", "numpy runtime on the file read back (litert_ref)",
                   "numpy runtime on the file read back (tflite_micro)"):
        assert f"{engine}: identical int8 outputs on {n}/{n} inputs" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verification"]["ok"] and len(summary["verification"]["checks"]) == 4
    assert summary["calib_clips"] == 6 and len(summary["qat_losses"]) == 1
    assert set(summary["accuracy"]) == {"float", "fake_quant", "int8"}
    manifest = read_manifest(out / "manifest.json")
    assert manifest["labels"] == list(MLPERF_LABELS)
    assert manifest["frontend"] == build_frontend("mlperf_mfcc").to_dict()
    assert (out / "quantized.pt").is_file()
    # The written file on both reference engines equals the tinykws runtime.
    x = (np.random.default_rng(0).normal(size=(3, 49, 10)) * 10).astype(np.float32)
    im = intmodel_from_tflite(out / "model.tflite")
    xi = quantize(x, im.input_tensors[0]).reshape(3, 49, 10, 1)
    np.testing.assert_array_equal(LiteRTEngine(out / "model.tflite").run(xi), run(im, xi).output)
    tflm = TFLMEngine(out / "model.tflite")
    np.testing.assert_array_equal(tflm.run(xi), run(intmodel_from_tflite(out / "model.tflite", "tflite_micro"),
                                                    xi).output)
    assert manifest["arena_bytes"] == tflm.arena_bytes


def test_quantize_cli_simulation_only_and_bad_input(checkpoint, tiny_raw_dataset, tmp_path, capsys):
    out = tmp_path / "a4"
    assert main(["quantize", str(checkpoint), "--data", str(tiny_raw_dataset.root), "--out", str(out),
                 "--calib", "4", "--weight-bits", "4", "--act-bits", "4", "--no-arena", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tflite_path"] is None and "int8" not in summary["accuracy"]
    assert not (out / "model.tflite").exists()
    assert main(["quantize", str(tmp_path / "missing.pt"), "--data", str(tiny_raw_dataset.root),
                 "--out", str(out)]) == 2
    assert "missing.pt" in capsys.readouterr().err
    assert main(["quantize", str(checkpoint), "--data", str(tiny_raw_dataset.root), "--out", str(out),
                 "--weight-bits", "9"]) == 2
    assert "weight_bits" in capsys.readouterr().err


def test_quantize_takes_its_settings_from_the_run_recipe(checkpoint, tiny_raw_dataset, tiny_folder_dataset, tmp_path,
                                                         capsys):
    """A run folder's config.yaml (sections data, quant, export) is all `quantize` needs; flags win."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(checkpoint, run / "best.pt")
    (run / "config.yaml").write_text(
        f"data:\n  sources:\n    - path: {tiny_raw_dataset.root}\n"
        f"quant: {{calib_clips: 5, observer: mse, seed: 3}}\n"
        f"export: {{test_data: {tiny_folder_dataset.root}, arena: false}}\n")
    assert main(["quantize", str(run), "--out", str(tmp_path / "q"), "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["calib_clips"] == 5 and summary["arena_bytes"] is None
    assert summary["test_clips"] == len(tiny_folder_dataset.files) and summary["verification"]["ok"]
    assert json.loads((tmp_path / "q" / "summary.json").read_text())["quantization"]["observer"] == "mse"
    assert main(["quantize", str(run), "--out", str(tmp_path / "q"), "--calib", "4", "--no-verify", "--json",
                 "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["calib_clips"] == 4 and summary["verification"] is None
    # Without a recipe, the data must be named.
    assert main(["quantize", str(checkpoint), "--out", str(tmp_path / "r")]) == 2
    assert "--data" in capsys.readouterr().err
