"""`tinykws evaluate MODEL.tflite` on the three runtimes, checked by the real interpreters.

A tiny ds_cnn is quantized and exported here (the quantize/export path); its outputs on a
generated 12-class dataset must be identical on the tinykws runtime and on LiteRT
(BUILTIN_REF) / TFLite Micro, each compared with the tinykws profile of its arithmetic.
The `shared` test does the same with the MLPerf reference int8 model on real clips.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tinykws.audio.frontends import build_frontend
from tinykws.audio.io import load_audio
from tinykws.cli.main import main
from tinykws.data.labels import MLPERF_LABELS, label_index
from tinykws.errors import ConfigError
from tinykws.export import export_tflite
from tinykws.formats.tflite_reader import read_tflite
from tinykws.formats.tflite_writer import write_tflite
from tinykws.intmodel import intmodel_from_tflite, quantize, run
from tinykws.models import build_model
from tinykws.quant import quantize_ptq

pytest.importorskip("ai_edge_litert.interpreter")
pytest.importorskip("tflite_micro.python.tflite_micro.runtime")


def _features(paths: list[Path]) -> np.ndarray:
    fe = build_frontend("mlperf_mfcc")
    return np.stack([fe.compute(load_audio(p, fe.sample_rate, length=fe.clip_samples)) for p in paths])


@pytest.fixture(scope="module")
def exported(tiny_folder_dataset, tmp_path_factory):
    """A tiny int8 ds_cnn calibrated on the dataset's own MFCC features, with its manifest."""
    torch.manual_seed(0)
    model = build_model("ds_cnn", layers=[[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]]).eval()
    with torch.no_grad():  # spread the logits of the untrained model, so outputs differ from clip to clip
        [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1].weight.mul_(30.0)
    paths = [tiny_folder_dataset.path(rel) for rel in sorted(tiny_folder_dataset.files)]
    qmodel = quantize_ptq(model, _features(paths[::3]))
    out = tmp_path_factory.mktemp("tiny_int8")
    return export_tflite(qmodel, out / "model.tflite", build_frontend("mlperf_mfcc").to_dict(),
                         list(MLPERF_LABELS))


def _evaluate(model: Path, data: Path, out_npy: Path, capsys, *options: str) -> tuple[dict, np.ndarray, dict]:
    code = main(["evaluate", str(model), "--data", str(data), "--outputs", str(out_npy), "--json",
                 "--no-progress", *options])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), np.load(out_npy), json.loads(out_npy.with_suffix(".json").read_text())


def test_three_runtimes_give_identical_outputs(exported, tiny_folder_dataset, tmp_path, capsys):
    data = tiny_folder_dataset.root
    ref, ref_out, order = _evaluate(exported.tflite_path, data, tmp_path / "reference.npy", capsys,
                                    "--runtime", "reference")
    micro, micro_out, _ = _evaluate(exported.tflite_path, data, tmp_path / "reference_micro.npy", capsys,
                                    "--arithmetic", "tflite_micro")
    lite, lite_out, lite_order = _evaluate(exported.tflite_path, data, tmp_path / "litert.npy", capsys,
                                           "--runtime", "litert")
    tflm, tflm_out, _ = _evaluate(exported.tflite_path, data, tmp_path / "tflm.npy", capsys, "--runtime", "tflm")

    n = len(tiny_folder_dataset.files)
    assert ref_out.shape == (n, 12) and ref_out.dtype == np.int8
    assert len(np.unique(ref_out, axis=0)) > n // 2  # real, clip-dependent outputs
    np.testing.assert_array_equal(lite_out, ref_out)  # LiteRT BUILTIN_REF == profile litert_ref
    np.testing.assert_array_equal(tflm_out, micro_out)  # TFLite Micro == profile tflite_micro

    # Clip order: every clip of the dataset once, with its folder's label.
    assert sorted(order["clips"]) == sorted(tiny_folder_dataset.files) and lite_order["clips"] == order["clips"]
    expected_targets = [label_index(tiny_folder_dataset.files[c]) for c in order["clips"]]
    assert order["targets"] == expected_targets and order["labels"] == list(MLPERF_LABELS)

    # The tinykws runtime on features computed here, in that order, gives the same outputs.
    im = intmodel_from_tflite(exported.tflite_path)
    x = quantize(_features([data / c for c in order["clips"]]), im.input_tensors[0]).reshape(n, 49, 10, 1)
    np.testing.assert_array_equal(run(im, x).output, ref_out)

    top1 = float(np.mean(ref_out.argmax(axis=1) == np.asarray(expected_targets)))
    assert ref["top1"] == pytest.approx(top1) and ref["num_clips"] == n
    assert ref["contract_source"] == "embedded metadata" and ref["notes"] == []
    assert ref["runtime"] == "reference" and ref["arithmetic"] == "litert_ref" and "arena_bytes" not in ref
    assert micro["arithmetic"] == "tflite_micro" and lite["arithmetic"] == "litert_ref"
    assert tflm["arithmetic"] == "tflite_micro"
    assert lite["runtime"] == "litert" and lite["litert_kernels"] == "reference"
    assert tflm["runtime"] == "tflm" and tflm["arena_bytes"] == exported.arena_bytes > 0
    assert {"per_class", "confusion", "macro_auc", "eembc_auc"} <= set(ref)
    assert (ref["input"]["scale"], ref["input"]["zero_point"]) == (exported.manifest["input"]["scale"],
                                                                   exported.manifest["input"]["zero_point"])


def test_foreign_file_gets_assumed_contract(exported, tiny_folder_dataset, tmp_path, capsys):
    tfl = read_tflite(exported.tflite_path)
    foreign = tmp_path / "foreign" / "model.tflite"
    write_tflite(type(tfl)(tfl.version, "foreign", tfl.subgraphs, {}), foreign)
    # A manifest beside it that describes another file must not be used.
    (foreign.parent / "manifest.json").write_text(exported.manifest_path.read_text())
    data = tiny_folder_dataset.root
    summary, outputs, _ = _evaluate(foreign, data, tmp_path / "foreign.npy", capsys, "--out", str(tmp_path / "rep"))
    embedded, embedded_out, _ = _evaluate(exported.tflite_path, data, tmp_path / "embedded.npy", capsys)
    np.testing.assert_array_equal(outputs, embedded_out)
    assert summary["contract_source"] == "assumed"
    notes = " ".join(summary["notes"])
    assert "mlperf_mfcc" in notes and "MLPerf Tiny labels" in notes and "SHA-256 differs" in notes
    assert summary["top1"] == embedded["top1"]
    report = json.loads((tmp_path / "rep" / "eval.json").read_text())
    assert report["runtime"] == "reference" and Path(report["plots"]["roc"]).is_file()


def test_bad_input_is_a_clear_error(exported, tiny_folder_dataset, tmp_path, capsys, monkeypatch):
    data = str(tiny_folder_dataset.root)
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\x10\x00\x00\x00TFL3" + b"\xff" * 40)
    assert main(["evaluate", str(broken), "--data", data, "--no-progress"]) == 2
    assert "broken.tflite" in capsys.readouterr().err
    not_tflite = tmp_path / "text.tflite"
    not_tflite.write_text("hello, not a model")
    assert main(["evaluate", str(not_tflite), "--data", data]) == 2
    assert "not a .tflite file" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "model.pt"), "--data", data, "--runtime", "tflm"]) == 2
    assert "model.pt: no such .tflite file" in capsys.readouterr().err
    assert main(["evaluate", str(exported.tflite_path), "--data", data, "--runtime", "litert",
                 "--arithmetic", "tflite_micro"]) == 2
    assert "runtime 'litert' takes no option arithmetic" in capsys.readouterr().err
    assert main(["evaluate", str(exported.tflite_path), "--data", data, "--litert-kernels", "xnnpack"]) == 2
    assert "runtime 'reference' takes no option kernels" in capsys.readouterr().err

    # A foreign file whose input is not the MLPerf 49x10 needs --frontend.
    tfl = read_tflite(exported.tflite_path)
    sg = tfl.main
    odd = [t if i != sg.inputs[0] else type(t)(t.index, t.name, (1, 490, 1, 1), t.dtype, t.type_name, None,
                                                t.quantization) for i, t in enumerate(sg.tensors)]
    foreign = tmp_path / "odd.tflite"
    write_tflite(type(tfl)(tfl.version, "x", (type(sg)(tuple(odd), sg.operators, sg.inputs, sg.outputs),), {}),
                 foreign)
    assert main(["evaluate", str(foreign), "--data", data, "--no-progress"]) == 2
    assert "--frontend" in capsys.readouterr().err

    # A float .tflite in the integer runtime: the error names the runtime that runs it.
    from tinykws.export.float_tflite import export_float_tflite

    float_file = tmp_path / "float.tflite"
    export_float_tflite(build_model("ds_cnn", layers=[[8, 10, 4, 2, 2]]).eval(), float_file,
                        build_frontend("mlperf_mfcc").to_dict(), list(MLPERF_LABELS))
    assert main(["evaluate", str(float_file), "--data", data, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "float.tflite" in err and "int8 models only" in err and "litert runtime" in err and "Traceback" not in err

    # A missing interpreter package is named, with the way out.
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert main(["evaluate", str(exported.tflite_path), "--data", data, "--runtime", "litert", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ai-edge-litert is not installed" in err and "--runtime reference" in err


@pytest.mark.shared
def test_mlperf_reference_model_on_real_clips(ref_model_int8, sc12_test_dev, tmp_path, capsys):
    subset = tmp_path / "sc12_subset"
    for folder in sorted(p for p in sc12_test_dev.iterdir() if p.is_dir()):
        (subset / folder.name).mkdir(parents=True)
        for clip in sorted(folder.iterdir())[:4]:
            (subset / folder.name / clip.name).symlink_to(clip)
    ref, ref_out, order = _evaluate(ref_model_int8, subset, tmp_path / "ref.npy", capsys)
    _, micro_out, _ = _evaluate(ref_model_int8, subset, tmp_path / "micro.npy", capsys, "--profile", "tflite_micro")
    _, lite_out, _ = _evaluate(ref_model_int8, subset, tmp_path / "lite.npy", capsys, "--runtime", "litert")
    tflm, tflm_out, _ = _evaluate(ref_model_int8, subset, tmp_path / "tflm.npy", capsys, "--runtime", "tflm")
    assert ref_out.shape == (48, 12)
    np.testing.assert_array_equal(lite_out, ref_out)
    np.testing.assert_array_equal(tflm_out, micro_out)
    assert ref["contract_source"] == "assumed" and ref["frontend"]["kind"] == "mfcc"
    assert 20_000 < tflm["arena_bytes"] < 26_000  # docs/architecture.md: 24,272 B for this model
    im = intmodel_from_tflite(ref_model_int8)
    assert (ref["input"]["scale"], ref["input"]["zero_point"]) == (im.input_tensors[0].scale, 83)
    x = quantize(_features([subset / c for c in order["clips"]]), im.input_tensors[0]).reshape(48, 49, 10, 1)
    np.testing.assert_array_equal(run(im, x).output, ref_out)
    assert ref["top1"] == pytest.approx(np.mean(ref_out.argmax(1) == np.asarray(order["targets"])))


def test_adopted_file_and_matching_manifest_give_the_contract(exported, tiny_folder_dataset, tmp_path):
    from tinykws.export.adopt import adopt_tflite
    from tinykws.eval.evaluate import evaluate_folder
    from tinykws.export.contract import resolve_contract
    from tinykws.export.manifest import file_facts, read_manifest, write_manifest

    tfl = read_tflite(exported.tflite_path)
    foreign = tmp_path / "foreign" / "model.tflite"
    write_tflite(type(tfl)(tfl.version, "foreign", tfl.subgraphs, {}), foreign)
    # A manifest that names this very file (same SHA-256) supplies the contract.
    write_manifest(foreign.parent / "manifest.json", dict(exported.manifest, **file_facts(foreign)))
    contract = resolve_contract(foreign, read_tflite(foreign))
    assert contract.source == "manifest.json" and contract.notes == ()
    assert contract.labels == tuple(MLPERF_LABELS) and contract.frontend == exported.manifest["frontend"]

    adopted = adopt_tflite(foreign, tmp_path / "adopted" / "model.tflite", "mlperf_mfcc", MLPERF_LABELS,
                           model_name="tiny", arena=False)
    manifest = read_manifest(adopted.manifest_path)
    assert manifest["model"]["name"] == "tiny" and manifest["input"] == exported.manifest["input"]
    a = evaluate_folder(adopted.tflite_path, tiny_folder_dataset.root, "reference")
    b = evaluate_folder(exported.tflite_path, tiny_folder_dataset.root, "reference")
    assert a.info.contract_source == "embedded metadata"
    np.testing.assert_array_equal(a.outputs, b.outputs)
    with pytest.raises(ConfigError, match="12 outputs but 2 labels"):
        adopt_tflite(foreign, tmp_path / "bad" / "model.tflite", "mlperf_mfcc", ["yes", "no"], arena=False)
