"""Waveform augmentation for training: background-noise mixing and time shift (the MLPerf
reference), and optionally what turns clean synthetic speech into something heard through
a real room and microphone: speed change, room reverberation, microphone colouring, and
noise at a signal-to-noise ratio (`tinykws.audio.perturb`).

Every function draws its randomness from the `np.random.Generator` it is given, so a
training run is reproducible from its seed. Inputs are float32 clips in [-1, 1]; outputs
have the same length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tinykws.audio.perturb import ChannelBank

DEFAULT_SAMPLE_RATE = 16_000


def scale_to_peak(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`y` scaled in place so that its peak equals `reference`'s (a room or a microphone
    changes the colour, not the level); a silent `y` is left as it is. Returns `y`."""
    peak_in = float(np.max(np.abs(reference), initial=0.0))
    peak_out = float(np.max(np.abs(y), initial=0.0))
    if peak_out > 0:
        y *= peak_in / peak_out
    return y


def time_shift(clip: np.ndarray, shift: int) -> np.ndarray:
    """Move `clip` by `shift` samples (positive: later), zero-filling the gap; same length."""
    clip = np.asarray(clip, dtype=np.float32)
    n = clip.shape[-1]
    out = np.zeros_like(clip)
    if shift >= n or -shift >= n:
        return out
    if shift > 0:
        out[..., shift:] = clip[..., : n - shift]
    elif shift < 0:
        out[..., : n + shift] = clip[..., -shift:]
    else:
        out[...] = clip
    return out


def random_time_shift(clip: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """`time_shift` by an integer drawn uniformly from [-max_shift, max_shift] samples."""
    if max_shift <= 0:
        return np.asarray(clip, dtype=np.float32)
    return time_shift(clip, int(rng.integers(-max_shift, max_shift + 1)))


def noise_segment(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random `length`-sample stretch of a noise recording (tiled if it is shorter)."""
    noise = np.asarray(noise, dtype=np.float32)
    if noise.size == 0:
        raise ValueError("noise recording is empty")
    if noise.shape[-1] < length:
        noise = np.tile(noise, int(np.ceil(length / noise.shape[-1])))
    start = int(rng.integers(0, noise.shape[-1] - length + 1))
    return noise[start : start + length]


def mix_noise(clip: np.ndarray, noise: np.ndarray, volume: float) -> np.ndarray:
    """`clip + volume * noise`, clipped to [-1, 1]; `noise` has the clip's length."""
    clip = np.asarray(clip, dtype=np.float32)
    if noise.shape[-1] != clip.shape[-1]:
        raise ValueError(f"noise has {noise.shape[-1]} samples, clip has {clip.shape[-1]}")
    return np.clip(clip + np.float32(volume) * noise, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class AugmentConfig:
    """The reference training augmentation (MLPerf Tiny KWS / TF speech_commands).

    `background_frequency`: share of clips that get noise; `background_volume`: the noise
    gain is uniform in [0, background_volume]; `time_shift_ms`: maximum shift either way.

    The channel options (all off by default) act on the speech before the noise is added:
    `speed_range` (factors; the clip is resampled, > 1 faster and higher), `reverb_probability`
    (through one of the rooms of the `bank` given to `augment_clip`), `eq_probability` (one
    of its microphone colourings, `perturb.random_eq`). `snr_db_range`, when set, replaces the
    volume rule: the noise is scaled to a signal-to-noise ratio uniform in that range (dB).
    """

    background_frequency: float = 0.8
    background_volume: float = 0.1
    time_shift_ms: float = 100.0
    sample_rate: int = DEFAULT_SAMPLE_RATE
    speed_range: tuple[float, float] | None = None
    reverb_probability: float = 0.0
    eq_probability: float = 0.0
    snr_db_range: tuple[float, float] | None = None

    @property
    def max_shift(self) -> int:
        """Maximum time shift in samples."""
        return int(round(self.time_shift_ms * self.sample_rate / 1000.0))

    @property
    def channel(self) -> bool:
        """True when any option beyond the MLPerf reference augmentation is on."""
        return bool(self.speed_range or self.reverb_probability > 0 or self.eq_probability > 0
                    or self.snr_db_range)


def augment_clip(
    clip: np.ndarray,
    noises: list[np.ndarray],
    config: AugmentConfig,
    rng: np.random.Generator,
    bank: "ChannelBank | None" = None,
) -> np.ndarray:
    """Time shift, then (with probability `background_frequency`) add a random stretch of
    a random noise recording at a gain uniform in [0, background_volume].

    The same number of random draws is made whether or not noise is added, so the
    sequence of draws for later clips does not depend on earlier outcomes. The channel
    options (see `AugmentConfig`) draw after the reference ones, so switching them on
    leaves the reference draws (shift, noise choice, gain) unchanged.
    """
    draws = reference_draws(clip, noises, config, rng)
    if config.channel:
        from tinykws.audio.perturb import channel_augment

        return channel_augment(clip, draws, config, rng, bank)
    out = time_shift(clip, draws.shift)
    if draws.use_noise and draws.segment is not None:
        out = mix_noise(out, draws.segment, draws.volume)
    return out.astype(np.float32, copy=False)


@dataclass(frozen=True)
class ReferenceDraws:
    """The random choices of the reference augmentation for one clip."""

    shift: int  # samples
    use_noise: bool
    volume: float
    segment: np.ndarray | None  # a stretch of one noise recording, the clip's length


def reference_draws(
    clip: np.ndarray, noises: list[np.ndarray], config: AugmentConfig, rng: np.random.Generator
) -> ReferenceDraws:
    """Shift, noise on/off, gain, recording and stretch, drawn in the reference order."""
    shift = int(rng.integers(-config.max_shift, config.max_shift + 1)) if config.max_shift > 0 else 0
    use_noise = bool(rng.random() < config.background_frequency)
    volume = float(rng.uniform(0.0, config.background_volume))
    segment = None
    if noises:
        which = int(rng.integers(0, len(noises)))
        segment = noise_segment(noises[which], np.shape(clip)[-1], rng)
    return ReferenceDraws(shift, use_noise, volume, segment)
