"""TFLite-Micro audio microfrontend, kind "microfrontend"; presets mltk_kws, mww_40, micro_speech.

The integer algorithm lives in `tinykws.audio.frontends.micro` (one module per stage) and
is bit-exact with the C library (tensorflow/lite/experimental/microfrontend/lib), which the
tests prove against `pymicro-features`, the C front-end used by microWakeWord.

Input conversion (float clip -> int16): round(x * 32768) to the nearest integer (ties to
even), clipped to [-32768, 32767]. A 16-bit WAV read as float (x = s / 32768) therefore
gets back exactly its original samples.

Output scaling (uint16 -> float32): features = uint16 * output_scale, with output_scale
0.0390625 = 10 / 256 by default: the scale of TensorFlow's speech_commands "micro"
preprocessing and of microWakeWord (pymicro-features' FLOAT32_SCALE). uint16 * 10/256 is
exact in float32, so the integers can be recovered from the floats.

Clips shorter than `clip_samples` are zero-padded at the end; each clip is processed by a
fresh front-end (noise estimates start at zero).

The constant tables (window, filterbank weights, PCAN gains) are built in float32 with the
platform C math library's cosf/log1pf/powf, exactly as the C code builds them; see
`micro.libm` for why, and for what a C port should do (embed the tables).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tinykws.audio.frontends.base import Frontend, register_frontend_kind, register_frontend_preset
from tinykws.audio.frontends.micro import pipeline
from tinykws.errors import AudioError, ConfigError

if TYPE_CHECKING:
    import torch

MWW_FLOAT_SCALE = 0.0390625  # 10 / 256


@dataclass(frozen=True)
class MicroFrontendConfig:
    """Settings of the microfrontend; durations in ms, frequencies in Hz.

    Defaults are the C library's `FrontendFillConfigWithDefaults` (25 ms / 10 ms, 32
    channels, 125-7500 Hz, noise reduction on, PCAN off, log on), except that the noise
    reduction stage can be switched off (as in Silicon Labs MLTK).
    """

    sample_rate: int = 16000
    clip_samples: int = 16000  # shorter clips are zero-padded to this length
    window_ms: int = 25
    stride_ms: int = 10
    num_channels: int = 32
    lower_band_hz: float = 125.0
    upper_band_hz: float = 7500.0
    noise_reduction: bool = True
    noise_smoothing_bits: int = 10
    noise_even_smoothing: float = 0.025
    noise_odd_smoothing: float = 0.06
    noise_min_signal_remaining: float = 0.05
    pcan: bool = False
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    log_scale: bool = True
    log_scale_shift: int = 6
    output_scale: float = MWW_FLOAT_SCALE  # float feature = uint16 feature * output_scale

    @property
    def window_samples(self) -> int:
        """Window length in samples: window_ms * sample_rate // 1000, as the C code computes it."""
        return self.window_ms * self.sample_rate // 1000

    @property
    def stride_samples(self) -> int:
        """Frame step in samples: stride_ms * sample_rate // 1000."""
        return self.stride_ms * self.sample_rate // 1000

    @property
    def fft_size(self) -> int:
        """FFT length: the smallest power of two >= window_samples."""
        return 1 << max(0, (self.window_samples - 1).bit_length())

    def validate(self) -> None:
        """Raise ConfigError for settings the C front-end cannot run (or would run wrongly)."""
        p = []
        if self.sample_rate <= 0:
            p.append(f"sample_rate must be positive, got {self.sample_rate}")
        elif self.window_ms <= 0 or self.stride_ms <= 0:
            p.append(f"window_ms and stride_ms must be positive, got {self.window_ms} and {self.stride_ms}")
        else:
            if self.window_samples < 5:
                p.append(f"the window must hold at least 5 samples, got {self.window_samples}")
            if not 1 <= self.stride_samples <= self.window_samples:
                p.append(f"stride ({self.stride_samples} samples) must be 1..window ({self.window_samples} samples)")
            if self.clip_samples < self.window_samples:
                p.append(f"clip_samples {self.clip_samples} is shorter than one window ({self.window_samples})")
        if self.num_channels < 1:
            p.append(f"num_channels must be at least 1, got {self.num_channels}")
        if not 0.0 <= self.lower_band_hz < self.upper_band_hz:
            p.append(f"need 0 <= lower_band_hz < upper_band_hz, got {self.lower_band_hz} and {self.upper_band_hz}")
        elif self.sample_rate > 0 and self.upper_band_hz > self.sample_rate / 2:
            p.append(f"upper_band_hz {self.upper_band_hz} is above the Nyquist frequency {self.sample_rate / 2}")
        if not 0 <= self.noise_smoothing_bits <= 24:
            p.append(f"noise_smoothing_bits must be 0..24, got {self.noise_smoothing_bits}")
        for name in ("noise_even_smoothing", "noise_odd_smoothing", "noise_min_signal_remaining"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                p.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.pcan:
            if not (math.isfinite(self.pcan_strength) and self.pcan_strength >= 0):
                p.append(f"pcan_strength must be >= 0, got {self.pcan_strength}")
            if not (math.isfinite(self.pcan_offset) and self.pcan_offset > 0):
                p.append(f"pcan_offset must be positive, got {self.pcan_offset}")
            if self.sample_rate > 0 and self.window_ms > 0 and self.window_samples >= 5:
                bits = pipeline.correction_bits(self.fft_size)
                if not 0 <= self.pcan_gain_bits - bits - 12 <= 31 or self.pcan_gain_bits > 31:
                    p.append(f"pcan_gain_bits {self.pcan_gain_bits} must be {bits + 12}..31 for this FFT size")
                if self.noise_smoothing_bits < bits:
                    p.append(f"noise_smoothing_bits must be >= {bits} with PCAN for this FFT size")
        if not 0 <= self.log_scale_shift <= 10:  # above 10 the C code's 32-bit log can wrap
            p.append(f"log_scale_shift must be 0..10, got {self.log_scale_shift}")
        if not (math.isfinite(self.output_scale) and self.output_scale > 0):
            p.append(f"output_scale must be a positive number, got {self.output_scale}")
        if p:
            raise ConfigError("microfrontend front-end: " + "; ".join(p))
        try:
            pipeline.build_plan(self)
        except ValueError as exc:
            raise ConfigError(f"microfrontend front-end: {exc}; lower upper_band_hz or use a longer window") from None


def float_to_int16(clip: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] -> int16: round(x * 32768) (ties to even), clipped to int16.

    Raises AudioError for NaN or infinite samples.
    """
    x = np.asarray(clip, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise AudioError(None, "audio contains NaN or infinite samples")
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def microfrontend_int16(samples: np.ndarray, config: MicroFrontendConfig | None = None) -> np.ndarray:
    """The raw integer path: int16 samples -> uint16 features, no padding, no scaling.

    `samples` is (samples,) or (batch, samples) int16; the result is (frames, channels) or
    (batch, frames, channels) uint16, each clip from a fresh front-end state. This is what
    a C port must reproduce bit for bit.
    """
    config = config or MicroFrontendConfig()
    arr = np.asarray(samples)
    if arr.dtype != np.int16 or arr.ndim not in (1, 2):
        raise ValueError(f"expected int16 (samples,) or (batch, samples), got {arr.dtype} {arr.shape}")
    out = pipeline.run(arr[None] if arr.ndim == 1 else arr, _plan(config))
    return out[0] if arr.ndim == 1 else out


@functools.lru_cache(maxsize=32)
def _plan(config: MicroFrontendConfig) -> pipeline.MicroPlan:
    config.validate()
    return pipeline.build_plan(config)


@register_frontend_kind("microfrontend", MicroFrontendConfig, "TFLite-Micro integer audio front-end (bit-exact)")
class MicroFrontend(Frontend):
    """TFLite-Micro microfrontend features: float32 (frames, num_channels); see the module docstring."""

    config: MicroFrontendConfig

    @property
    def plan(self) -> pipeline.MicroPlan:
        """The integer tables of this configuration."""
        return _plan(self.config)

    def num_frames(self, num_samples: int) -> int:
        return self.plan.num_frames(max(int(num_samples), self.config.clip_samples))

    @property
    def num_features(self) -> int:
        return self.config.num_channels

    def features_uint16(self, clips: np.ndarray) -> np.ndarray:
        """Float (batch, samples) clips -> uint16 (batch, frames, channels), after padding."""
        x = np.asarray(clips)
        if x.ndim != 2:
            raise ValueError(f"expected (batch, samples), got shape {x.shape}")
        samples = float_to_int16(x)
        if samples.shape[1] < self.config.clip_samples:
            samples = np.pad(samples, ((0, 0), (0, self.config.clip_samples - samples.shape[1])))
        return pipeline.run(samples, self.plan)

    def compute(self, clip: np.ndarray) -> np.ndarray:
        clip = np.asarray(clip)
        if clip.ndim != 1:
            raise ValueError(f"expected one clip (samples,), got shape {clip.shape}")
        return self.compute_batch(clip[None, :])[0]

    def compute_batch(self, clips: np.ndarray) -> np.ndarray:
        features = self.features_uint16(clips)
        return (features.astype(np.float32) * np.float32(self.config.output_scale)).astype(np.float32)

    def provenance(self) -> dict[str, Any]:
        from tinykws.audio.frontends.micro import libm

        return {"table_math": libm.source()}

    def torch_module(self) -> "torch.nn.Module":
        from tinykws.audio.frontends.micro.torch_module import MicroFrontendModule

        return MicroFrontendModule(self)


register_frontend_preset(
    "mltk_kws",
    "microfrontend",
    "Silicon Labs MLTK keyword_spotting (MLPerf Tiny KWS): 30 ms / 20 ms, 10 channels, 125-4000 Hz, "
    "noise reduction, no PCAN, log (49x10 on 1 s)",
    window_ms=30,
    stride_ms=20,
    num_channels=10,
    lower_band_hz=125.0,
    upper_band_hz=4000.0,
)
register_frontend_preset(
    "mww_40",
    "microfrontend",
    "microWakeWord / pymicro-features: 30 ms / 10 ms, 40 channels, 125-7500 Hz, noise reduction, "
    "PCAN, log, x 10/256 (98x40 on 1 s)",
    window_ms=30,
    stride_ms=10,
    num_channels=40,
    pcan=True,
)
register_frontend_preset(
    "micro_speech",
    "microfrontend",
    "TFLite-Micro micro_speech: 30 ms / 20 ms, 40 channels, 125-7500 Hz, noise reduction, PCAN, log (49x40)",
    window_ms=30,
    stride_ms=20,
    num_channels=40,
    pcan=True,
)
