"""Simulated room impulse responses: the image-source method for shoebox rooms.

A source and a microphone in a rectangular room with walls of one reflection coefficient;
every mirror image of the source up to the order that the wanted length needs adds a delayed
pulse of amplitude beta^reflections / distance (Allen & Berkley 1979). The wall absorption
comes from the wanted reverberation time through Sabine's formula, RT60 = 0.161 V / (S a).
A specular shoebox decays more slowly than a diffuse room of the same absorption (the
grazing images bounce less often), so the measured RT60 grows above the target at long
reverberation times (measured with `schroeder_rt60`: 0.19-0.23 s for 0.2 s, 1.1-1.3 s for
0.8 s); Sabine's larger absorption keeps it closer than Eyring's.

Delays are rounded to whole samples (at 16 kHz an error of at most 31 us, below what a
25 ms analysis window resolves). Responses are returned with the direct path at sample 0
and amplitude 1, so convolving a clip with one keeps the word where it was and at a
comparable level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinykws.audio.augment import scale_to_peak

SPEED_OF_SOUND = 343.0  # m/s
SABINE = 0.161  # s/m


@dataclass(frozen=True)
class Room:
    """A shoebox room and where the talker and the microphone are (metres, seconds)."""

    size: tuple[float, float, float]
    source: tuple[float, float, float]
    mic: tuple[float, float, float]
    rt60_s: float

    def __post_init__(self) -> None:
        size = np.asarray(self.size, float)
        if size.shape != (3,) or np.any(size <= 0):
            raise ValueError(f"room size must be three positive lengths, got {self.size}")
        for name in ("source", "mic"):
            p = np.asarray(getattr(self, name), float)
            if p.shape != (3,) or np.any(p <= 0) or np.any(p >= size):
                raise ValueError(f"{name} {getattr(self, name)} is not inside the room {self.size}")
        if not self.rt60_s > 0:
            raise ValueError(f"rt60_s must be > 0, got {self.rt60_s}")

    @property
    def distance(self) -> float:
        """Source-to-microphone distance (m)."""
        return float(np.linalg.norm(np.subtract(self.source, self.mic)))

    @property
    def reflection(self) -> float:
        """The walls' pressure reflection coefficient for this RT60 (Sabine)."""
        lx, ly, lz = self.size
        volume = lx * ly * lz
        surface = 2.0 * (lx * ly + lx * lz + ly * lz)
        absorption = min(SABINE * volume / (surface * self.rt60_s), 1.0)
        return float(np.sqrt(1.0 - absorption))


def image_source_rir(room: Room, length_s: float, sample_rate: int = 16_000) -> np.ndarray:
    """The impulse response (float32, `length_s` long) from `room.source` to `room.mic`,
    direct path at sample 0 with amplitude 1."""
    n_out = max(1, int(round(length_s * sample_rate)))
    size = np.asarray(room.size, float)
    src = np.asarray(room.source, float)
    mic = np.asarray(room.mic, float)
    direct = float(np.linalg.norm(src - mic))
    # Images whose path is longer than direct + length cannot arrive in time.
    reach = direct + length_s * SPEED_OF_SOUND
    order = np.ceil(reach / (2.0 * size)).astype(int) + 1
    beta = room.reflection
    delays, amps = [], []
    grids = [np.arange(-o, o + 1) for o in order]
    nx, ny, nz = np.meshgrid(*grids, indexing="ij")
    for px in (0, 1):
        for py in (0, 1):
            for pz in (0, 1):
                p = np.array([px, py, pz])
                n = np.stack([nx.ravel(), ny.ravel(), nz.ravel()], axis=1)
                image = (1 - 2 * p) * src + 2 * n * size
                dist = np.linalg.norm(image - mic, axis=1)
                bounces = np.abs(n - p).sum(axis=1) + np.abs(n).sum(axis=1)
                keep = dist <= reach
                delays.append((dist[keep] - direct) / SPEED_OF_SOUND * sample_rate)
                amps.append(beta ** bounces[keep] * direct / np.maximum(dist[keep], 1e-3))
    delay = np.rint(np.concatenate(delays)).astype(np.int64)
    amp = np.concatenate(amps)
    inside = delay < n_out
    rir = np.bincount(delay[inside], weights=amp[inside], minlength=n_out)[:n_out]
    return (rir / rir[0]).astype(np.float32)


@dataclass(frozen=True)
class RoomRanges:
    """Where random rooms are drawn from (metres, seconds)."""

    rt60_s: tuple[float, float] = (0.15, 0.8)
    width: tuple[float, float] = (2.5, 8.0)
    depth: tuple[float, float] = (2.5, 10.0)
    height: tuple[float, float] = (2.3, 3.5)
    distance: tuple[float, float] = (0.3, 3.5)
    wall_margin: float = 0.3

    def __post_init__(self) -> None:
        for name in ("rt60_s", "width", "depth", "height", "distance"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} range must satisfy 0 < low <= high, got {lo}, {hi}")


def random_room(rng: np.random.Generator, ranges: RoomRanges = RoomRanges()) -> Room:
    """A random room with the talker and the microphone at least `wall_margin` from every
    wall, their distance drawn from `ranges.distance` (shortened if the room is too small)."""
    size = np.array([rng.uniform(*ranges.width), rng.uniform(*ranges.depth), rng.uniform(*ranges.height)])
    m = ranges.wall_margin
    mic = rng.uniform(m, size - m)
    want = rng.uniform(*ranges.distance)
    direction = rng.standard_normal(3)
    direction[2] *= 0.2  # talkers and microphones are at similar heights
    direction /= np.linalg.norm(direction)
    # The largest distance along `direction` that stays `m` inside the walls.
    with np.errstate(divide="ignore"):
        limits = np.where(direction > 0, (size - m - mic) / direction, (m - mic) / direction)
    dist = float(min(want, np.min(limits[np.isfinite(limits)])))
    source = mic + direction * max(dist, 0.0)
    return Room(tuple(size), tuple(np.clip(source, m, size - m)), tuple(mic), float(rng.uniform(*ranges.rt60_s)))


def rir_bank(count: int, seed: int, ranges: RoomRanges = RoomRanges(), length_s: float = 0.3,
             sample_rate: int = 16_000) -> list[np.ndarray]:
    """`count` impulse responses of random rooms, the same for the same arguments.

    The cost grows with the cube of `length_s` (the images within reach); 0.3 s keeps
    the decay down to 22 dB below the direct sound at RT60 0.8 s (more at shorter ones)
    for about 30 ms a room."""
    rng = np.random.default_rng([int(seed), 0x121])
    return [image_source_rir(random_room(rng, ranges), length_s, sample_rate) for _ in range(count)]


def reverberate(clip: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """`clip` convolved with `rir`, cut to the clip's length, scaled to the clip's peak."""
    import scipy.fft as sfft

    clip = np.asarray(clip, np.float32)
    n = clip.shape[-1]
    # Single precision and a fast FFT length: a third cheaper than scipy's fftconvolve.
    size = sfft.next_fast_len(n + len(rir) - 1, real=True)
    wet = sfft.irfft(sfft.rfft(clip, size) * sfft.rfft(np.asarray(rir, np.float32), size), size)[:n]
    return scale_to_peak(wet, clip).astype(np.float32)


def schroeder_rt60(rir: np.ndarray, sample_rate: int = 16_000, fit_db: Sequence[float] = (-5.0, -25.0)) -> float:
    """The reverberation time of an impulse response from its Schroeder decay curve:
    the slope between `fit_db` levels, extrapolated to -60 dB (seconds)."""
    energy = np.asarray(rir, float) ** 2
    curve = np.cumsum(energy[::-1])[::-1]
    db = 10 * np.log10(np.maximum(curve / curve[0], 1e-30))
    hi, lo = fit_db
    idx = np.flatnonzero((db <= hi) & (db >= lo))
    if idx.size < 2:
        raise ValueError("the decay does not span the fit range")
    slope, _ = np.polyfit(idx / sample_rate, db[idx], 1)
    return float(-60.0 / slope)
