"""Float .tflite export: float32 weights compute the PyTorch model's outputs in LiteRT;
float16 weights are the float16-rounded weights behind DEQUANTIZE and compute what
`quant.fp16_weights` (the float16-rounded PyTorch model) computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.export.float_tflite import export_float_tflite, weight_bytes
from tinykws.export.runners import open_litert_runner
from tinykws.formats.tflite_reader import read_tflite
from tinykws.models import build_model
from tinykws.quant import fp16_weights


@pytest.mark.parametrize("name", ["ds_cnn", "crnn_gru_att"])
def test_float32_and_float16_exports_run_in_litert(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(name).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
    x = np.random.default_rng(0).normal(size=(3, 49, 10)).astype(np.float32) * 3
    outputs, sizes = {}, {}
    for weights in ("float32", "float16"):
        result = export_float_tflite(model, tmp_path / f"{weights}.tflite", {"kind": "test"},
                                     [str(i) for i in range(12)], weights, arena=False)
        with open_litert_runner(result.tflite_path) as runner:
            outputs[weights] = runner.run(x)
        sizes[weights] = (result.size_bytes, weight_bytes(result.tflite_path))
        stored = {t.dtype for t in read_tflite(result.tflite_path).main.tensors if t.data is not None}
        assert np.dtype(weights) in stored and (np.dtype(np.float16) in stored) == (weights == "float16")
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(x)), -1).numpy()
        expected16 = torch.softmax(fp16_weights(model)(torch.from_numpy(x)), -1).numpy()
    # batch norm is folded in double precision: the float file differs from PyTorch in the 6th digit
    np.testing.assert_allclose(outputs["float32"], expected, atol=3e-5)
    np.testing.assert_allclose(outputs["float16"], expected16, atol=3e-5)
    assert sizes["float16"][0] < sizes["float32"][0] and sizes["float16"][1] < 0.6 * sizes["float32"][1]
