"""The MFCC front-end against independent computations of the MLPerf Tiny reference spec."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from tinykws.audio.frontends import build_frontend
from tinykws.audio.frontends.spectral import dct_ii_matrix, tf_mel_matrix
from tinykws.errors import AudioError, ConfigError

SR = 16000
REPO = Path(__file__).resolve().parents[2]


def _tone(freq_hz: float, n: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(n) / SR
    return (amplitude * np.sin(2 * math.pi * freq_hz * t)).astype(np.float32)


def _speechlike(seed: int = 0, n: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 120 + 80 * t
    voiced = sum(np.sin(2 * math.pi * k * np.cumsum(f0) / SR) / k for k in range(1, 12))
    envelope = np.exp(-((t - 0.5) ** 2) / 0.02)
    return (0.3 * voiced * envelope + 0.01 * rng.normal(size=n)).astype(np.float32)


def _htk_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)  # the textbook form of 1127 ln(1 + f/700)


def _reference_mel_weights(num_mel=40, n_fft=512, lo=20.0, hi=4000.0) -> np.ndarray:
    """Element by element from the TensorFlow linear_to_mel_weight_matrix definition."""
    bins = n_fft // 2 + 1
    step = (_htk_mel(hi) - _htk_mel(lo)) / (num_mel + 1)
    w = np.zeros((bins, num_mel))
    for j in range(1, bins):  # DC gets no weight
        m = _htk_mel(j * (SR / 2) / (bins - 1))
        for b in range(num_mel):
            left = _htk_mel(lo) + b * step
            centre, right = left + step, left + 2 * step
            if left < m <= centre:
                w[j, b] = (m - left) / step
            elif centre < m < right:
                w[j, b] = (right - m) / step
    return w


def _reference_mfcc(x: np.ndarray) -> np.ndarray:
    """A slow, loop-based MLPerf MFCC written from the published steps (not from tinykws)."""
    x = np.asarray(x, dtype=np.float64)
    x = np.concatenate([x / x.max(), np.zeros(max(0, SR - len(x)))])
    weights = _reference_mel_weights()
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * i / 480) for i in range(480)])
    rows = []
    for start in range(0, len(x) - 480 + 1, 320):
        frame = np.zeros(512)
        frame[:480] = x[start : start + 480] * hann
        magnitude = np.abs(np.fft.fft(frame))[:257]
        log_mel = np.log(magnitude @ weights + 1e-6)
        coeffs = [
            2 * sum(log_mel[n] * math.cos(math.pi * k * (2 * n + 1) / 80) for n in range(40)) / math.sqrt(80)
            for k in range(10)
        ]
        rows.append(coeffs)
    return np.array(rows)


@pytest.fixture(scope="module")
def mfcc():
    return build_frontend("mlperf_mfcc")


def test_preset_is_the_mlperf_spec(mfcc):
    c = mfcc.config
    assert (c.window_samples, c.stride_samples, c.fft_length) == (480, 320, 512)
    assert (c.num_mel_bins, c.lower_hz, c.upper_hz, c.num_coeffs, c.log_offset) == (40, 20.0, 4000.0, 10, 1e-6)
    assert c.peak_normalize and c.dct_norm == "tf"
    assert mfcc.output_shape == (49, 10)
    assert mfcc.compute(_speechlike()).shape == (49, 10)


def test_mel_matrix_matches_closed_form(mfcc):
    ours = mfcc.pipeline.mel_matrix
    expected = _reference_mel_weights()
    assert ours.shape == (257, 40)
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    assert np.all(ours[0] == 0)
    assert np.all(ours.max(axis=0) <= 1.0) and np.all(ours.max(axis=0) > 0.4)


@pytest.mark.parametrize("freq", [250.0, 1000.0, 2500.0])
def test_pure_tone_lands_in_its_mel_band(mfcc, freq):
    log_mel_only = dataclasses.replace(mfcc.pipeline, dct_matrix=None)
    log_mel = log_mel_only.run_numpy(_tone(freq)[None])[0]
    step = (_htk_mel(4000) - _htk_mel(20)) / 41
    centres_hz = [700 * (10 ** ((_htk_mel(20) + (b + 1) * step) / 2595) - 1) for b in range(40)]
    expected = int(np.argmin([abs(c - freq) for c in centres_hz]))
    assert np.all(log_mel.argmax(axis=1) == expected)


def test_dct_tf_scaling_and_orthogonality():
    d = dct_ii_matrix(40, 40, "tf")
    np.testing.assert_allclose(d.T @ d, np.diag([2.0] + [1.0] * 39), atol=1e-12)
    x = np.random.default_rng(1).normal(size=(5, 40))
    np.testing.assert_allclose(x @ d[:, :10], scipy.fft.dct(x, type=2, norm=None)[:, :10] / math.sqrt(80), atol=1e-12)
    ortho = dct_ii_matrix(40, 40, "ortho")
    np.testing.assert_allclose(ortho.T @ ortho, np.eye(40), atol=1e-12)
    np.testing.assert_allclose(x @ ortho, scipy.fft.dct(x, type=2, norm="ortho"), atol=1e-12)


def test_whole_pipeline_matches_a_loop_implementation(mfcc):
    x = _speechlike(3)[:15000]  # shorter than a clip: zero-padded at the end
    np.testing.assert_allclose(mfcc.compute(x), _reference_mfcc(x), rtol=1e-4, atol=2e-4)


def test_normalises_by_max_not_abs_max(mfcc):
    x = _speechlike(4)
    x = x - 0.6 * x.max()  # now max(x) is much smaller than max|x|
    assert x.max() < 0.5 * np.abs(x).max()
    np.testing.assert_allclose(mfcc.compute(x), _reference_mfcc(x), rtol=1e-4, atol=2e-4)
    wrong = build_frontend("mlperf_mfcc", peak_normalize=False).compute(x / np.abs(x).max())
    assert np.abs(mfcc.compute(x) - wrong).max() > 0.5
    np.testing.assert_allclose(mfcc.compute(3.0 * x), mfcc.compute(x), atol=1e-4)


def test_degenerate_clips_give_finite_features(mfcc):
    zeros = mfcc.compute(np.zeros(SR, np.float32))
    np.testing.assert_allclose(zeros[:, 0], math.log(1e-6) * 2 * 40 / math.sqrt(80), rtol=1e-6)
    np.testing.assert_allclose(zeros[:, 1:], 0.0, atol=1e-4)  # a constant has no higher DCT terms
    assert np.all(np.isfinite(mfcc.compute(-np.abs(_speechlike(5)) - 0.01)))
    with pytest.raises(AudioError):
        mfcc.compute(np.full(SR, np.nan, np.float32))
    with pytest.raises(ValueError):
        mfcc.compute(np.zeros((2, SR), np.float32))


def test_lengths(mfcc):
    x = _speechlike(6)
    np.testing.assert_array_equal(mfcc.compute(x[:9000]), mfcc.compute(np.pad(x[:9000], (0, SR - 9000))))
    assert mfcc.num_frames(100) == 49
    assert mfcc.num_frames(32000) == 1 + (32000 - 480) // 320
    long = mfcc.compute(np.concatenate([x, x]))
    assert long.shape == (mfcc.num_frames(32000), 10)
    # same peak, and the first 49 frames only see the first copy
    np.testing.assert_allclose(long[:49], mfcc.compute(x), atol=1e-5)


@pytest.mark.parametrize(
    "override",
    [
        {"num_coeffs": 41},
        {"upper_hz": 9000.0},
        {"lower_hz": 4000.0},
        {"window_samples": 600},
        {"clip_samples": 100},
        {"stride_samples": 0},
        {"log_offset": 0.0},
        {"dct_norm": "nope"},
        {"num_mel_bins": 200},  # narrow bands below 100 Hz that hold no FFT bin
    ],
)
def test_impossible_settings_raise_config_error(override):
    with pytest.raises(ConfigError):
        build_frontend("mlperf_mfcc", **override)


def test_tf_mel_matrix_is_librosa_shaped_within_triangle_rounding():
    # librosa's HTK bank has the same edges, but triangles linear in Hz instead of mel:
    # the two agree at every band's edges and peak and differ only slightly in between.
    librosa = pytest.importorskip("librosa")
    ours = tf_mel_matrix(40, 512, SR, 20.0, 4000.0)
    theirs = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, fmin=20.0, fmax=4000.0, htk=True, norm=None).T
    assert np.abs(ours - theirs).max() < 0.01
    np.testing.assert_array_equal(ours.argmax(axis=0), theirs.argmax(axis=0))


# --- against the real reference model (needs ../shared) ----------------------------------------
@pytest.mark.shared
def test_reference_int8_model_is_accurate_on_our_features(sc12_test_dev, ref_model_int8, tmp_path):
    from tinykws.eval.evaluate import evaluate_folder

    subset = tmp_path / "sc12_subset"  # the first 10 clips of each class
    for folder in sorted(p for p in sc12_test_dev.iterdir() if p.is_dir()):
        (subset / folder.name).mkdir(parents=True)
        for clip in sorted(folder.iterdir())[:10]:
            (subset / folder.name / clip.name).symlink_to(clip)
    result = evaluate_folder(ref_model_int8, subset, "litert").result
    # 91.0 % on all 2,885 clips; a wrong front-end (e.g. max|x| scaling, no DC zeroing, another
    # DCT scale) drops well below.
    assert result.num_clips == 120
    assert result.top1 >= 105 / 120, f"top-1 {result.top1}; per class {result.per_class_accuracy}"
