"""Stage 4: stationary-noise subtraction per channel (`noise_reduction.c`).

A running estimate of each channel's noise floor (a one-pole low-pass, Q14 coefficients,
different for even and odd channels) is subtracted from the signal; at least
`min_signal_remaining` of the signal is kept. The estimate carries across frames, so this
stage loops over frames to update the estimate (vectorised over batch and channels) and then
subtracts all frames at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykws.audio.frontends.micro.bits import wrap_uint32

NOISE_REDUCTION_BITS = 14  # kNoiseReductionBits: smoothing coefficients are Q14


def q14(value: float) -> int:
    """float -> Q14 as the C code stores it: float32 product, truncated into a uint16."""
    return int(np.float32(value) * np.float32(1 << NOISE_REDUCTION_BITS)) & 0xFFFF


@dataclass(frozen=True)
class NoiseReductionParams:
    """Integer parameters of the noise reduction stage."""

    smoothing_bits: int
    even_smoothing: int  # Q14
    odd_smoothing: int  # Q14
    min_signal_remaining: int  # Q14

    @classmethod
    def from_floats(cls, smoothing_bits: int, even: float, odd: float, min_remaining: float) -> "NoiseReductionParams":
        """Quantise the float settings exactly as `NoiseReductionPopulateState` does."""
        return cls(int(smoothing_bits), q14(even), q14(odd), q14(min_remaining))

    def smoothing_per_channel(self, num_channels: int) -> np.ndarray:
        """Q14 coefficient of each channel (even channels first coefficient), int64."""
        out = np.full(num_channels, self.odd_smoothing, np.int64)
        out[0::2] = self.even_smoothing
        return out


def update_estimate(scaled: np.ndarray, estimate: np.ndarray, smoothing: np.ndarray) -> np.ndarray:
    """The noise estimate after one frame: (scaled q + estimate (1 - q)) >> 14, as a uint32."""
    one = 1 << NOISE_REDUCTION_BITS
    return wrap_uint32((scaled * smoothing + estimate * ((one - smoothing) & 0xFFFFFFFF)) >> NOISE_REDUCTION_BITS)


def noise_estimates(signal: np.ndarray, params: NoiseReductionParams, smoothing: np.ndarray,
                    initial: np.ndarray | None = None) -> np.ndarray:
    """Noise estimate after each frame: (batch, frames, channels) like `signal`, starting
    from `initial` (batch, channels) (zeros: a fresh front-end).

    The only sequential part of the stage: a loop over frames, vectorised over the rest.
    With Q14 coefficients in [0, 1] the estimate is a weighted mean of uint32 values, so it
    never needs the uint32 wrap inside the loop.
    """
    one = 1 << NOISE_REDUCTION_BITS
    if np.any(smoothing > one):  # pragma: no cover - refused by the config
        raise ValueError("smoothing coefficients must be at most 1.0")
    driven = wrap_uint32(signal << params.smoothing_bits) * smoothing
    keep = one - smoothing
    out = np.empty_like(driven)
    estimate = np.zeros(driven.shape[:1] + driven.shape[2:], np.int64) if initial is None else \
        np.asarray(initial, np.int64)
    for t in range(driven.shape[1]):
        estimate = (driven[:, t] + estimate * keep) >> NOISE_REDUCTION_BITS
        out[:, t] = estimate
    return out


def subtract_noise(signal: np.ndarray, estimate: np.ndarray, params: NoiseReductionParams) -> np.ndarray:
    """Signal minus its (already updated) noise estimate, keeping at least the floor; any shape."""
    scaled = wrap_uint32(signal << params.smoothing_bits)
    kept = np.minimum(estimate, scaled)
    floor = wrap_uint32((signal * params.min_signal_remaining) >> NOISE_REDUCTION_BITS)
    return np.maximum((scaled - kept) >> params.smoothing_bits, floor)


def noise_reduction_step(
    signal: np.ndarray, estimate: np.ndarray, params: NoiseReductionParams, smoothing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One frame, as the C function: (signal, estimate) (..., channels) -> (output, new estimate)."""
    new_estimate = update_estimate(wrap_uint32(signal << params.smoothing_bits), estimate, smoothing)
    return subtract_noise(signal, new_estimate, params), new_estimate
