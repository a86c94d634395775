"""The main job end to end on tiny data: corpus -> training -> evaluation -> int8 -> report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinykws.cli.main import main
from tinykws.eval.evaluate import evaluate_folder
from tinykws.pipeline.demo import DemoOptions, run_demo


@pytest.mark.slow
def test_demo_pipeline_on_tiny_data(tmp_path, tiny_folder_dataset, tiny_raw_dataset):
    out = tmp_path / "demo"
    noise = tiny_raw_dataset.root / "_background_noise_"
    result = run_demo(DemoOptions(
        out_dir=str(out), per_word=3, unknown_clips=12, engines=(("espeak", 1.0),), epochs=2,
        batch_size=16, workers=1, threads=1, real_test=str(tiny_folder_dataset.root), progress=False,
        noise_dir=str(noise), epoch_size=0,
    ))
    # The given noise recordings join the generated ones in the corpus.
    copied = {p.stem for p in (out / "corpus" / "_background_noise_").iterdir()}
    assert {p.stem for p in noise.iterdir()} <= copied and "synth_pink_noise" in copied
    # Every artifact the demo promises exists and is what it says.
    assert result.checkpoint.is_file() and result.report.is_file() and result.tflite.is_file()
    assert (out / "corpus" / "synth_manifest.json").is_file()
    # The demo trains with weight averaging (what that does to best.pt: tests/pipeline/test_train_resume.py).
    assert "  ema_decay: 0.999\n" in (out / "train" / "config.yaml").read_text()
    assert set(result.evaluations) == {"synthetic test", "real speech"}
    real = result.evaluations["real speech"]
    assert real.num_clips == len(tiny_folder_dataset.files)
    # The reported figures are the model's: the same checkpoint scored again gives them.
    again = evaluate_folder(result.checkpoint, tiny_folder_dataset.root, "torch", split="all").result
    assert real.top1 == again.top1 and np.array_equal(real.confusion, again.confusion)
    assert real.top1 == pytest.approx(np.mean(real.scores.argmax(1) == real.targets))
    # The int8 file was read back and run in every engine, with identical outputs.
    checks = " | ".join(result.verification)
    for engine in ("LiteRT BUILTIN_REF", "TFLite Micro", "numpy runtime on the file read back (litert_ref)"):
        assert f"{engine}: identical int8 outputs on {real.num_clips}/{real.num_clips} inputs" in checks
    page = result.report.read_text()
    assert "Accuracy per class" in page and "real speech" in page and str(noise) in page
    assert "two tracks glued with" in page and (out / "glued" / "glued.png").stat().st_size > 1000
    for img in ("training_curves.png",):
        assert (out / img).stat().st_size > 1000
    summary = json.loads((out / "demo.json").read_text())
    assert summary["top1"]["real speech"] == pytest.approx(real.top1)
    assert set(summary["int8_top1"]) >= {"float", "int8"}
    # The integer model agrees with the float one on this data to within a clip or two.
    assert abs(summary["int8_top1"]["int8"] - summary["int8_top1"]["float"]) <= 2 / real.num_clips + 1e-9


@pytest.mark.parametrize("make", ["missing", "not a dataset"])
def test_demo_refuses_a_bad_real_test_folder_before_any_work(tmp_path, capsys, make):
    target = tmp_path / "real"
    if make == "not a dataset":
        target.mkdir()
        (target / "readme.txt").write_text("hello")
    code = main(["demo", "--out", str(tmp_path / "d"), "--no-progress", "--real-test", str(target)])
    assert code == 2
    assert str(target) in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # failed before synthesizing anything
