"""`tinykws codegen`: a quantize folder (embedded metadata), a bare .tflite with a manifest
beside it, JSON output, and a clean error for a missing model."""

from __future__ import annotations

import json

import pytest

from c_cases import zoo_quantized
from tinykws.cli.main import main
from tinykws.export.manifest import file_facts, model_contract, write_manifest
from tinykws.export.tflite import export_tflite
from tinykws.formats.tflite_writer import write_tflite
from tinykws.intmodel.from_quantized import describe, tflite_model_from_quantized

LABELS = [f"word{i}" for i in range(12)]


def test_codegen_quantize_folder(tmp_path, capsys):
    qmodel = zoo_quantized("tiny_conv")
    export_tflite(qmodel, tmp_path / "q" / "model.tflite", {"kind": "mlperf_mfcc"}, LABELS, arena=False)
    assert main(["codegen", str(tmp_path / "q"), "--out", str(tmp_path / "c"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["labels_and_frontend"] == "embedded metadata" and facts["arithmetic"] == "tflite_micro"
    assert {"model.c", "model.h", "main.c", "Makefile", "manifest.json"} <= set(facts["files"])
    assert facts["arena_bytes"] > 0 and facts["macs"] == sum(layer["macs"] for layer in facts["layers"])
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["labels"] == LABELS
    assert '"word3"' in (tmp_path / "c" / "model.h").read_text()


def test_codegen_bare_tflite_with_manifest_beside(tmp_path, capsys):
    qmodel = zoo_quantized("tiny_conv")
    path = tmp_path / "m" / "net.tflite"
    path.parent.mkdir()
    write_tflite(tflite_model_from_quantized(qmodel), path)  # no embedded metadata
    contract = model_contract("tiny_conv", {}, {"kind": "mlperf_mfcc"}, LABELS, describe(qmodel), {})
    write_manifest(path.with_name("manifest.json"), dict(contract, **file_facts(path)))
    assert main(["codegen", str(path), "--out", str(tmp_path / "c"), "--arithmetic", "litert_ref",
                 "--name", "net"]) == 0
    out = capsys.readouterr().out
    assert "labels and front-end: manifest.json" in out and "arithmetic litert_ref" in out
    assert "arena" in out and "flash" in out
    assert (tmp_path / "c" / "net.h").exists()


def test_codegen_missing_model_is_a_clean_error(tmp_path, capsys):
    assert main(["codegen", str(tmp_path / "none.tflite"), "--out", str(tmp_path / "c")]) == 2
    assert "no such .tflite" in capsys.readouterr().err


def test_codegen_frontend_writes_a_keyword_pipeline_that_runs(tmp_path, capsys):
    import subprocess

    from tinykws.audio.frontends import build_frontend

    export_tflite(zoo_quantized("tiny_conv"), tmp_path / "q" / "model.tflite", build_frontend("micro_speech").to_dict(),
                  LABELS, arena=False)
    out = tmp_path / "c"
    assert main(["codegen", str(tmp_path / "q"), "--out", str(out), "--frontend", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert {"frontend.h", "frontend.c", "tkws_postprocess.h", "tkws_postprocess.c"} <= set(facts["files"])
    assert facts["frontend_c"]["kind"] == "microfrontend" and facts["frontend_c"]["output_shape"] == [49, 40]
    assert facts["example"]["expected_label"] in LABELS
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frontend_c"]["input_zero_point"] == manifest["input"][0]["zero_point"]
    assert "tkws_features(clip, TKWS_FEATURES_CLIP_SAMPLES, features)" in (out / "main.c").read_text()
    done = subprocess.run(["make", "-s", "-C", str(out), "run"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # the label is the numpy pipeline's
    assert f"keyword: {facts['example']['expected_label']} " in done.stdout
    assert "identical to tinykws' numpy pipeline" in done.stdout  # microfrontend and network: bit-exact


def test_codegen_frontend_refusals(tmp_path, capsys):
    from tinykws.audio.frontends import build_frontend

    export_tflite(zoo_quantized("tiny_conv"), tmp_path / "q" / "model.tflite", build_frontend("micro_speech").to_dict(),
                  LABELS, arena=False)
    assert main(["codegen", str(tmp_path / "q"), "--out", str(tmp_path / "a"), "--clip", "x.wav"]) == 2
    assert "add --frontend" in capsys.readouterr().err
    assert main(["codegen", str(tmp_path / "q"), "--out", str(tmp_path / "b"), "--frontend", "mww_40"]) == 2
    assert "the microfrontend front-end gives 98x40 features but the network input" in capsys.readouterr().err
    export_tflite(zoo_quantized("matchboxnet_3x1x64"), tmp_path / "m" / "model.tflite",
                  build_frontend("logmel").to_dict(), LABELS, arena=False)
    assert main(["codegen", str(tmp_path / "m"), "--out", str(tmp_path / "b"), "--frontend"]) == 2
    assert "no C version of the 'logmel' front-end" in capsys.readouterr().err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("name: x\n")
    assert main(["codegen", str(tmp_path / "run"), "--out", str(tmp_path / "d")]) == 2
    assert "a training run, not an int8 model; quantize it first" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abd")


@pytest.mark.shared
def test_codegen_frontend_of_the_mlperf_reference_model(tmp_path, capsys, ref_model_int8, sc12_test_dev):
    clip = sorted((sc12_test_dev / "yes").iterdir())[0]
    assert main(["codegen", str(ref_model_int8), "--out", str(tmp_path / "c"), "--frontend", "--clip", str(clip),
                 "--board", "nucleo-f103rb"]) == 0
    out = capsys.readouterr().out
    assert "labels and front-end: assumed" in out
    assert "note: no tinykws metadata: assumed front-end 'mlperf_mfcc'" in out
    assert f"main.c classifies {clip.name} as 'yes'" in out
    assert ("fits nucleo-f103rb: RAM 17,916 of 20,480 B (arena 11,104 + mfcc front-end 2,716 + stack allowance "
            "4,096)") in out
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["frontend_c"]["kind"] == "mfcc" and manifest["labels"][9] == "yes"


def test_codegen_frontend_of_a_model_without_audio_input(tmp_path, capsys):
    export_tflite(zoo_quantized("tiny_conv"), tmp_path / "q" / "model.tflite", {"kind": "none"}, LABELS, arena=False)
    assert main(["codegen", str(tmp_path / "q"), "--out", str(tmp_path / "c"), "--frontend"]) == 2
    assert "not made from audio" in capsys.readouterr().err
