"""Constants and tables of the C MFCC front-end (`c/frontend/frontend_mfcc.c`), computed from
the numpy front-end's own `SpectralPipeline` so both use one definition.

The tables are the pipeline's float64 constants rounded to float32, plus what the C FFT needs:
a bit-reversal permutation, the twiddles of each radix-4 stage and of the real-FFT split step.
"""

from __future__ import annotations

import numpy as np

from tinykws.audio.frontends.mfcc import MfccFrontend
from tinykws.codegen.frontends.c_text import CUnit
from tinykws.codegen.frontends.layout import FrontendLayout
from tinykws.codegen.frontends.quantize import InputQuant
from tinykws.errors import ConfigError

FLOAT_BYTES = 4


def bit_reversal(n: int) -> np.ndarray:
    """Position of element m in the bit-reversed order of n = 2**b points."""
    bits = n.bit_length() - 1
    m = np.arange(n)
    out = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        out |= ((m >> b) & 1) << (bits - 1 - b)
    return out


def radix4_twiddles(n: int) -> tuple[bool, np.ndarray]:
    """(radix-2 stage first?, twiddles) of the C complex FFT of n points.

    Stage by stage (sub-length `span` = 2 or 1, times 4 each stage), for k < span:
    cos and sin of -2 pi j k / (4 span) for j = 1, 2, 3; the first stage (span 1) needs none.
    """
    radix2_first = (n.bit_length() - 1) % 2 == 1
    span = 2 if radix2_first else 1
    rows = []
    while span < n:
        if span > 1:
            for k in range(span):
                for j in (1, 2, 3):
                    angle = -2.0 * np.pi * j * k / (4 * span)
                    rows.append((np.cos(angle), np.sin(angle)))
        span *= 4
    return radix2_first, np.array(rows, dtype=np.float64).reshape(-1, 2)


def sparse_mel(mel_matrix: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """(first bin, end bin, start (relative to the first bin), count, weights) of each band.

    Each band stores the run of bins from its first to its last non-zero weight.
    """
    used = np.flatnonzero(np.any(mel_matrix != 0, axis=1))
    lo, hi = int(used[0]), int(used[-1]) + 1
    starts, counts, weights = [], [], []
    for band in range(mel_matrix.shape[1]):
        nz = np.flatnonzero(mel_matrix[:, band])
        first, last = int(nz[0]), int(nz[-1])
        starts.append(first - lo)
        counts.append(last - first + 1)
        weights.append(mel_matrix[first:last + 1, band])
    return lo, hi, np.array(starts), np.array(counts), np.concatenate(weights)


def check_mfcc(frontend: MfccFrontend) -> None:
    """Raise ConfigError for MFCC settings the C code does not implement."""
    c = frontend.config
    n = c.fft_length
    if n < 8 or n & (n - 1):
        raise ConfigError(f"C MFCC front-end: fft_length must be a power of two >= 8, got {n}")
    if n > 65536 or c.clip_samples > 2**31 - 1:
        raise ConfigError(f"C MFCC front-end: fft_length {n} or clip_samples {c.clip_samples} too large")
    if frontend.pipeline.power != 1.0 or frontend.pipeline.center_pad:
        raise ConfigError("C MFCC front-end: only the magnitude spectrum without centre padding is implemented")


def mfcc_layout(frontend: MfccFrontend, quant: InputQuant) -> FrontendLayout:
    """The generated constants and tables of `frontend`, with the input quantization `quant`."""
    check_mfcc(frontend)
    c, p = frontend.config, frontend.pipeline
    half = c.fft_length // 2
    radix2_first, twiddles = radix4_twiddles(half)
    lo, hi, starts, counts, weights = sparse_mel(p.mel_matrix)
    k = np.arange(lo, hi)
    split = np.stack([np.cos(2 * np.pi * k / c.fft_length), -np.sin(2 * np.pi * k / c.fft_length)], axis=1)
    frames, coeffs = frontend.output_shape

    unit = CUnit()
    unit.define("TKWS_FE_CLIP_SAMPLES", c.clip_samples, "samples per clip; shorter clips are zero-padded")
    unit.define("TKWS_FE_FRAME_LENGTH", c.window_samples, "samples per frame")
    unit.define("TKWS_FE_HOP", c.stride_samples, "samples between frame starts")
    unit.define("TKWS_FE_FRAMES", frames)
    unit.define("TKWS_FE_HALF", half, "complex FFT points: fft_length / 2")
    unit.define("TKWS_FE_RADIX2_FIRST", radix2_first)
    unit.define("TKWS_FE_BIN_LO", lo, "first FFT bin with a mel weight")
    unit.define("TKWS_FE_BIN_HI", hi, "one past the last")
    unit.define("TKWS_FE_MELS", c.num_mel_bins)
    unit.define("TKWS_FE_COEFFS", coeffs)
    unit.define("TKWS_FE_PEAK_NORMALIZE", c.peak_normalize)
    unit.define("TKWS_FE_LOG_OFFSET", p.log_offset)
    unit.define("TKWS_FE_INPUT_SCALE", quant.scale, "network input scale (float32)")
    unit.define("TKWS_FE_INPUT_ZERO_POINT", quant.zero_point)
    window = np.pad(p.window, (0, c.fft_length - c.window_samples))
    unit.table("fe_window", "float", window, f"periodic Hann window, {c.window_samples} taps, zeros to the FFT length")
    index_type = "uint8_t" if half <= 256 else "uint16_t"
    unit.table("fe_bitrev", index_type, bit_reversal(half), "position of complex point m in bit-reversed order")
    if len(twiddles):
        unit.table("fe_twiddle", "float", twiddles.reshape(-1), "radix-4 stages: W^k, W^2k, W^3k (re, im) per k")
    else:  # a 4-point FFT has only the twiddle-free stage
        unit.table("fe_twiddle", "float", np.zeros(1), "unused: no stage needs twiddles")
    unit.table("fe_split", "float", split.reshape(-1), "real-FFT split: cos, -sin of 2 pi k / N per used bin")
    unit.table("fe_mel_start", "uint16_t", starts, "first bin of each band, from TKWS_FE_BIN_LO")
    unit.table("fe_mel_count", "uint16_t", counts, "bins in each band")
    unit.table("fe_mel_weight", "float", 0.5 * weights, "mel weights / 2 (the split step yields 2 |X|)")
    unit.table("fe_dct", "float", p.dct_matrix.T, "DCT-II basis, one row per coefficient")
    scratch = FLOAT_BYTES * (2 * half + (hi - lo) + c.num_mel_bins)
    return FrontendLayout(
        kind="mfcc",
        algorithm="frontend_mfcc.c",
        raw_ctype="float",
        unit=unit,
        output_shape=(frames, coeffs),
        state_bytes=0,
        scratch_bytes=scratch,
    )
