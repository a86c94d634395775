"""The MLPerf reference float model quantized by tinykws: accuracy, bit-exactness, size, arena.

Calibration clips come from speech_commands_partial (training data), accuracy from a
seeded subset of sc12_test_dev; the full-set numbers are in the quantize report.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.audio.frontends import build_frontend
from tinykws.data.labels import MLPERF_LABELS
from tinykws.eval.dataset import dataset_features
from tinykws.export import LiteRTEngine, TFLMEngine, export_tflite
from tinykws.intmodel import intmodel_from_tflite, quantize, run
from tinykws.intmodel.from_quantized import intmodel_from_quantized
from tinykws.models.tflite_import import import_float_tflite
from tinykws.quant import quantize_ptq

REF_INT8_BYTES = 53_936


@pytest.mark.shared
@pytest.mark.slow
def test_reference_model_ptq(ref_model_float, speech_commands_partial, sc12_test_dev, tmp_path):
    fe = build_frontend("mlperf_mfcc")
    model = import_float_tflite(ref_model_float).model
    calib = dataset_features(speech_commands_partial, "train", fe, MLPERF_LABELS, limit=200, progress=False)
    qmodel = quantize_ptq(model, calib.features)
    test = dataset_features(sc12_test_dev, "test", fe, MLPERF_LABELS, limit=400, seed=1, progress=False)
    x, y = test.features, test.targets
    with torch.no_grad():
        float_acc = float(np.mean(model(torch.from_numpy(x).unsqueeze(1)).argmax(-1).numpy() == y))
        fq_top1 = qmodel.probabilities(torch.from_numpy(x)).argmax(-1).numpy()
    im = intmodel_from_quantized(qmodel)
    int_top1 = run(im, quantize(x, im.input_tensors[0]).reshape(len(x), 49, 10, 1)).output.argmax(-1)
    int_acc = float(np.mean(int_top1 == y))
    assert float_acc > 0.85  # the import and the front-end are right
    assert int_acc >= float_acc - 0.01
    assert np.mean(int_top1 == fq_top1) >= 0.99  # the float32 simulation tracks the integer network
    result = export_tflite(qmodel, tmp_path / "model.tflite", fe.to_dict(), list(MLPERF_LABELS))
    assert result.size_bytes < REF_INT8_BYTES
    assert 20_000 <= result.arena_bytes <= 25_000
    im = intmodel_from_tflite(result.tflite_path)
    xi = quantize(x[:100], im.input_tensors[0]).reshape(100, 49, 10, 1)
    ours = run(im, xi).output
    np.testing.assert_array_equal(LiteRTEngine(result.tflite_path).run(xi), ours)
    ours_micro = run(intmodel_from_tflite(result.tflite_path, "tflite_micro"), xi).output
    np.testing.assert_array_equal(TFLMEngine(result.tflite_path).run(xi), ours_micro)
