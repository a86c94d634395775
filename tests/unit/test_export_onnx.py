"""ONNX export (`tinykws export --format onnx`) and the onnxruntime runtime, on the MLPerf
Tiny reference models: every int8 and float model converts, passes the ONNX checker and
runs with the .tflite's interface; on the KWS model the int8 QDQ form under ONNX
Runtime's fused kernels gives exactly LiteRT's XNNPACK outputs (both requantize in float;
on ResNet-8 they differ on a few images, bench/harness_outputs_diff.py), and the float
form matches the PyTorch import of the same file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinykws.cli.main import main as cli
from tinykws.eval.runner import open_runner
from tinykws.export.onnx import export_onnx
from tinykws.harness.data import load_workload_data
from tinykws.harness.registry import get_workload
from tinykws.harness.sut import output_names

pytestmark = pytest.mark.shared
MODELS = {"kws01": (49, 10, 1), "vww01": (96, 96, 3), "ic01": (32, 32, 3), "ad01": (640,)}


@pytest.mark.parametrize("workload", sorted(MODELS))
def test_reference_models_export_and_keep_their_interface(shared_dir, tmp_path, workload):
    spec = get_workload(workload).model
    for source, form, dtype in ((spec.path, "int8 QDQ", np.int8), (spec.float_path, "float", np.float32)):
        done = export_onnx(shared_dir / source, tmp_path / "m.onnx", frontend="none",
                           labels=output_names(get_workload(workload)))
        assert done.form == form
        with open_runner("onnxruntime", done.path) as runner:
            assert runner.info.input.shape == MODELS[workload]
            x = np.zeros((2, *MODELS[workload]), dtype)
            assert runner.run(x).dtype == dtype


def _kws_inputs(shared_dir, limit):
    w = get_workload("kws01")
    return load_workload_data(w, shared_dir, limit=limit).inputs


def test_int8_qdq_under_onnx_runtime_equals_litert_xnnpack(shared_dir):
    model = shared_dir / get_workload("kws01").model.path
    x = _kws_inputs(shared_dir, 200)
    with open_runner("onnxruntime", model, frontend="none") as ort, \
            open_runner("litert", model, kernels="xnnpack", frontend="none") as xnn, \
            open_runner("litert", model, frontend="none") as ref:
        a, b, c = ort.run(x), xnn.run(x), ref.run(x)
        assert ort.info.arithmetic == "onnxruntime_int8"
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # TFLite's fixed-point requantization differs on some samples


def test_float_onnx_matches_the_pytorch_import(shared_dir):
    from tinykws.fixedpoint.primitives import dequantize_int

    model = shared_dir / get_workload("kws01").model.float_path
    x = dequantize_int(_kws_inputs(shared_dir, 50), 0.58470291, 83).astype(np.float32)
    with open_runner("onnxruntime", model, frontend="none") as ort, open_runner("torch", model) as torch_runner:
        p = ort.run(x)
        logits = torch_runner.run(x.reshape(len(x), 49, 10))
    q = np.exp(logits - logits.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    assert np.abs(p - q).max() < 1e-5  # two float implementations: rounding-level differences only


def test_export_cli_writes_the_contract(shared_dir, tmp_path, capsys):
    model = shared_dir / get_workload("kws01").model.path
    out = tmp_path / "kws.onnx"
    assert cli(["export", str(model), "--format", "onnx", "--out", str(out)]) == 0
    assert "int8 QDQ ONNX" in capsys.readouterr().out
    import onnx

    meta = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["tinykws"])
    assert meta["input"]["scale"] == pytest.approx(0.58470291) and meta["labels"][0] == "down"
    assert cli(["export", str(tmp_path / "missing.tflite"), "--format", "onnx"]) == 2
