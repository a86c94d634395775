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

from tinykws.audio.augment import AugmentConfig, ReferenceDraws, mix_noise, scale_to_peak, time_shift
import soxr

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
    # soxr's quick (cubic) quality: a third of the high-quality cost; its small aliasing
    # is far below the noise that augmentation adds anyway.
    y = soxr.resample(clip, sample_rate, int(round(sample_rate / factor)), quality="QQ").astype(np.float32)
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
    return scale_to_peak(sosfilt(eq_sos(params, sample_rate), clip).astype(np.float32), clip)


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


@dataclass(frozen=True)
class ChannelBank:
    """Rooms and microphone colourings as spectra at one FFT length, so that a clip goes
    through both with one forward and one inverse FFT (about 1 ms), not a convolution and
    a filter each (several ms): the cost that decides whether channel augmentation keeps
    up with training."""

    size: int  # FFT length (samples)
    rooms: np.ndarray  # (R, size // 2 + 1) complex64: impulse responses' spectra
    colourings: np.ndarray  # (E, size // 2 + 1) complex64: microphone responses

    def __len__(self) -> int:
        return len(self.rooms)


def channel_bank(rirs: Sequence[np.ndarray], colourings: int, seed: int, clip_samples: int = 16_000,
                 sample_rate: int = 16_000) -> ChannelBank:
    """The spectra of `rirs` and of `colourings` random microphone colourings (`random_eq`,
    drawn from `seed`), at an FFT length that holds a clip convolved with the longest room."""
    import scipy.fft as sfft
    from scipy.signal import sosfreqz

    longest = max((len(r) for r in rirs), default=1)
    size = sfft.next_fast_len(clip_samples + longest - 1, real=True)
    rooms = np.stack([sfft.rfft(np.asarray(r, np.float32), size) for r in rirs]) if rirs else np.zeros((0, size // 2 + 1))
    rng = np.random.default_rng([int(seed), 0xE9])
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    eqs = [sosfreqz(eq_sos(random_eq(rng), sample_rate), worN=freqs, fs=sample_rate)[1] for _ in range(colourings)]
    colour = np.stack(eqs) if eqs else np.zeros((0, size // 2 + 1))
    return ChannelBank(size, rooms.astype(np.complex64), colour.astype(np.complex64))


def through_channel(clip: np.ndarray, bank: ChannelBank, room: int, colouring: int) -> np.ndarray:
    """`clip` through room `room` and colouring `colouring` of `bank` (-1: none), cut to its
    length and scaled to its own peak."""
    import scipy.fft as sfft

    clip = np.asarray(clip, np.float32)
    if room < 0 and colouring < 0:
        return clip
    spec = sfft.rfft(clip, bank.size)
    if room >= 0:
        spec *= bank.rooms[room]
    if colouring >= 0:
        spec *= bank.colourings[colouring]
    return scale_to_peak(sfft.irfft(spec, bank.size)[: clip.shape[-1]].astype(np.float32), clip)


def channel_augment(
    clip: np.ndarray,
    draws: ReferenceDraws,
    config: AugmentConfig,
    rng: np.random.Generator,
    bank: ChannelBank | None = None,
) -> np.ndarray:
    """After the reference draws, the channel draws (speed, room, colouring, SNR), then in
    the order sound takes: speed change, time shift, room and microphone, noise. The number
    of draws does not depend on outcomes. Rooms and colourings come from `bank` (none
    without one)."""
    speed = 1.0
    if config.speed_range:
        speed = float(np.exp(rng.uniform(*np.log(config.speed_range))))
    use_room = rng.random() < config.reverb_probability
    use_eq = rng.random() < config.eq_probability
    room = int(rng.integers(0, len(bank.rooms))) if bank is not None and len(bank.rooms) else -1
    colouring = int(rng.integers(0, len(bank.colourings))) if bank is not None and len(bank.colourings) else -1
    snr = float(rng.uniform(*config.snr_db_range)) if config.snr_db_range else None

    out = change_speed(np.asarray(clip, np.float32), speed, config.sample_rate)
    out = time_shift(out, draws.shift)
    if bank is not None:
        out = through_channel(out, bank, room if use_room else -1, colouring if use_eq else -1)
    if draws.use_noise and draws.segment is not None:
        segment = draws.segment
        out = mix_at_snr(out, segment, snr) if snr is not None else mix_noise(out, segment, draws.volume)
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)
