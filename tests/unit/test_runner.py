"""The one way to run a model: the runtime registry (built-in, registered, entry points),
feeding inputs, reading outputs, and the same model giving the same outputs in every
runtime of its arithmetic."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch

from tinykws.errors import ConfigError
from tinykws.eval.runner import (
    BUILTIN_RUNNERS,
    ModelRunner,
    RunnerInfo,
    TensorSpec,
    identical_count,
    open_runner,
    output_scores,
    register_runner,
    run_batches,
    runner_inputs,
    runner_names,
    runner_options,
)
from tinykws.fixedpoint.primitives import quantize_real
from tinykws.models import build_model
from tinykws.quant import quantize_ptq

SMALL = dict(layers=[[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]])


def test_every_builtin_runtime_resolves_and_says_what_it_takes():
    assert {"torch", "fake-quant", "reference", "litert", "tflm"} <= set(runner_names())
    for name in BUILTIN_RUNNERS:
        assert isinstance(runner_options(name), tuple)
    assert "arithmetic" in runner_options("reference") and "kernels" in runner_options("litert")
    with pytest.raises(ConfigError, match="unknown runtime 'nope'"):
        open_runner("nope", "x.tflite")
    with pytest.raises(ConfigError, match="takes no option kernels"):
        open_runner("reference", "x.tflite", kernels="reference")


class _Doubler(ModelRunner):
    def __init__(self, labels):
        self.info = RunnerInfo("doubler", "doubles its input", "none", tuple(labels), {}, TensorSpec((2,), "float32"),
                               TensorSpec((2,), "float32"), "logits", "float32")

    def run(self, inputs):
        return 2 * np.asarray(inputs)


def test_a_registered_runtime_is_opened_by_name():
    register_runner("doubler", lambda model, labels=("a", "b"): _Doubler(labels))
    with open_runner("doubler", None, labels=("x", "y")) as runner:
        assert runner.info.labels == ("x", "y")
        out = run_batches(runner, np.arange(10, dtype=np.float32).reshape(5, 2), batch_size=2)
    np.testing.assert_array_equal(out, 2 * np.arange(10).reshape(5, 2))
    assert "doubler" in runner_names()


def test_a_third_party_runtime_is_found_through_its_entry_point(tmp_path, monkeypatch):
    (tmp_path / "tkws_plugin_mod.py").write_text(textwrap.dedent("""
        def open_plugin(model, scale=1.0):
            raise RuntimeError(f"plugin opened {model} at scale {scale}")
    """))
    dist = tmp_path / "tkws_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tkws-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tinykws.runners]\nplugin = tkws_plugin_mod:open_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugin" in runner_names() and runner_options("plugin") == ("scale",)
    with pytest.raises(RuntimeError, match="plugin opened m at scale 2"):
        open_runner("plugin", "m", scale=2)
    sys.modules.pop("tkws_plugin_mod", None)


def test_inputs_are_quantized_as_tflite_quantize_and_shape_checked():
    features = np.random.default_rng(0).normal(size=(3, 49, 10)).astype(np.float32) * 5
    spec = TensorSpec((49, 10, 1), "int8", 0.07, -3)
    x = runner_inputs(features, spec)
    assert x.shape == (3, 49, 10, 1) and x.dtype == np.int8
    np.testing.assert_array_equal(x[..., 0], quantize_real(features, 0.07, -3))
    assert runner_inputs(features, TensorSpec((49, 10), "float32")).dtype == np.float32
    with pytest.raises(ConfigError, match="49x10 features but the model input is 40x101"):
        runner_inputs(features, TensorSpec((40, 101), "float32"), "m")


def test_outputs_become_probabilities():
    logits = RunnerInfo("t", "", "m", ("a", "b"), {}, TensorSpec((2,), "float32"), TensorSpec((2,), "float32"),
                        "logits", "float32")
    p = output_scores(np.array([[0.0, np.log(3.0)]]), logits)
    np.testing.assert_allclose(p, [[0.25, 0.75]])
    probs = RunnerInfo("t", "", "m", ("a", "b"), {}, TensorSpec((2,), "int8", 1 / 256, -128),
                       TensorSpec((2,), "int8", 1 / 256, -128), "probabilities", "litert_ref")
    np.testing.assert_allclose(output_scores(np.array([[-128, 127]], np.int8), probs), [[0.0, 255 / 256]])
    assert identical_count(np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 6]])) == (1, 2)


def test_one_model_in_every_runtime(tmp_path):
    """A quantized model: the float runtime, its simulation, the numpy runtime in memory and
    from the written file, LiteRT and TFLite Micro, all opened and run the same way."""
    from tinykws.export import export_tflite
    from tinykws.intmodel.from_quantized import intmodel_from_quantized

    torch.manual_seed(0)
    model = build_model("ds_cnn", **SMALL).eval()
    rng = np.random.default_rng(1)
    features = (rng.normal(size=(12, 49, 10)) * 4).astype(np.float32)
    qmodel = quantize_ptq(model, features[:6])
    labels = [str(i) for i in range(12)]
    fe = {"kind": "test"}
    path = export_tflite(qmodel, tmp_path / "m.tflite", fe, labels, arena=False).tflite_path
    outputs = {}
    for name, target, options in [
        ("reference", path, {}), ("reference", path, {"arithmetic": "tflite_micro"}),
        ("reference", intmodel_from_quantized(qmodel), {"frontend": fe, "labels": labels}),
        ("litert", path, {}), ("tflm", path, {}),
    ]:
        with open_runner(name, target, **options) as runner:
            assert runner.info.labels == tuple(labels) and runner.info.output_kind == "probabilities"
            key = f"{name}/{options.get('arithmetic', runner.info.arithmetic)}/{type(target).__name__}"
            outputs[key] = run_batches(runner, runner_inputs(features, runner.info.input))
    ref = outputs["reference/litert_ref/PosixPath"]
    assert len(np.unique(ref, axis=0)) > 6  # input-dependent outputs
    np.testing.assert_array_equal(outputs["reference/litert_ref/IntModel"], ref)
    np.testing.assert_array_equal(outputs["litert/litert_ref/PosixPath"], ref)
    np.testing.assert_array_equal(outputs["tflm/tflite_micro/PosixPath"], outputs["reference/tflite_micro/PosixPath"])
    with open_runner("torch", model, labels=labels, frontend=fe) as runner:
        assert runner.info.output_kind == "logits"
        float_top1 = output_scores(run_batches(runner, features), runner.info).argmax(1)
    with open_runner("fake-quant", qmodel, labels=labels, frontend=fe) as runner:
        sim = output_scores(run_batches(runner, features), runner.info)
    assert np.mean(sim.argmax(1) == ref.argmax(1)) >= 0.9 and np.mean(float_top1 == ref.argmax(1)) >= 0.75
