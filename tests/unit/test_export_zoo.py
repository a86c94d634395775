"""Every quantizable zoo model quantizes, exports and runs bit-exact on TFLite's reference
engines (LiteRT BUILTIN_REF and TFLite Micro)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.export import LiteRTEngine, TFLMEngine, export_tflite
from tinykws.intmodel import intmodel_from_tflite, quantize, run
from tinykws.models import build_model, model_info, model_names
from tinykws.quant import quantize_ptq
from zoo_helpers import randomized_model

QUANTIZABLE = [name for name in model_names() if model_info(name).quantizable]


def _assert_simulation_close(qmodel, x: np.ndarray, ints: np.ndarray) -> None:
    """The fake-quant simulation (float32) stays within two output steps of the integer network."""
    with torch.no_grad():
        sim = np.round(qmodel.probabilities(torch.from_numpy(x)).numpy() * 256).astype(int) - 128
    assert np.abs(sim - ints.astype(int)).max() <= 2


@pytest.mark.parametrize("name", QUANTIZABLE)
def test_zoo_model_exports_bit_exact(name, tmp_path):
    model = randomized_model(name)
    shape = model_info(name).input_shape
    rng = np.random.default_rng(0)
    calib = (rng.normal(size=(6, *shape)) * 3).astype(np.float32)
    qmodel = quantize_ptq(model, calib)
    result = export_tflite(qmodel, tmp_path / "model.tflite", {"kind": "test"}, [str(i) for i in range(12)])
    assert result.arena_bytes is not None and result.arena_bytes > 0
    x = (rng.normal(size=(3, *shape)) * 3).astype(np.float32)
    ours = {}
    for arithmetic in ("litert_ref", "tflite_micro"):
        im = intmodel_from_tflite(result.tflite_path, arithmetic)
        xi = quantize(x, im.input_tensors[0]).reshape(len(x), *im.input_tensors[0].shape[1:])
        ours[arithmetic] = run(im, xi).output
    np.testing.assert_array_equal(LiteRTEngine(result.tflite_path).run(xi), ours["litert_ref"])
    np.testing.assert_array_equal(TFLMEngine(result.tflite_path).run(xi), ours["tflite_micro"])
    _assert_simulation_close(qmodel, x, ours["litert_ref"])


@pytest.mark.parametrize("name", ["ds_cnn", "tiny_conv"])
def test_causal_padding_exports_as_pad_then_valid(name, tmp_path):
    torch.manual_seed(2)
    model = build_model(name, causal=True).eval()
    shape = model_info(name).input_shape
    rng = np.random.default_rng(2)
    qmodel = quantize_ptq(model, (rng.normal(size=(4, *shape)) * 3).astype(np.float32))
    result = export_tflite(qmodel, tmp_path / "m.tflite", {"kind": "test"}, [str(i) for i in range(12)], arena=False)
    from tinykws.formats.tflite_reader import read_tflite

    ops = read_tflite(result.tflite_path).main.operators
    assert ops[0].opcode == "PAD" and ops[1].opcode == "CONV_2D" and ops[1].options["padding"] == "VALID"
    x = (rng.normal(size=(2, *shape)) * 3).astype(np.float32)
    im = intmodel_from_tflite(result.tflite_path)
    xi = quantize(x, im.input_tensors[0]).reshape(len(x), *im.input_tensors[0].shape[1:])
    np.testing.assert_array_equal(LiteRTEngine(result.tflite_path).run(xi), run(im, xi).output)
    _assert_simulation_close(qmodel, x, run(im, xi).output)
