"""The whole integer front-end: int16 samples -> uint16 features (`frontend.c`).

`MicroPlan` holds every constant table derived from a config (window, FFT twiddles,
filterbank weights, noise-reduction and PCAN parameters); `run` applies the six stages to a
batch of clips, each clip starting from a fresh (zeroed) state, exactly as a newly created
C front-end would. Frames are computed together; only the noise estimate (shared by noise
reduction and PCAN) is updated in a loop over frames, vectorised over batch and channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinykws.audio.frontends.micro import fft as fft_stage
from tinykws.audio.frontends.micro import filterbank as fb_stage
from tinykws.audio.frontends.micro import log_scale as log_stage
from tinykws.audio.frontends.micro import noise_reduction as nr_stage
from tinykws.audio.frontends.micro import pcan as pcan_stage
from tinykws.audio.frontends.micro import window as window_stage


@dataclass(frozen=True)
class MicroPlan:
    """Every integer constant of one front-end configuration."""

    window_samples: int
    stride_samples: int
    window: np.ndarray  # (window_samples,) int16, Q12
    fft: fft_stage.FixedRealFFTPlan
    filterbank: fb_stage.FilterbankTables
    noise_reduction: nr_stage.NoiseReductionParams | None  # None: stage disabled
    smoothing: np.ndarray  # (channels,) Q14 per channel
    pcan_lut: np.ndarray | None  # None: stage disabled
    pcan_snr_shift: int
    log_enable: bool
    log_scale_shift: int
    correction_bits: int  # log input correction: bit_length(fft_size) - 1 - 6

    @property
    def num_channels(self) -> int:
        return self.filterbank.num_channels

    def num_frames(self, num_samples: int) -> int:
        """Frames from `num_samples` samples."""
        return window_stage.num_frames(num_samples, self.window_samples, self.stride_samples)


def correction_bits(fft_size: int) -> int:
    """`MostSignificantBit32(fft_size) - 1 - kFilterbankBits / 2` of the C code."""
    return fft_size.bit_length() - 1 - fb_stage.FILTERBANK_BITS // 2


def build_plan(config: Any) -> MicroPlan:
    """Tables for a `MicroFrontendConfig` (any object with its fields). Raises ValueError
    when the filterbank does not fit the spectrum."""
    window_samples = int(config.window_samples)
    fft_size = 1
    while fft_size < window_samples:
        fft_size <<= 1
    fft = fft_stage.make_plan(fft_size)
    filterbank = fb_stage.make_filterbank(
        config.num_channels, config.lower_band_hz, config.upper_band_hz, config.sample_rate, fft.num_bins
    )
    bits = correction_bits(fft_size)
    nr = None
    if config.noise_reduction:
        nr = nr_stage.NoiseReductionParams.from_floats(
            config.noise_smoothing_bits, config.noise_even_smoothing,
            config.noise_odd_smoothing, config.noise_min_signal_remaining,
        )
    smoothing = (nr or nr_stage.NoiseReductionParams(0, 0, 0, 0)).smoothing_per_channel(config.num_channels)
    lut = None
    snr_shift = 0
    if config.pcan:
        input_bits = config.noise_smoothing_bits - bits
        lut = pcan_stage.gain_lut(config.pcan_strength, config.pcan_offset, config.pcan_gain_bits, input_bits)
        snr_shift = config.pcan_gain_bits - bits - pcan_stage.PCAN_SNR_BITS
    return MicroPlan(
        window_samples=window_samples,
        stride_samples=int(config.stride_samples),
        window=window_stage.window_coefficients(window_samples),
        fft=fft,
        filterbank=filterbank,
        noise_reduction=nr,
        smoothing=smoothing,
        pcan_lut=lut,
        pcan_snr_shift=snr_shift,
        log_enable=bool(config.log_scale),
        log_scale_shift=int(config.log_scale_shift),
        correction_bits=bits,
    )


def filterbank_frames(frames: np.ndarray, plan: MicroPlan) -> np.ndarray:
    """Stages 1-3 on (batch, frames, window) int16 frames: (batch, frames, channels) uint32
    values in int64."""
    windowed, max_abs = window_stage.apply_window(frames, plan.window)
    shift = fft_stage.fft_input_shift(max_abs)
    re, im = fft_stage.real_fft(fft_stage.scale_input(windowed, shift, plan.fft.fft_size), plan.fft)
    energy = fb_stage.power_spectrum(re, im, plan.filterbank)
    return fb_stage.filterbank_sqrt(fb_stage.accumulate(energy, plan.filterbank), shift)


def run_frames(frames: np.ndarray, plan: MicroPlan, estimate: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(batch, frames, window) int16 -> ((batch, frames, channels) uint16 features, the noise
    estimate after the last frame (batch, channels) int64), continuing from `estimate`
    (None: a fresh front-end). What a streaming front-end calls on each new block of frames."""
    signal = filterbank_frames(frames, plan)
    batch, channels = signal.shape[0], signal.shape[2]
    last = np.zeros((batch, channels), np.int64) if estimate is None else np.asarray(estimate, np.int64)
    # noise reduction and PCAN only carry the noise estimate from frame to frame: compute the
    # estimates sequentially, then both stages for all frames at once
    noise = np.zeros_like(signal)
    if plan.noise_reduction is not None:
        noise = nr_stage.noise_estimates(signal, plan.noise_reduction, plan.smoothing, last)
        signal = nr_stage.subtract_noise(signal, noise, plan.noise_reduction)
        if noise.shape[1]:
            last = noise[:, -1]
    if plan.pcan_lut is not None:
        signal = pcan_stage.pcan_apply(signal, noise, plan.pcan_lut, plan.pcan_snr_shift)
    return log_stage.log_scale(signal, plan.log_scale_shift, plan.correction_bits, plan.log_enable), last


def run(samples: np.ndarray, plan: MicroPlan) -> np.ndarray:
    """(batch, samples) int16 -> (batch, frames, channels) uint16 features."""
    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 2:
        raise ValueError(f"expected (batch, samples) int16, got {samples.dtype} {samples.shape}")
    frames = window_stage.frame_samples(samples, plan.window_samples, plan.stride_samples)
    return run_frames(frames, plan)[0]
