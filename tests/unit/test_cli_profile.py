"""`tinykws profile` input errors and the contract a generated project records (no toolchain needed)."""

from __future__ import annotations

import json

from tinykws.cli.main import main


def test_profile_rejects_what_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["profile", str(tmp_path / "notes.txt")]) == 2
    assert "not an int8 .tflite" in capsys.readouterr().err
    assert main(["profile", str(tmp_path), "--board", "esp32"]) == 2
    assert "unknown board 'esp32'" in capsys.readouterr().err


def test_contract_of_a_generated_project(tmp_path):
    from c_cases import zoo_quantized
    from tinykws.audio.frontends import build_frontend
    from tinykws.export.tflite import export_tflite
    from tinykws.profile.model import c_project_contract

    labels = [f"w{i}" for i in range(12)]
    frontend = build_frontend("micro_speech").to_dict()
    export_tflite(zoo_quantized("tiny_conv"), tmp_path / "q" / "model.tflite", frontend, labels, arena=False)
    assert main(["codegen", str(tmp_path / "q"), "--out", str(tmp_path / "c")]) == 0
    contract = c_project_contract(tmp_path / "c")
    manifest_input = json.loads((tmp_path / "c" / "manifest.json").read_text())["input"][0]
    assert contract.frontend == frontend and contract.labels == tuple(labels) and not contract.notes
    assert contract.input_quant == (manifest_input["scale"], manifest_input["zero_point"])
    (tmp_path / "c" / "manifest.json").unlink()
    assert c_project_contract(tmp_path / "c").notes == ("no decision split: the project has no manifest.json",)
