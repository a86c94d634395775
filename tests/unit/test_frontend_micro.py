"""The microfrontend against the C original (pymicro-features), and its front-end API.

pymicro-features wraps TFLite Micro's C front-end with the microWakeWord settings (30 ms
window, 10 ms step, 40 channels, 125-7500 Hz, noise reduction, PCAN, log scale 6). Its
`process_samples` consumes exactly 160 samples (one 10 ms step) per call, needs at least
that many, returns at most one frame, and keeps its state between calls; so each clip is
fed to a fresh instance in 160-sample chunks, which yields the frames at offsets 0, 160,
320, ... once 480 samples have arrived: the same frames as one call on the whole clip.
Its floats are uint16 * 0.0390625, exactly representable, so integers are compared.
"""

from __future__ import annotations

import numpy as np
import pytest

from datagen import frontend_signals
from tinykws.audio.frontends import build_frontend, frontend_from_dict
from tinykws.audio.frontends.microfrontend import (
    MWW_FLOAT_SCALE,
    MicroFrontendConfig,
    float_to_int16,
    microfrontend_int16,
)
from tinykws.errors import AudioError, ConfigError

pymicro = pytest.importorskip("pymicro_features")

SR = 16000
CHUNK = 160


def c_frontend_uint16(samples: np.ndarray) -> np.ndarray:
    """Features of one clip from a fresh C front-end, (frames, 40) as integers."""
    frontend = pymicro.MicroFrontend()
    frames = []
    for start in range(0, len(samples) - CHUNK + 1, CHUNK):
        out = frontend.process_samples(samples[start:start + CHUNK].tobytes())
        assert out.samples_read == CHUNK
        if out.features:
            frames.append(out.features)
    values = np.array(frames, dtype=np.float64).reshape(-1, 40) / MWW_FLOAT_SCALE
    assert np.array_equal(values, np.round(values))  # the floats are exact multiples
    return values.astype(np.int64)


def _generated_clips() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    clips = frontend_signals(rng)
    # several lengths: exactly one window, one sample more, not a multiple of the step, 1.5 s
    clips["len_480"] = rng.standard_normal(480) * 0.3
    clips["len_640"] = rng.standard_normal(640) * 0.3
    clips["len_7777"] = np.sin(2 * np.pi * 700 * np.arange(7777) / SR) * 0.4
    clips["len_24000_speechlike"] = (
        np.sin(2 * np.pi * 180 * np.arange(24000) / SR) * np.abs(np.sin(np.arange(24000) / 900.0)) * 0.7
        + 0.01 * rng.standard_normal(24000)
    )
    return clips


GENERATED = _generated_clips()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_mww_40_matches_c_frontend_exactly(name: str) -> None:
    samples = float_to_int16(GENERATED[name])
    config = build_frontend("mww_40").config
    ours = microfrontend_int16(samples, config).astype(np.int64)
    usable = len(samples) - len(samples) % CHUNK  # the C wrapper only takes whole 10 ms steps
    reference = c_frontend_uint16(samples[:usable])
    assert ours[: len(reference)].shape == reference.shape
    np.testing.assert_array_equal(ours[: len(reference)], reference)


def test_mww_40_float_output_equals_c_floats() -> None:
    fe = build_frontend("mww_40")
    clip = GENERATED["chirp"]
    frontend = pymicro.MicroFrontend()
    samples = float_to_int16(clip)
    floats = [frontend.process_samples(samples[s:s + CHUNK].tobytes()).features for s in range(0, SR, CHUNK)]
    reference = np.array([f for f in floats if f], dtype=np.float32)
    np.testing.assert_array_equal(fe.compute(clip), reference)


@pytest.mark.shared
def test_mww_40_matches_c_frontend_on_real_speech(sc12_test_dev) -> None:
    sf = pytest.importorskip("soundfile")
    files = sorted(sc12_test_dev.glob("*/*.flac"))
    assert len(files) >= 20
    picked = files[:: len(files) // 20][:20]
    config = build_frontend("mww_40").config
    for path in picked:
        samples, rate = sf.read(path, dtype="int16")
        assert rate == SR
        usable = len(samples) - len(samples) % CHUNK
        ours = microfrontend_int16(samples[:usable], config).astype(np.int64)
        np.testing.assert_array_equal(ours, c_frontend_uint16(samples[:usable]), err_msg=str(path))


def test_presets_and_shapes() -> None:
    assert build_frontend("mww_40").output_shape == (98, 40)
    assert build_frontend("micro_speech").output_shape == (49, 40)
    assert build_frontend("mltk_kws").output_shape == (49, 10)
    mltk = build_frontend("mltk_kws").config
    assert (mltk.window_samples, mltk.stride_samples, mltk.fft_size) == (480, 320, 512)
    assert (mltk.upper_band_hz, mltk.pcan, mltk.noise_reduction) == (4000.0, False, True)


def test_to_dict_round_trip_and_cache_key() -> None:
    fe = build_frontend("mww_40")
    again = frontend_from_dict(fe.to_dict())
    assert again.to_dict() == fe.to_dict()
    assert build_frontend("mww_40", num_channels=20).cache_key() != fe.cache_key()


def test_compute_pads_short_clips_and_batch_equals_single() -> None:
    fe = build_frontend("mltk_kws")
    rng = np.random.default_rng(5)
    clips = rng.uniform(-0.5, 0.5, (3, SR)).astype(np.float32)
    batch = fe.compute_batch(clips)
    assert batch.shape == (3, 49, 10) and batch.dtype == np.float32
    for i in range(3):
        np.testing.assert_array_equal(batch[i], fe.compute(clips[i]))
    short = fe.compute(clips[0, :8000])
    padded = fe.compute(np.concatenate([clips[0, :8000], np.zeros(8000, np.float32)]))
    np.testing.assert_array_equal(short, padded)


def test_float_to_int16_rule() -> None:
    original = np.array([-32768, -1, 0, 1, 12345, 32767], np.int16)
    np.testing.assert_array_equal(float_to_int16(original / 32768.0), original)
    np.testing.assert_array_equal(float_to_int16(np.array([1.0, -1.5, 0.5 / 32768])), [32767, -32768, 0])
    with pytest.raises(AudioError, match="NaN"):
        float_to_int16(np.array([0.0, np.nan]))


def test_torch_module_equals_numpy() -> None:
    torch = pytest.importorskip("torch")
    fe = build_frontend("mww_40")
    rng = np.random.default_rng(9)
    clips = (rng.standard_normal((4, SR)) * rng.uniform(0.01, 0.4, (4, 1))).astype(np.float32)
    with torch.no_grad():
        out = fe.torch_module()(torch.from_numpy(clips))
    assert out.dtype == torch.float32 and tuple(out.shape) == (4, 98, 40)
    np.testing.assert_array_equal(out.numpy(), fe.compute_batch(clips))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"stride_ms": 40}, "stride"),
        ({"upper_band_hz": 9000.0}, "Nyquist"),
        ({"lower_band_hz": 5000.0, "upper_band_hz": 4000.0}, "lower_band_hz"),
        ({"num_channels": 0}, "num_channels"),
        ({"upper_band_hz": 8000.0}, "filterbank reaches FFT bin"),
        ({"window_ms": 0}, "window_ms"),
        ({"clip_samples": 100}, "clip_samples"),
        ({"noise_even_smoothing": 1.5}, "noise_even_smoothing"),
        ({"pcan": True, "pcan_gain_bits": 8}, "pcan_gain_bits"),
        ({"log_scale_shift": 20}, "log_scale_shift"),
        ({"output_scale": 0.0}, "output_scale"),
    ],
)
def test_invalid_configs_raise_config_error(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_frontend("mww_40", **overrides)


def test_unknown_key_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        frontend_from_dict({"kind": "microfrontend", "window_size": 30})


def test_raw_path_rejects_float_input() -> None:
    with pytest.raises(ValueError, match="int16"):
        microfrontend_int16(np.zeros(1000, np.float32), MicroFrontendConfig())


def test_without_a_c_math_library_the_tables_fall_back_visibly(monkeypatch, tmp_path):
    """The fallback to correctly rounded math (one LSB away from the C front-end on some
    tables) warns once and is recorded beside the features, never silently."""
    import warnings

    from tinykws.audio.features import extract_features
    from tinykws.audio.frontends import build_frontend
    from tinykws.audio.frontends.micro import libm
    from tinykws.audio.frontends.microfrontend import _plan
    from tinykws.audio.io import write_wav

    assert build_frontend("mww_40").provenance() == {"table_math": "C math library (ctypes)"}
    monkeypatch.setattr(libm, "_LIBM", None)
    monkeypatch.setattr(libm, "_warned", False)
    _plan.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fe = build_frontend("mww_40")
            fe.plan
            fe.plan
        fallbacks = [w for w in caught if issubclass(w.category, libm.LibmFallbackWarning)]
        assert len(fallbacks) == 1 and "one LSB" in str(fallbacks[0].message)
        wav = tmp_path / "a.wav"
        write_wav(wav, np.zeros(16000, np.float32), 16000)
        manifest = extract_features([wav], fe, progress=False).manifest()
        assert manifest["provenance"] == {"table_math": "correctly rounded (no C math library found)"}
    finally:
        _plan.cache_clear()
