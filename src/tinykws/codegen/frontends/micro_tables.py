"""Constants and tables of the C microfrontend (`c/frontend/frontend_micro.c`).

Every table is taken from the numpy front-end's `MicroPlan` (built by
`tinykws.audio.frontends.micro`, with the C library's float32 cosf/log1pf/powf where the
original computes its tables at run time), so the C code needs no math library and gives
the numpy front-end's integers bit for bit.
"""

from __future__ import annotations

import numpy as np

from tinykws.audio.frontends.micro.log_scale import LOG_LUT
from tinykws.audio.frontends.microfrontend import MicroFrontend
from tinykws.codegen.frontends.c_text import CUnit
from tinykws.codegen.frontends.layout import FrontendLayout
from tinykws.codegen.frontends.quantize import InputQuant, uint16_thresholds
from tinykws.errors import ConfigError


def stage_table(factors: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(radix, sub-length m, twiddle stride) of each FFT stage, innermost first."""
    fstride = np.cumprod([1] + [radix for radix, _ in factors])
    rows = [(radix, m, int(fstride[s])) for s, (radix, m) in enumerate(factors)]
    return np.array(rows[::-1], dtype=np.int64)


def micro_layout(frontend: MicroFrontend, quant: InputQuant) -> FrontendLayout:
    """The generated constants and tables of `frontend`, with the input quantization `quant`."""
    c, plan = frontend.config, frontend.plan
    fft, fb = plan.fft, plan.filterbank
    if fft.fft_size > 65536 or any(radix not in (2, 4) for radix, _ in fft.factors):
        raise ConfigError(f"C microfrontend: FFT size {fft.fft_size} is not supported (powers of two up to 65536)")
    frames, channels = frontend.output_shape
    nr = plan.noise_reduction
    q_min, thresholds = uint16_thresholds(c.output_scale, quant)

    unit = CUnit()
    unit.define("TKWS_FE_CLIP_SAMPLES", c.clip_samples, "samples per clip; shorter clips are zero-padded")
    unit.define("TKWS_FE_WINDOW_SAMPLES", plan.window_samples)
    unit.define("TKWS_FE_STRIDE", plan.stride_samples, "samples between frame starts")
    unit.define("TKWS_FE_FRAMES", frames)
    unit.define("TKWS_FE_FFT_SIZE", fft.fft_size)
    unit.define("TKWS_FE_HALF", fft.fft_size // 2, "complex FFT points")
    unit.define("TKWS_FE_STAGES", len(fft.factors))
    unit.define("TKWS_FE_CHANNELS", channels)
    unit.define("TKWS_FE_START_INDEX", fb.start_index, "first FFT bin of the filterbank")
    unit.define("TKWS_FE_END_INDEX", fb.end_index, "one past the last")
    unit.define("TKWS_FE_NOISE_REDUCTION", nr is not None)
    unit.define("TKWS_FE_SMOOTHING_BITS", nr.smoothing_bits if nr else 0)
    unit.define("TKWS_FE_EVEN_SMOOTHING", nr.even_smoothing if nr else 0, "Q14")
    unit.define("TKWS_FE_ODD_SMOOTHING", nr.odd_smoothing if nr else 0, "Q14")
    unit.define("TKWS_FE_MIN_SIGNAL_REMAINING", nr.min_signal_remaining if nr else 0, "Q14")
    unit.define("TKWS_FE_PCAN", plan.pcan_lut is not None)
    unit.define("TKWS_FE_PCAN_SNR_SHIFT", plan.pcan_snr_shift)
    unit.define("TKWS_FE_LOG", plan.log_enable)
    unit.define("TKWS_FE_LOG_SCALE_SHIFT", plan.log_scale_shift)
    unit.define("TKWS_FE_CORRECTION_BITS", plan.correction_bits, "log input shift (left if positive)")
    unit.define("TKWS_FE_QUANT_MIN", q_min, "int8 feature of uint16 0")
    unit.define("TKWS_FE_QUANT_LEVELS", len(thresholds), "entries of fe_quant_threshold in use")
    unit.table("fe_window", "int16_t", plan.window, "Q12 Hann window")
    unit.table("fe_leaf", "uint16_t", fft.leaf_order, "complex input point read by each FFT leaf")
    unit.table("fe_stages", "uint16_t", stage_table(fft.factors), "radix, m, twiddle stride; innermost first")
    unit.table("fe_twiddle", "int16_t", fft.twiddles, "Q15 exp(-2 pi i k / (N/2))")
    unit.table("fe_super_twiddle", "int16_t", fft.super_twiddles, "Q15 twiddles of the real-FFT split")
    unit.table("fe_band_start", "uint16_t", fb.band_starts, "first FFT bin of each band")
    unit.table("fe_band_width", "uint16_t", fb.band_widths, "FFT bins of each band")
    unit.table("fe_weight", "int16_t", fb.weights, "Q12 weight of each bin (to the channel below)")
    unit.table("fe_unweight", "int16_t", fb.unweights, "Q12 1 - weight (to the band's own channel)")
    if plan.pcan_lut is not None:
        unit.table("fe_pcan_lut", "int16_t", plan.pcan_lut, "PCAN gain: piecewise quadratic per octave")
    if plan.log_enable:
        unit.table("fe_log_lut", "uint16_t", LOG_LUT, "Q16 log2(1 + f) - f")
    unit.table(
        "fe_quant_threshold", "uint16_t", thresholds if len(thresholds) else np.zeros(1),
        "smallest uint16 feature of each int8 level above TKWS_FE_QUANT_MIN",
    )
    half = fft.fft_size // 2
    scratch = 2 * fft.fft_size + 2 * 2 * half + 4 * (fb.end_index - fb.start_index) + 4 * channels
    return FrontendLayout(
        kind="microfrontend",
        algorithm="frontend_micro.c",
        raw_ctype="uint16_t",
        unit=unit,
        output_shape=(frames, channels),
        state_bytes=4 * channels,
        scratch_bytes=scratch,
    )
