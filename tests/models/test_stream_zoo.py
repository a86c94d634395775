"""Every streaming claim of the model table, proven: the streaming model's outputs on a long
input equal the clip model's outputs on the corresponding sliding windows (float to 1e-5;
int8 bit for bit in the numpy runtime, LiteRT's reference kernels and TFLite Micro), and a
model that cannot stream exactly is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinykws.export import LiteRTEngine, TFLMEngine
from tinykws.formats.tflite_reader import parse_tflite
from tinykws.formats.tflite_writer import tflite_bytes, write_tflite
from tinykws.intmodel import intmodel_from_tflite, quantize, run
from tinykws.intmodel.from_quantized import tflite_model_from_quantized
from tinykws.models import model_info, model_names
from tinykws.quant import quantize_ptq
from tinykws.stream.crnn import CRNNStreamStep
from tinykws.stream.float_step import FloatStreamStep
from tinykws.stream.plan import StreamRefusal
from tinykws.stream.tflite_step import streaming_step_tflite
from zoo_helpers import randomized_model

TIME_VALID = [n for n in model_names() if model_info(n).stream == "time_valid"]
WINDOW_ONLY = [n for n in model_names() if model_info(n).stream == "window"]
STREAM_FRAMES = 64  # 16 sliding windows of 49 frames


def _features(shape, frames=STREAM_FRAMES, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(frames, shape[1])) * 3).astype(np.float32)


def _windows(features: np.ndarray, frames: int) -> np.ndarray:
    return np.stack([features[s:s + frames] for s in range(len(features) - frames + 1)])


@pytest.mark.parametrize("name", TIME_VALID)
def test_float_stream_equals_sliding_windows(name):
    model = randomized_model(name, time_valid=True)
    step = FloatStreamStep.from_model(model)
    frames = step.input_frames
    x = _features(model.input_shape)
    state, outs = step.initial_state(), []
    for chunk in np.array_split(x, [1, 4, 9, 30]):  # steps of 1, 3, 5, 21 and 34 frames
        out, state = step.step(torch.from_numpy(chunk), state)
        outs.append(out)
    streamed = torch.cat(outs).numpy()
    with torch.no_grad():
        clip = model(torch.from_numpy(_windows(x, frames)).unsqueeze(1)).numpy()
    assert step.lag < frames
    np.testing.assert_allclose(streamed[step.lag:step.lag + len(clip)], clip, rtol=0, atol=1e-5)
    # the streamed rows before the lag depend on the zero initial state, not on a window
    assert len(streamed) - step.lag == len(clip) + (frames - 1 - step.lag)


def _int8_clip(model: nn.Module):
    shape = model.input_shape
    calib = (np.random.default_rng(5).normal(size=(6, *shape)) * 3).astype(np.float32)
    tfl = tflite_model_from_quantized(quantize_ptq(model, calib))
    return parse_tflite(tflite_bytes(tfl), "clip.tflite")


def _stream_int8(run_step, step, frames_q: np.ndarray) -> np.ndarray:
    n = step.frames_per_step
    states = [np.full(s, zp, np.int8) for s, zp in zip(step.state_shapes, step.state_zero_points)]
    rows = []
    for start in range(0, len(frames_q), n):
        outs = run_step([frames_q[start:start + n].reshape(1, n, -1, 1), *states])
        rows.append(np.asarray(outs[0]).reshape(n, -1))
        states = [np.asarray(o) for o in outs[1:]]
    return np.concatenate(rows)


@pytest.mark.parametrize("name", [n for n in TIME_VALID if model_info(n).quantizable])
def test_int8_step_is_bit_exact_on_every_engine(name, tmp_path):
    model = randomized_model(name, time_valid=True)
    clip = _int8_clip(model)
    frames = clip.main.tensors[clip.main.inputs[0]].shape[1]
    x = _features(model.input_shape, seed=1)
    clip_ref = intmodel_from_tflite(clip)
    xq = quantize(x, clip_ref.input_tensors[0]).reshape(len(x), -1)
    expected = {arith: run(intmodel_from_tflite(clip, arith), _windows(xq, frames)[..., None]).output
                for arith in ("litert_ref", "tflite_micro")}
    for n in (1, 4):
        step = streaming_step_tflite(clip, frames_per_step=n)
        lag, count = step.lag, len(expected["litert_ref"])
        for arith in ("litert_ref", "tflite_micro"):
            im = intmodel_from_tflite(step.model, arith)
            got = _stream_int8(lambda xs: run(im, xs).outputs, step, xq)
            np.testing.assert_array_equal(got[lag:lag + count], expected[arith])
    step = streaming_step_tflite(clip, frames_per_step=1)
    path = tmp_path / "step.tflite"
    write_tflite(step.model, path)
    litert = _stream_int8(LiteRTEngine(path).run_all, step, xq)
    np.testing.assert_array_equal(litert[lag:lag + count], expected["litert_ref"])
    tflm = _stream_int8(TFLMEngine(path).run_all, step, xq)
    np.testing.assert_array_equal(tflm[lag:lag + count], expected["tflite_micro"])


def test_crnn_streams_exactly_from_a_reset_and_approximately_with_carried_state():
    model = randomized_model("crnn_gru_att")
    frames = model.input_shape[0]
    x = torch.from_numpy(_features(model.input_shape, frames=90, seed=2))
    exact = CRNNStreamStep(model, "reset")
    state, outs = exact.initial_state(), []
    for chunk in torch.split(x[:frames], 7):
        out, state = exact.step(chunk, state)
        outs.append(out)
    streamed = torch.cat(outs)
    with torch.no_grad():
        prefixes = torch.cat([model(x[:t + 1].reshape(1, 1, t + 1, -1)) for t in (0, 10, frames - 1)])
    np.testing.assert_allclose(streamed[[0, 10, frames - 1]].numpy(), prefixes.numpy(), rtol=0, atol=1e-5)
    carry = CRNNStreamStep(model, "carry")
    state, outs = carry.initial_state(), []
    for chunk in torch.split(x, 5):
        out, state = carry.step(chunk, state)
        outs.append(out)
    carried = torch.cat(outs)[frames - 1:]
    with torch.no_grad():
        windows = model(torch.from_numpy(_windows(x.numpy(), frames)).unsqueeze(1))
    # the first full window is the clip model's (nothing carried yet); later ones are not
    np.testing.assert_allclose(carried[0].numpy(), windows[0].numpy(), rtol=0, atol=1e-5)
    assert (carried[1:] - windows[1:]).abs().max() > 1e-4


@pytest.mark.parametrize("name", WINDOW_ONLY + ["ds_cnn", "tiny_conv"])
def test_models_that_cannot_stream_exactly_are_refused_by_name(name):
    model = randomized_model(name)
    with pytest.raises(StreamRefusal, match=name):
        FloatStreamStep.from_model(model)


@pytest.mark.parametrize("name", ["ds_cnn", "tiny_conv"])
def test_causal_padding_is_refused_with_the_reason(name):
    with pytest.raises(StreamRefusal, match="causal padding.*time_valid=True"):
        FloatStreamStep.from_model(randomized_model(name, causal=True))
    clip = _int8_clip(randomized_model(name, causal=True))
    with pytest.raises(StreamRefusal, match="causal padding"):
        streaming_step_tflite(clip)


def test_int8_step_runs_bit_exact_in_generated_c(tmp_path):
    """The streaming step in the generated C on the host, its state fed back by a C harness
    (as firmware would), equals the clip model on every window (TFLite Micro arithmetic)."""
    from tinykws.codegen.runners import open_c_host_runner

    model = randomized_model("ds_cnn", time_valid=True)
    clip = _int8_clip(model)
    frames = clip.main.tensors[clip.main.inputs[0]].shape[1]
    x = _features(model.input_shape, seed=3)
    clip_micro = intmodel_from_tflite(clip, "tflite_micro")
    xq = quantize(x, clip_micro.input_tensors[0]).reshape(len(x), -1)
    expected = run(clip_micro, _windows(xq, frames)[..., None]).output
    step = streaming_step_tflite(clip)
    write_tflite(step.model, tmp_path / "step.tflite")
    runner = open_c_host_runner(tmp_path / "step.tflite", frontend="mlperf_mfcc", labels=[str(i) for i in range(12)])
    state = [np.full(s, zp, np.int8) for s, zp in zip(step.state_shapes, step.state_zero_points)]
    half = len(xq) // 2  # two calls: the state leaves the C process and comes back
    rows = []
    for part in (xq[:half], xq[half:]):
        outs, state = runner.run_steps([f.reshape(1, 1, -1, 1) for f in part], state)
        rows += [o.reshape(-1) for o in outs]
    np.testing.assert_array_equal(np.stack(rows)[step.lag:step.lag + len(expected)], expected)
