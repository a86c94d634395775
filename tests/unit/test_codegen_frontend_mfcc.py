"""The generated C MFCC (float32) against the numpy MFCC (float64): the int8 features the
network sees differ by at most 1 LSB, on at most 0.5 % of the values, and the float
features agree to float32 accuracy.

Generated periodic signals (tones, a chirp, a square wave) are the exception to the 0.5 %
and to float32 accuracy: with no noise floor, mel bands 150 dB or more below a frame's
strongest bin hold only round-off (numpy's own float32 rfft gives errors of the same size),
so their logs differ and more values move by 1 LSB. Recorded audio has a noise floor far
above that."""

from __future__ import annotations

import numpy as np
import pytest

from codegen_frontend_support import REF_QUANT, HostBuilds, generated_clips, real_clips, to_float
from tinykws.audio.frontends import build_frontend
from tinykws.codegen.frontends.host import run_host_features
from tinykws.codegen.frontends.quantize import input_quant

GENERATED = generated_clips()
PERIODIC = ("tone_440", "tone_3k_quiet", "two_tones", "chirp", "full_scale_square")
WITH_NOISE_FLOOR = sorted(set(GENERATED) - set(PERIODIC))
MAX_DIFFERING = 0.005  # fraction of int8 values allowed to differ (by 1 LSB)


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> HostBuilds:
    return HostBuilds(tmp_path_factory.mktemp("mfcc_c"))


def _compare(builds, spec, pcm: np.ndarray, quant=REF_QUANT) -> tuple[np.ndarray, np.ndarray]:
    """(C float - numpy float, C int8 - numpy int8) for clips cut or padded to 1 s."""
    frontend = build_frontend(spec)
    build = builds.get(spec, quant)
    x = to_float(pcm[:, :frontend.clip_samples])
    want = frontend.compute_batch(np.pad(x, ((0, 0), (0, frontend.clip_samples - x.shape[1]))))
    got = run_host_features(build, pcm, raw=True)
    assert got.dtype == np.float32 and got.shape == want.shape
    got_i8 = run_host_features(build, pcm)
    want_i8 = input_quant(quant).quantize(want)
    return got - want, got_i8.astype(np.int64) - want_i8.astype(np.int64)


def _assert_close(float_diff: np.ndarray, int_diff: np.ndarray, tolerance: float) -> None:
    assert np.abs(float_diff).max() < tolerance
    assert np.abs(int_diff).max() <= 1
    assert np.count_nonzero(int_diff) <= MAX_DIFFERING * int_diff.size


@pytest.mark.parametrize("name", WITH_NOISE_FLOOR)
def test_generated_audio_within_one_lsb(builds, name: str) -> None:
    _assert_close(*_compare(builds, "mlperf_mfcc", GENERATED[name][None]), 1e-3)


@pytest.mark.parametrize("name", PERIODIC)
def test_periodic_signals_within_one_lsb(builds, name: str) -> None:
    float_diff, int_diff = _compare(builds, "mlperf_mfcc", GENERATED[name][None])
    assert np.abs(float_diff).max() < 0.05
    assert np.abs(int_diff).max() <= 1


def test_digital_silence_is_exact(builds) -> None:
    # every band is log(0 + 1e-6): the C float result rounds to the numpy one
    _, int_diff = _compare(builds, "mlperf_mfcc", GENERATED["silence"][None])
    assert not np.any(int_diff)


@pytest.mark.parametrize("length", [0, 480, 9000, 16001, 24000])
def test_short_and_long_clips(builds, length: int) -> None:
    rng = np.random.default_rng(length)
    pcm = (rng.standard_normal((2, length)) * 3000).astype(np.int16)
    _assert_close(*_compare(builds, "mlperf_mfcc", pcm), 1e-3)


@pytest.mark.parametrize(
    "overrides",
    [
        {"fft_length": 1024, "window_samples": 640, "stride_samples": 160},  # 512 complex points: radix 2 first
        {"dct_norm": "ortho", "num_coeffs": 13, "num_mel_bins": 32, "upper_hz": 7600.0},
        {"peak_normalize": False, "log_offset": 1e-3},  # the clip stays s / 32768
        {"fft_length": 256, "window_samples": 256, "stride_samples": 128, "num_mel_bins": 20},
    ],
    ids=["fft1024", "ortho_dct", "no_peak", "fft256"],
)
def test_other_configurations(builds, overrides: dict) -> None:
    spec = build_frontend("mlperf_mfcc", **overrides).to_dict()
    pcm = np.stack([GENERATED[n] for n in WITH_NOISE_FLOOR])
    _assert_close(*_compare(builds, spec, pcm), 1e-3)


@pytest.mark.shared
def test_real_speech_element_statistics(builds, sc12_test_dev) -> None:
    float_diff, int_diff = _compare(builds, "mlperf_mfcc", real_clips(sc12_test_dev, per_class=5))
    _assert_close(float_diff, int_diff, 1e-3)
