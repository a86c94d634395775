"""The generated C microfrontend is bit-exact with the numpy microfrontend (uint16 features),
and its int8 output equals the numpy path's quantized float features, on every preset,
on configurations that take its other code paths, and on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from codegen_frontend_support import REF_QUANT, HostBuilds, generated_clips, real_clips, to_float
from tinykws.audio.frontends import build_frontend
from tinykws.codegen.frontends.host import run_host_features
from tinykws.codegen.frontends.quantize import input_quant, quantize_by_thresholds, uint16_thresholds

PRESETS = ("mltk_kws", "micro_speech", "mww_40")
GENERATED = generated_clips()


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> HostBuilds:
    return HostBuilds(tmp_path_factory.mktemp("micro_c"))


def _numpy(frontend, pcm: np.ndarray, quant=REF_QUANT) -> tuple[np.ndarray, np.ndarray]:
    """(uint16, int8) features of the numpy path for clips cut or padded to the clip length."""
    n = frontend.clip_samples
    x = to_float(pcm[:, :n])
    return frontend.features_uint16(x), input_quant(quant).quantize(frontend.compute_batch(x))


def _assert_same(builds, spec, pcm, quant=REF_QUANT) -> None:
    frontend = build_frontend(spec)
    build = builds.get(spec, quant)
    want_u16, want_i8 = _numpy(frontend, pcm, quant)
    got_u16 = run_host_features(build, pcm, raw=True)
    assert got_u16.dtype == np.uint16 and got_u16.shape == want_u16.shape
    assert np.array_equal(got_u16, want_u16)
    assert np.array_equal(run_host_features(build, pcm), want_i8)


@pytest.mark.parametrize("preset", PRESETS)
def test_generated_audio_bit_exact(builds, preset: str) -> None:
    _assert_same(builds, preset, np.stack(list(GENERATED.values())))


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("length", [0, 479, 480, 7777, 24000])
def test_short_and_long_clips(builds, preset: str, length: int) -> None:
    # shorter clips are zero-padded, longer ones cut, as extract_features does
    rng = np.random.default_rng(length)
    pcm = (rng.standard_normal((2, length)) * 6000).astype(np.int16)
    _assert_same(builds, preset, pcm)


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # library defaults: 25 ms window, 32 channels, PCAN off
        {"pcan": True, "log_scale": False},  # values past 65535 saturate
        {"noise_reduction": False, "pcan": True},  # PCAN on a zero noise estimate
        {"window_ms": 64, "stride_ms": 32, "num_channels": 20},  # 1024-point FFT: a radix-2 stage
        {"window_ms": 16, "stride_ms": 8, "upper_band_hz": 6000.0},  # 256-point FFT: radix 2 again
        {"window_ms": 2, "stride_ms": 2, "num_channels": 6, "lower_band_hz": 300.0},  # 32 points: log shifts right
        {"log_scale_shift": 10, "noise_smoothing_bits": 5, "output_scale": 0.25},
    ],
    ids=["defaults", "no_log", "no_noise_reduction", "fft1024", "fft256", "fft32", "shifts"],
)
def test_other_configurations_bit_exact(builds, overrides: dict) -> None:
    spec = build_frontend("microfrontend", **overrides).to_dict()
    _assert_same(builds, spec, np.stack(list(GENERATED.values())))


@pytest.mark.parametrize("quant", [(0.05, -128), (1.7, 3), (1e-3, 0)])
def test_other_input_quantizations(builds, quant) -> None:
    _assert_same(builds, "mltk_kws", np.stack(list(GENERATED.values())[:6]), quant)


@pytest.mark.parametrize("quant", [REF_QUANT, (0.05, -128), (0.0390625, 0), (3.0, 127), (1e-4, -5)])
def test_thresholds_reproduce_quantize_for_every_uint16(quant) -> None:
    q = input_quant(quant)
    u = np.arange(65536)
    features = (u.astype(np.float32) * np.float32(0.0390625)).astype(np.float32)
    q_min, thresholds = uint16_thresholds(0.0390625, q)
    assert np.array_equal(quantize_by_thresholds(u, q_min, thresholds), q.quantize(features))


@pytest.mark.shared
@pytest.mark.parametrize("preset", PRESETS)
def test_real_speech_bit_exact(builds, sc12_test_dev, preset: str) -> None:
    _assert_same(builds, preset, real_clips(sc12_test_dev, per_class=2))
