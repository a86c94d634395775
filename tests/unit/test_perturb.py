"""Channel perturbations: speed, microphone colouring, SNR mixing, the combined augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import sosfreqz

from tinykws.audio.augment import AugmentConfig, augment_clip
from tinykws.audio.perturb import (EqParams, apply_eq, change_speed, channel_bank, eq_sos, mix_at_snr, random_eq,
                                   through_channel)
from tinykws.audio.rir import reverberate, rir_bank

RATE = 16_000


def _tone(freq: float, n: int = RATE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.float32)


def _dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / RATE)[np.argmax(spec)])


def test_change_speed_scales_frequency_and_keeps_length_and_centre():
    x = _tone(500.0)
    y = change_speed(x, 1.1)
    assert y.shape == x.shape
    assert _dominant_hz(y[2000:14000]) == pytest.approx(550.0, abs=3.0)
    pulse = np.zeros(RATE, np.float32)
    pulse[4000] = 1.0  # 4,000 samples before the centre -> 4,000 / 1.25 after speeding up
    moved = change_speed(pulse, 1.25)
    assert abs(int(np.argmax(np.abs(moved))) - (8000 - 3200)) <= 2
    slow = change_speed(x, 0.8)
    assert slow.shape == x.shape and _dominant_hz(slow[2000:14000]) == pytest.approx(400.0, abs=3.0)


def test_eq_sections_have_the_requested_peak_gain():
    params = EqParams(0.0, 0.0, ((1000.0, 6.0, 2.0), (3000.0, -6.0, 2.0)))
    w, h = sosfreqz(eq_sos(params), worN=[1000.0, 3000.0, 200.0], fs=RATE)
    gains = 20 * np.log10(np.abs(h))
    assert gains[0] == pytest.approx(6.0, abs=0.3) and gains[1] == pytest.approx(-6.0, abs=0.3)
    assert abs(gains[2]) < 1.0


def test_apply_eq_keeps_peak_and_band_limits_cut():
    params = EqParams(300.0, 3000.0, ())
    assert np.abs(apply_eq(_tone(1000.0), params)).max() == pytest.approx(0.5, rel=1e-4)  # the input's peak
    params_none = EqParams(0.0, 0.0, ())
    assert np.allclose(apply_eq(_tone(60.0), params_none), _tone(60.0), atol=1e-6)
    filt = lambda f: np.sqrt(np.mean(apply_eq(_tone(f) + _tone(1000.0), params)[4000:] ** 2))  # noqa: E731
    assert filt(60.0) < filt(1000.0) * 1.05 and filt(6000.0) < filt(1000.0) * 1.05


def test_random_eq_draws_a_fixed_number_of_values():
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    random_eq(a)
    for _ in range(8):
        b.random()  # 2 switches + 2 cut-offs + 2 x (freq, gain, q) = 10 draws, first two as a pair
    b.random(), b.random()
    assert a.random() == b.random()


def test_mix_at_snr_sets_the_ratio():
    rng = np.random.default_rng(0)
    clip = _tone(440.0) * 0.5
    noise = rng.standard_normal(RATE).astype(np.float32) * 0.01
    for snr in (0.0, 10.0, 20.0):
        mixed = mix_at_snr(clip, noise, snr)
        added = mixed - clip
        ratio = 20 * np.log10(np.sqrt(np.mean(clip**2)) / np.sqrt(np.mean(added**2)))
        assert ratio == pytest.approx(snr, abs=0.05)
    assert np.array_equal(mix_at_snr(np.zeros(RATE, np.float32), noise, 10.0), np.zeros(RATE, np.float32))


def test_channel_augmentation_is_reproducible_and_changes_the_clip():
    clip = _tone(300.0) * np.hanning(RATE).astype(np.float32)
    noises = [np.random.default_rng(2).standard_normal(3 * RATE).astype(np.float32) * 0.1]
    bank = channel_bank(rir_bank(4, seed=0, length_s=0.2), 4, seed=0)
    cfg = AugmentConfig(background_frequency=1.0, speed_range=(0.9, 1.1), reverb_probability=1.0,
                        eq_probability=1.0, snr_db_range=(5.0, 5.0))
    assert cfg.channel and not AugmentConfig().channel
    a = augment_clip(clip, noises, cfg, np.random.default_rng(7), bank)
    b = augment_clip(clip, noises, cfg, np.random.default_rng(7), bank)
    c = augment_clip(clip, noises, cfg, np.random.default_rng(8), bank)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == clip.shape and a.dtype == np.float32 and np.abs(a).max() <= 1.0
    # At 5 dB SNR the noise is about half as loud as the speech.
    assert 0.3 < np.sqrt(np.mean((a - augment_clip(clip, noises, AugmentConfig(
        background_frequency=0.0, speed_range=(0.9, 1.1), reverb_probability=1.0, eq_probability=1.0,
        snr_db_range=(5.0, 5.0)), np.random.default_rng(7), bank)) ** 2)) / np.sqrt(np.mean(a**2)) < 1.0


def test_reference_draws_are_unchanged_when_channel_options_are_on():
    # With every channel option at its identity, the result equals the reference augmentation.
    clip = _tone(300.0)
    noises = [np.random.default_rng(2).standard_normal(2 * RATE).astype(np.float32) * 0.1]
    ref = augment_clip(clip, noises, AugmentConfig(), np.random.default_rng(11))
    same = augment_clip(clip, noises, AugmentConfig(speed_range=(1.0, 1.0)), np.random.default_rng(11))
    assert np.allclose(ref, same, atol=1e-6)


def test_the_bank_applies_rooms_and_colourings_as_the_direct_filters_do():
    rng = np.random.default_rng(4)
    clip = (rng.standard_normal(RATE) * np.hanning(RATE)).astype(np.float32) * 0.3
    rirs = rir_bank(2, seed=1, length_s=0.25)
    bank = channel_bank(rirs, 3, seed=9)
    assert bank.rooms.shape[0] == 2 and bank.colourings.shape[0] == 3 and bank.size >= RATE + len(rirs[0]) - 1
    np.testing.assert_allclose(through_channel(clip, bank, 1, -1), reverberate(clip, rirs[1]), atol=2e-5)
    # The colourings are random_eq draws from the bank's own generator, in order.
    eq_rng = np.random.default_rng([9, 0xE9])
    random_eq(eq_rng)
    second = random_eq(eq_rng)
    np.testing.assert_allclose(through_channel(clip, bank, -1, 1), apply_eq(clip, second), atol=2e-3)
    assert np.array_equal(through_channel(clip, bank, -1, -1), clip)
