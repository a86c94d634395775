"""The spectral building blocks shared by the MFCC and log-mel front-ends.

Both front-ends are the same fixed chain of steps with different constants:

    pad to the clip length -> (peak normalise) -> (centre pad) -> frames -> window
    -> real FFT -> |X|**power -> mel matrix -> log(. + offset) -> (DCT matrix)

`SpectralPipeline` holds those constants once; `SpectralPipeline.run_numpy` executes the chain
in float64 numpy and `SpectralFeatureModule` (torch, built lazily so that importing this module
does not import torch) executes the very same chain batched. The matrix builders below are
plain closed forms of the published definitions (TensorFlow's `linear_to_mel_weight_matrix`,
the HTK and Slaney mel scales, DCT-II).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tinykws.audio.frontends.base import Frontend
from tinykws.errors import AudioError

if TYPE_CHECKING:  # torch is imported lazily: importing the front-ends must stay cheap
    import torch

MEL_SCALES = ("htk", "slaney")
MEL_NORMS = ("none", "slaney")
DCT_NORMS = ("tf", "ortho")
PAD_MODES = ("reflect", "constant")

# Slaney's (Auditory Toolbox) mel scale: linear below 1 kHz, logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_LOG_START_HZ = 1000.0
_SLANEY_LOG_START_MEL = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL  # 15 mel
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


# --- mel scales -------------------------------------------------------------------------------
def hz_to_mel(hz: Any, scale: str = "htk") -> np.ndarray:
    """Frequency in Hz -> mel. "htk": 1127 ln(1 + f/700); "slaney": linear below 1 kHz, log above."""
    f = np.asarray(hz, dtype=np.float64)
    if scale == "htk":
        return 1127.0 * np.log1p(f / 700.0)
    if scale == "slaney":
        linear = f / _SLANEY_HZ_PER_MEL
        logpart = _SLANEY_LOG_START_MEL + np.log(np.maximum(f, 1e-12) / _SLANEY_LOG_START_HZ) / _SLANEY_LOG_STEP
        return np.where(f >= _SLANEY_LOG_START_HZ, logpart, linear)
    raise ValueError(f"unknown mel scale {scale!r}; known: {', '.join(MEL_SCALES)}")


def mel_to_hz(mel: Any, scale: str = "htk") -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * np.expm1(m / 1127.0)
    if scale == "slaney":
        linear = m * _SLANEY_HZ_PER_MEL
        logpart = _SLANEY_LOG_START_HZ * np.exp(_SLANEY_LOG_STEP * (m - _SLANEY_LOG_START_MEL))
        return np.where(m >= _SLANEY_LOG_START_MEL, logpart, linear)
    raise ValueError(f"unknown mel scale {scale!r}; known: {', '.join(MEL_SCALES)}")


def fft_bin_frequencies(fft_length: int, sample_rate: int) -> np.ndarray:
    """Centre frequency (Hz) of each of the fft_length//2 + 1 one-sided FFT bins."""
    return np.linspace(0.0, sample_rate / 2.0, fft_length // 2 + 1)


# --- mel filter banks -------------------------------------------------------------------------
def tf_mel_matrix(
    num_mel_bins: int, fft_length: int, sample_rate: int, lower_hz: float, upper_hz: float
) -> np.ndarray:
    """(fft_length//2 + 1, num_mel_bins) weights as TensorFlow's linear_to_mel_weight_matrix.

    Triangles are linear in *mel* (HTK scale), their edges evenly spaced in mel from
    `lower_hz` to `upper_hz`, peak 1, and the DC bin gets no weight.
    """
    bin_mel = hz_to_mel(fft_bin_frequencies(fft_length, sample_rate), "htk")
    edges = np.linspace(hz_to_mel(lower_hz, "htk"), hz_to_mel(upper_hz, "htk"), num_mel_bins + 2)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - left) / (centre - left)
    falling = (right - bin_mel[:, None]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0  # TensorFlow (as HTK) leaves the DC bin out of every band
    return weights


def hz_triangle_mel_matrix(
    num_mel_bins: int,
    fft_length: int,
    sample_rate: int,
    lower_hz: float,
    upper_hz: float,
    scale: str = "htk",
    norm: str = "none",
) -> np.ndarray:
    """(fft_length//2 + 1, num_mel_bins) weights as torchaudio's melscale_fbanks / librosa's mel.

    Band edges are evenly spaced on the chosen mel scale, but the triangles are linear in *Hz*
    between them. norm "slaney" scales each band to unit area (2 / bandwidth in Hz).
    """
    if norm not in MEL_NORMS:
        raise ValueError(f"unknown mel norm {norm!r}; known: {', '.join(MEL_NORMS)}")
    freqs = fft_bin_frequencies(fft_length, sample_rate)
    edges_hz = mel_to_hz(
        np.linspace(hz_to_mel(lower_hz, scale), hz_to_mel(upper_hz, scale), num_mel_bins + 2), scale
    )
    left, centre, right = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (freqs[:, None] - left) / (centre - left)
    falling = (right - freqs[:, None]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= 2.0 / (right - left)
    return weights


# --- windows and transforms -------------------------------------------------------------------
def periodic_hann(length: int) -> np.ndarray:
    """Periodic Hann window: 0.5 - 0.5 cos(2 pi n / length), n = 0..length-1 (as for an FFT)."""
    n = np.arange(length, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def centred_in(window: np.ndarray, length: int) -> np.ndarray:
    """`window` zero-padded on both sides to `length` samples (torch.stft's win_length < n_fft)."""
    extra = length - len(window)
    if extra < 0:
        raise ValueError(f"window of {len(window)} samples does not fit in {length}")
    left = extra // 2
    return np.pad(window, (left, extra - left))


def dct_ii_matrix(num_inputs: int, num_outputs: int, norm: str = "tf") -> np.ndarray:
    """(num_inputs, num_outputs) matrix M so that `x @ M` is the DCT-II of x, first coefficients.

    "tf": 2 sum_n x_n cos(pi k (2n+1) / 2N) / sqrt(2N), as tf.signal.mfccs_from_log_mel_spectrograms
    (rows orthogonal; the k = 0 basis vector has squared norm 2, the others 1).
    "ortho": the orthonormal DCT-II (k = 0 additionally divided by sqrt 2), as scipy/librosa norm="ortho".
    """
    if norm not in DCT_NORMS:
        raise ValueError(f"unknown DCT norm {norm!r}; known: {', '.join(DCT_NORMS)}")
    n = np.arange(num_inputs, dtype=np.float64)[:, None]
    k = np.arange(num_outputs, dtype=np.float64)[None, :]
    basis = np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * num_inputs)) * np.sqrt(2.0 / num_inputs)
    if norm == "ortho":
        basis[:, 0] /= np.sqrt(2.0)
    return basis


def frame_signal(x: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """(..., samples) -> (..., frames, frame_length) views; frames that would run past the end are dropped."""
    if x.shape[-1] < frame_length:
        return np.zeros(x.shape[:-1] + (0, frame_length), dtype=x.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)
    return windows[..., ::hop, :]


def peak_scale(x: np.ndarray) -> np.ndarray:
    """Per-row divisor of the MLPerf normalisation: max(x) (not max|x|), as the reference does.

    A row with no positive sample (digital silence, or an all-negative clip) would make the
    reference divide by zero or by a negative number; it is scaled by max|x| instead, or left
    alone when it is all zeros.
    """
    peak = x.max(axis=-1, keepdims=True)
    magnitude = np.abs(x).max(axis=-1, keepdims=True)
    return np.where(peak > 0, peak, np.where(magnitude > 0, magnitude, 1.0))


# --- the pipeline -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SpectralPipeline:
    """Every constant of the spectral chain; see the module docstring for the order of steps.

    Sample counts are in samples at the front-end's rate. `window` has `frame_length` samples;
    each windowed frame is zero-padded at its end to `fft_length` before the real FFT.
    """

    min_samples: int  # shorter inputs are zero-padded at the end to this length
    peak_normalize: bool  # divide by the clip's maximum sample (see peak_scale)
    center_pad: int  # samples added on both sides before framing (0: frames start at sample 0)
    pad_mode: str  # "reflect" or "constant" (zeros), for center_pad
    frame_length: int
    hop: int
    window: np.ndarray  # (frame_length,) float64
    fft_length: int
    power: float  # 1: magnitude, 2: power spectrum
    mel_matrix: np.ndarray  # (fft_length//2 + 1, mels) float64
    log_offset: float  # log(mel + log_offset)
    dct_matrix: np.ndarray | None = None  # (mels, coefficients) float64, or None for log-mel

    @property
    def num_features(self) -> int:
        """Coefficients (with a DCT) or mel bands per frame."""
        return int((self.dct_matrix if self.dct_matrix is not None else self.mel_matrix).shape[1])

    def num_frames(self, num_samples: int) -> int:
        """Frames for an input of `num_samples` samples (padded to `min_samples` first)."""
        n = max(int(num_samples), self.min_samples) + 2 * self.center_pad
        return 0 if n < self.frame_length else 1 + (n - self.frame_length) // self.hop

    def run_numpy(self, clips: np.ndarray) -> np.ndarray:
        """(batch, samples) float audio -> (batch, frames, features) float32, computed in float64."""
        x = np.asarray(clips, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"expected (batch, samples), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise AudioError(None, "clip contains NaN or Inf samples")
        if x.shape[1] < self.min_samples:
            x = np.pad(x, ((0, 0), (0, self.min_samples - x.shape[1])))
        if self.peak_normalize and x.shape[1]:
            x = x / peak_scale(x)
        if self.center_pad:
            x = np.pad(x, ((0, 0), (self.center_pad, self.center_pad)), mode=self.pad_mode)
        return self.features_of_frames(frame_signal(x, self.frame_length, self.hop))

    def features_of_frames(self, frames: np.ndarray) -> np.ndarray:
        """(..., frames, frame_length) float64 samples -> (..., frames, features) float32.

        Each frame's numbers do not depend on the other frames in the array: the FFT is per
        row and the projections are einsum loops (a BLAS matmul's summation order changes
        with the number of rows), so a streaming front-end that computes a few frames at a
        time gets exactly the offline frames.
        """
        spectrum = np.fft.rfft(frames * self.window, n=self.fft_length, axis=-1)
        if self.power == 2.0:
            spec = spectrum.real**2 + spectrum.imag**2
        elif self.power == 1.0:
            spec = np.abs(spectrum)
        else:
            spec = np.abs(spectrum) ** self.power
        out = np.log(np.einsum("...k,km->...m", spec, self.mel_matrix) + self.log_offset)
        if self.dct_matrix is not None:
            out = np.einsum("...k,km->...m", out, self.dct_matrix)
        return out.astype(np.float32)

    def torch_module(self) -> "Any":
        """A torch.nn.Module running this pipeline on (batch, samples) tensors."""
        return _torch_module_class()(self)


class SpectralFrontend(Frontend):
    """A front-end whose numbers all come from one `SpectralPipeline` (MFCC, log-mel):
    subclasses define `pipeline` and `num_features`."""

    pipeline: SpectralPipeline

    def num_frames(self, num_samples: int) -> int:
        return self.pipeline.num_frames(num_samples)

    def compute(self, clip: np.ndarray) -> np.ndarray:
        clip = np.asarray(clip)
        if clip.ndim != 1:
            raise ValueError(f"expected one clip (samples,), got shape {clip.shape}")
        return self.pipeline.run_numpy(clip[None, :])[0]

    def compute_batch(self, clips: np.ndarray) -> np.ndarray:
        return self.pipeline.run_numpy(np.asarray(clips))

    def torch_module(self) -> "torch.nn.Module":
        return self.pipeline.torch_module()


@functools.cache
def _torch_module_class() -> type:
    import torch
    import torch.nn.functional as F

    class SpectralFeatureModule(torch.nn.Module):
        """Batched torch version of `SpectralPipeline.run_numpy`: (B, samples) -> (B, frames, features).

        Computes in the input's floating dtype (float32 for integer input) and returns float32.
        Constants are float64 buffers, cast to the input's dtype on use.
        """

        def __init__(self, pipeline: SpectralPipeline):
            super().__init__()
            self.min_samples = pipeline.min_samples
            self.peak_normalize = pipeline.peak_normalize
            self.center_pad = pipeline.center_pad
            self.pad_mode = pipeline.pad_mode
            self.frame_length = pipeline.frame_length
            self.hop = pipeline.hop
            self.fft_length = pipeline.fft_length
            self.power = float(pipeline.power)
            self.log_offset = float(pipeline.log_offset)
            self.has_dct = pipeline.dct_matrix is not None
            self.register_buffer("window", torch.from_numpy(pipeline.window.astype(np.float64)))
            self.register_buffer("mel_matrix", torch.from_numpy(pipeline.mel_matrix.astype(np.float64)))
            dct = pipeline.dct_matrix if pipeline.dct_matrix is not None else np.zeros((0, 0))
            self.register_buffer("dct_matrix", torch.from_numpy(dct.astype(np.float64)))

        def forward(self, clips: "torch.Tensor") -> "torch.Tensor":
            if clips.ndim != 2:
                raise ValueError(f"expected (batch, samples), got shape {tuple(clips.shape)}")
            x = clips if clips.is_floating_point() else clips.float()
            if x.shape[1] < self.min_samples:
                x = F.pad(x, (0, self.min_samples - x.shape[1]))
            if self.peak_normalize and x.shape[1]:
                peak = x.amax(dim=-1, keepdim=True)
                magnitude = x.abs().amax(dim=-1, keepdim=True)
                scale = torch.where(peak > 0, peak, torch.where(magnitude > 0, magnitude, torch.ones_like(peak)))
                x = x / scale
            if self.center_pad:
                x = F.pad(x[:, None, :], (self.center_pad, self.center_pad), mode=self.pad_mode)[:, 0, :]
            frames = x.unfold(-1, self.frame_length, self.hop) * self.window.to(x.dtype)
            spectrum = torch.fft.rfft(frames, n=self.fft_length, dim=-1)
            if self.power == 2.0:
                spec = spectrum.real.square() + spectrum.imag.square()
            elif self.power == 1.0:
                spec = spectrum.abs()
            else:
                spec = spectrum.abs().pow(self.power)
            out = torch.log(spec @ self.mel_matrix.to(x.dtype) + self.log_offset)
            if self.has_dct:
                out = out @ self.dct_matrix.to(x.dtype)
            return out.float()

    SpectralFeatureModule.__module__ = __name__
    SpectralFeatureModule.__qualname__ = "SpectralFeatureModule"
    return SpectralFeatureModule


def __getattr__(name: str) -> Any:
    # `SpectralFeatureModule` is created on first use so that importing this module does not
    # import torch; this hook also lets pickle find it by name.
    if name == "SpectralFeatureModule":
        return _torch_module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
