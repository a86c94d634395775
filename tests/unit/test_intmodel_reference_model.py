"""The MLPerf Tiny KWS reference int8 model, imported and run by tinykws, against LiteRT's
reference kernels and TFLite Micro (random inputs, every intermediate tensor, real clips).
The full 2,885-clip comparison is bench/ref_model_bitexact.py."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.intmodel import intmodel_from_tflite, quantize, run

litert = pytest.importorskip("ai_edge_litert.interpreter")
pytestmark = pytest.mark.shared

OUTPUT_INDEX = 34  # the softmax output of kws_ref_model.tflite


def _litert(model_path, preserve=False):
    interp = litert.Interpreter(model_path=str(model_path), num_threads=1,
                                experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
                                experimental_preserve_all_tensors=preserve)
    interp.allocate_tensors()
    return interp


def _tflm(model_path):
    runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
    return runtime.Interpreter.from_file(str(model_path))


def test_import_structure(ref_model_int8):
    model = intmodel_from_tflite(ref_model_int8)
    assert model.op_kinds == ("conv2d",) + ("depthwise_conv2d", "conv2d") * 4 + (
        "average_pool2d", "reshape", "fully_connected", "softmax")
    first = model.ops[0].params
    assert (first.geometry.out_h, first.geometry.out_w) == (25, 5)
    assert (first.geometry.pad_top, first.geometry.pad_left) == (4, 1)  # SAME, 10x4 filter, stride 2
    assert first.act_min == -128  # fused ReLU at zero point -128
    assert model.input_tensors[0].shape == (1, 49, 10, 1)
    assert model.input_tensors[0].zero_point == 83


def test_every_intermediate_tensor_matches_builtin_ref(ref_model_int8):
    model = intmodel_from_tflite(ref_model_int8)
    interp = _litert(ref_model_int8, preserve=True)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
        interp.set_tensor(0, x)
        interp.invoke()
        result = run(model, x, keep_intermediates=True)
        for op in model.ops:
            out = model.tensors[op.outputs[0]]
            expected = interp.get_tensor(op.outputs[0])
            np.testing.assert_array_equal(result.tensors[out.name].reshape(expected.shape), expected,
                                          err_msg=f"{op.kind} -> {out.name}")


def test_random_batch_matches_both_reference_engines(ref_model_int8):
    rng = np.random.default_rng(1)
    batch = rng.integers(-128, 128, (12, 49, 10, 1), dtype=np.int8)
    ours_ref = run(intmodel_from_tflite(ref_model_int8, arithmetic="litert_ref"), batch).output
    ours_micro = run(intmodel_from_tflite(ref_model_int8, arithmetic="tflite_micro"), batch).output
    interp, micro = _litert(ref_model_int8), _tflm(ref_model_int8)
    for i, x in enumerate(batch):
        interp.set_tensor(0, x[None])
        interp.invoke()
        np.testing.assert_array_equal(ours_ref[i], interp.get_tensor(OUTPUT_INDEX)[0])
        micro.set_input(x[None], 0)
        micro.invoke()
        np.testing.assert_array_equal(ours_micro[i], micro.get_output(0)[0])


def _features(paths):
    from tinykws.audio.frontends import build_frontend
    from tinykws.audio.io import load_audio

    fe = build_frontend("mlperf_mfcc")
    return np.stack([fe.compute(load_audio(p, fe.sample_rate, length=fe.clip_samples)) for p in paths])


def test_real_clips_match_and_classify(ref_model_int8, sc12_test_dev):
    labels = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes"]
    paths, truth = [], []
    for index, label in enumerate(labels):
        for p in sorted((sc12_test_dev / label).glob("*.flac"))[:2]:
            paths.append(p)
            truth.append(index)
    model = intmodel_from_tflite(ref_model_int8)
    inputs = quantize(_features(paths)[..., None], model.input_tensors[0])
    ours = run(model, inputs).output
    interp = _litert(ref_model_int8)
    for x, mine in zip(inputs, ours):
        interp.set_tensor(0, x[None])
        interp.invoke()
        np.testing.assert_array_equal(mine, interp.get_tensor(OUTPUT_INDEX)[0])
    assert np.mean(ours.argmax(axis=1) == np.array(truth)) >= 0.8


def test_clip_where_the_engines_disagree(ref_model_int8, sc12_test_dev):
    """go/0cb74144_nohash_1: the FULLY_CONNECTED rounding differs (1 LSB on 'go');
    each profile reproduces its own engine."""
    clip = sc12_test_dev / "go" / "0cb74144_nohash_1.flac"
    if not clip.exists():
        pytest.skip(f"{clip} is absent")
    ref_model = intmodel_from_tflite(ref_model_int8, arithmetic="litert_ref")
    micro_model = intmodel_from_tflite(ref_model_int8, arithmetic="tflite_micro")
    x = quantize(_features([clip])[..., None], ref_model.input_tensors[0])
    ours_ref, ours_micro = run(ref_model, x).output[0], run(micro_model, x).output[0]
    assert np.count_nonzero(ours_ref != ours_micro) >= 1
    interp = _litert(ref_model_int8)
    interp.set_tensor(0, x)
    interp.invoke()
    np.testing.assert_array_equal(ours_ref, interp.get_tensor(OUTPUT_INDEX)[0])
    micro = _tflm(ref_model_int8)
    micro.set_input(x, 0)
    micro.invoke()
    np.testing.assert_array_equal(ours_micro, micro.get_output(0)[0])
