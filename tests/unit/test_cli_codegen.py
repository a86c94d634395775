"""`tinykws codegen`: a quantize folder (embedded metadata), a bare .tflite with a manifest
beside it, JSON output, and a clean error for a missing model."""

from __future__ import annotations

import json

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
