"""Channel perturbations of a clip: speed, room, microphone colouring, noise at an SNR.

Synthetic speech is clean, close-talking and heard through no microphone; real keyword
clips come through rooms, laptop and phone microphones and browser codecs. These turn one
into something nearer the other. `channel_augment` is what `augment_clip` runs when any of
its channel options is on; the pieces are usable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinykws.audio.augment import AugmentConfig, ReferenceDraws, mix_noise, time_shift
from tinykws.audio.io import resample

# Random microphone colouring: a high-pass (small capsules, wind filters), a low-pass
# (codecs, cheap microphones) and two resonances or dips (housings, rooms close to the mic).
EQ_HIGHPASS_HZ = (60.0, 400.0)
EQ_LOWPASS_HZ = (3000.0, 7800.0)
EQ_PEAK_HZ = (200.0, 5000.0)
EQ_PEAK_DB = (-9.0, 9.0)
EQ_PEAK_Q = (0.7, 3.0)


def change_speed(clip: np.ndarray, factor: float, sample_rate: int = 16_000) -> np.ndarray:
    """Play `clip` `factor` times faster (pitch and formants scale with it), keeping its
    length: the result is centred on the clip's centre and zero-padded or cut at both ends."""
    clip = np.asarray(clip, np.float32)
    n = clip.shape[-1]
    if abs(factor - 1.0) < 1e-6 or n == 0:
        return clip
    y = resample(clip, sample_rate, int(round(sample_rate / factor)))
    out = np.zeros(n, np.float32)
    if y.size >= n:
        start = (y.size - n) // 2
        out[:] = y[start : start + n]
    else:
        start = (n - y.size) // 2
        out[start : start + y.size] = y
    return out


@dataclass(frozen=True)
class EqParams:
    """A microphone colouring: cut-offs (0 = none, Hz) and peaking filters (Hz, dB, Q)."""

    highpass_hz: float
    lowpass_hz: float
    peaks: tuple[tuple[float, float, float], ...]


def random_eq(rng: np.random.Generator) -> EqParams:
    """Draw a colouring; always the same number of draws (reproducible downstream)."""
    hp_on, lp_on = rng.random(2)
    hp = float(np.exp(rng.uniform(*np.log(EQ_HIGHPASS_HZ))))
    lp = float(np.exp(rng.uniform(*np.log(EQ_LOWPASS_HZ))))
    peaks = []
    for _ in range(2):
        f = float(np.exp(rng.uniform(*np.log(EQ_PEAK_HZ))))
        peaks.append((f, float(rng.uniform(*EQ_PEAK_DB)), float(rng.uniform(*EQ_PEAK_Q))))
    return EqParams(hp if hp_on < 0.6 else 0.0, lp if lp_on < 0.5 else 0.0, tuple(peaks))


def _peaking_sos(freq_hz: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """One peaking biquad (the audio-EQ-cookbook form) as a second-order section."""
    a = 10 ** (gain_db / 40.0)
    w0 = 2 * np.pi * freq_hz / sample_rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def eq_sos(params: EqParams, sample_rate: int = 16_000) -> np.ndarray:
    """The second-order sections of a colouring (identity when it has no part)."""
    from scipy.signal import butter

    sections = [np.array([[1.0, 0, 0, 1.0, 0, 0]])]
    if params.highpass_hz > 0:
        sections.append(butter(2, params.highpass_hz, btype="highpass", fs=sample_rate, output="sos"))
    if params.lowpass_hz > 0 and params.lowpass_hz < sample_rate / 2:
        sections.append(butter(4, params.lowpass_hz, btype="lowpass", fs=sample_rate, output="sos"))
    for f, g, q in params.peaks:
        sections.append(_peaking_sos(f, g, q, sample_rate))
    return np.concatenate(sections)


def apply_eq(clip: np.ndarray, params: EqParams, sample_rate: int = 16_000) -> np.ndarray:
    """`clip` through the colouring `params`, scaled back to its own peak."""
    from scipy.signal import sosfilt

    clip = np.asarray(clip, np.float32)
    y = sosfilt(eq_sos(params, sample_rate), clip).astype(np.float32)
    peak_in, peak_out = float(np.max(np.abs(clip), initial=0.0)), float(np.max(np.abs(y), initial=0.0))
    if peak_out > 0:
        y *= peak_in / peak_out
    return y


def mix_at_snr(clip: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`clip` plus `noise` scaled so that RMS(clip) / RMS(noise) is `snr_db` dB, clipped
    to [-1, 1]. A silent clip gets no noise."""
    clip = np.asarray(clip, np.float32)
    noise = np.asarray(noise, np.float32)
    rms_clip = float(np.sqrt(np.mean(clip.astype(np.float64) ** 2)))
    rms_noise = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
    if rms_clip == 0.0 or rms_noise == 0.0:
        return clip
    return mix_noise(clip, noise, rms_clip / (rms_noise * 10 ** (snr_db / 20.0)))


def channel_augment(
    clip: np.ndarray,
    draws: ReferenceDraws,
    config: AugmentConfig,
    rng: np.random.Generator,
    rirs: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """After the reference draws, the channel draws (speed, reverb, colouring, SNR), then in
    the order sound takes: speed change, time shift, room, microphone, noise. The number of
    draws does not depend on outcomes."""
    from tinykws.audio.rir import reverberate

    speed = 1.0
    if config.speed_range:
        speed = float(np.exp(rng.uniform(*np.log(config.speed_range))))
    use_reverb = rng.random() < config.reverb_probability
    rir_index = int(rng.integers(0, len(rirs))) if rirs else -1
    use_eq = rng.random() < config.eq_probability
    eq = random_eq(rng)
    snr = float(rng.uniform(*config.snr_db_range)) if config.snr_db_range else None

    out = change_speed(np.asarray(clip, np.float32), speed, config.sample_rate)
    out = time_shift(out, draws.shift)
    if use_reverb and rir_index >= 0:
        out = reverberate(out, rirs[rir_index])
    if use_eq:
        out = apply_eq(out, eq, config.sample_rate)
    if draws.use_noise and draws.segment is not None:
        segment = draws.segment
        out = mix_at_snr(out, segment, snr) if snr is not None else mix_noise(out, segment, draws.volume)
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)
