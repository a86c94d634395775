"""The "c-host" ModelRunner: generated C compiled on the host, through the one way to run
a model, gives the reference runner's outputs in both arithmetics and both C paths."""

from __future__ import annotations

import numpy as np
import pytest

from c_cases import zoo_quantized
from tinykws.errors import ConfigError, ModelFormatError
from tinykws.eval.runner import open_runner, runner_names
from tinykws.export.tflite import export_tflite

LABELS = [f"word{i}" for i in range(12)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q")
    export_tflite(zoo_quantized("tiny_conv"), folder / "model.tflite", {"kind": "mlperf_mfcc"}, LABELS, arena=False)
    return folder


@pytest.mark.parametrize("arithmetic, dsp", [("tflite_micro", "portable"), ("tflite_micro", "emulated"),
                                             ("litert_ref", "portable")])
def test_c_host_runner_equals_reference(exported, arithmetic, dsp):
    assert "c-host" in runner_names()
    with open_runner("reference", exported, arithmetic=arithmetic) as reference:
        t = reference.intmodel.input_tensors[0]
        x = np.random.default_rng(4).normal(size=(9, *t.shape[1:])) * 3
        inputs = np.clip(np.round(x / t.scale) + t.zero_point, -128, 127).astype(np.int8)
        expected = reference.run(inputs)
    with open_runner("c-host", exported, arithmetic=arithmetic, dsp=dsp) as runner:
        assert runner.info.runtime == "c-host" and runner.info.arithmetic == arithmetic
        assert list(runner.info.labels) == LABELS and runner.info.facts["arena_bytes"] > 0
        outputs = runner.run(inputs)
    assert outputs.dtype == np.int8 and np.array_equal(outputs, expected)


def test_c_host_runner_errors(exported, tmp_path):
    with pytest.raises(ConfigError, match="C path"):
        open_runner("c-host", exported, dsp="neon")
    with pytest.raises(ModelFormatError, match="no such .tflite"):
        open_runner("c-host", tmp_path / "missing.tflite")
