"""One keyword decision on the emulated Cortex-M4: the post-processing decides on the
device as its numpy definition does, and `tinykws profile` splits a decision into the C
front-end on a clip, the network on the device's features and the post-processing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from c_cases import zoo_quantized
from codegen_frontend_support import generated_clips
from tinykws.audio.frontends import build_frontend
from tinykws.cli.main import main
from tinykws.codegen.postprocess import smooth_decisions
from tinykws.export.tflite import export_tflite
from tinykws.profile.postprocess_mcu import measure_postprocess

pytestmark = pytest.mark.mcu
LABELS = [f"word{i}" for i in range(12)]


def test_device_postprocessing_equals_numpy(toolchain, tmp_path: Path) -> None:
    outputs = np.random.default_rng(3).choice(np.array([-128, -60, 0, 90, 127], np.int8), size=(12, 12))
    run = measure_postprocess(outputs, window=3, work_dir=tmp_path)
    assert np.array_equal(run.decisions, smooth_decisions(outputs, 3))
    assert run.per_decision == run.instructions[-1] and np.all(run.instructions > 50)


def test_profile_splits_one_decision(toolchain, tmp_path: Path, capsys) -> None:
    export_tflite(zoo_quantized("tiny_conv"), tmp_path / "q" / "model.tflite", build_frontend("micro_speech").to_dict(),
                  LABELS, arena=False)
    clip = tmp_path / "chirp.wav"
    sf.write(str(clip), generated_clips()["chirp"], 16000, subtype="PCM_16")
    page = tmp_path / "out" / "p.html"
    assert main(["profile", str(tmp_path / "q"), "--clip", str(clip), "--window", "3", "--html", str(page),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    split = data["decision"]
    stages = {s["name"]: s for s in split["stages"]}
    assert list(stages) == ["pre-processing", "network", "post-processing"]
    assert split["clip"] == "chirp.wav" and split["smoothing_window"] == 3 and split["frames_per_clip"] == 49
    assert stages["network"]["instructions"] == data["instructions_per_inference"]
    assert split["instructions"] == sum(s["instructions"] for s in split["stages"])
    assert sum(s["share"] for s in split["stages"]) == pytest.approx(1.0)
    assert all(s["instructions"] > 0 for s in split["stages"])
    model = data["model_footprint"]
    assert (stages["network"]["static_ram_bytes"], stages["network"]["flash_bytes"]) == (
        model["data"] + model["bss"], model["flash"])
    assert model["bss"] >= data["arena_bytes"]
    # the microfrontend's tables and the smoother's history are the stages' own bytes
    assert stages["pre-processing"]["flash_bytes"] > 3000 and stages["post-processing"]["static_ram_bytes"] >= 3 * 12
    assert split["flash_bytes"] == sum(s["flash_bytes"] for s in split["stages"])
    assert split["label"] == LABELS[int(np.argmax(data["output_first_input"]))]
    assert page.with_name("p_decision.png").stat().st_size > 1000
    assert json.loads(page.with_suffix(".json").read_text())["decision"] == split
