"""Fake quantization with TFLite's int8 arithmetic and a straight-through estimator.

Values are rounded half away from zero (TFLite's rounding of weights, biases and
requantized outputs), clamped to the integer range and mapped back to reals, so a float
forward pass sees exactly the values the integer network holds. Gradients pass through
the rounding unchanged and stop where the clamp saturates (clipped STE).
"""

from __future__ import annotations

import numpy as np
import torch

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """Round to nearest, ties away from zero (C's `round`)."""
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """`round_half_away` in the forward pass, identity in the backward pass."""
    return x + (round_half_away(x) - x).detach()


def int_range(bits: int, symmetric: bool) -> tuple[int, int]:
    """Integer range of a `bits`-bit signed value; symmetric drops the most negative code."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (lo + 1 if symmetric else lo), hi


def fake_quantize(x: torch.Tensor, scale: torch.Tensor | float, zero_point: torch.Tensor | int, qmin: int,
                  qmax: int) -> torch.Tensor:
    """scale * (clamp(round(x / scale) + zp, qmin, qmax) - zp), with the clipped STE.

    `scale`/`zero_point` broadcast against `x` (per-channel: shape them accordingly).
    """
    q = torch.clamp(round_ste(x / scale) + zero_point, qmin, qmax)
    return (q - zero_point).to(x.dtype) * torch.as_tensor(scale).to(x.dtype)


def weight_scales(weight: torch.Tensor, channel_dim: int | None, bits: int) -> torch.Tensor:
    """Symmetric weight scales (float32): max |w| / qmax per slice along `channel_dim`
    (None: one scale for the whole tensor). An all-zero slice gets scale 1 (its codes are 0)."""
    _, qmax = int_range(bits, symmetric=True)
    w = weight.detach().double()
    if channel_dim is None:
        amax = w.abs().max().reshape(1)
    else:
        dims = [d for d in range(w.dim()) if d != channel_dim]
        amax = w.abs().amax(dim=dims) if dims else w.abs()  # amax over no dims would reduce them all
    scales = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    return scales.float()


def _broadcast(values: torch.Tensor, like: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    if channel_dim is None:
        return values.reshape(())
    shape = [1] * like.dim()
    shape[channel_dim] = -1
    return values.reshape(shape)


def quantize_weight(weight: torch.Tensor, scales: torch.Tensor, channel_dim: int | None, bits: int,
                    ste: bool = True) -> torch.Tensor:
    """Weights as reals on the integer grid (fake quant, STE) for the given scales; the codes
    are found in the weight's precision, as `weight_codes` does."""
    qmin, qmax = int_range(bits, symmetric=True)
    s = _broadcast(scales.to(weight.dtype), weight, channel_dim)
    if not ste:
        return torch.clamp(round_half_away(weight / s), qmin, qmax) * s
    return fake_quantize(weight, s, 0, qmin, qmax)


def weight_codes(weight: torch.Tensor, scales: torch.Tensor, channel_dim: int | None, bits: int) -> np.ndarray:
    """The int8 codes of `weight` (same arithmetic as `quantize_weight`)."""
    qmin, qmax = int_range(bits, symmetric=True)
    with torch.no_grad():
        s = _broadcast(scales.to(weight.dtype), weight, channel_dim)
        q = torch.clamp(round_half_away(weight.detach() / s), qmin, qmax)
    return q.numpy().astype(np.int8)


def bias_scales(input_scale: torch.Tensor | float, w_scales: torch.Tensor) -> torch.Tensor:
    """int32 bias scales input_scale * weight_scale, formed in double then stored as float32
    (TFLite checks the bias scale against this product)."""
    return (torch.as_tensor(input_scale, dtype=torch.float64) * w_scales.double()).float()


def quantize_bias(bias: torch.Tensor, scales: torch.Tensor, ste: bool = True) -> torch.Tensor:
    """Bias as reals on its int32 grid (zero point 0)."""
    s = scales.to(torch.float64)
    b = bias.double()
    q = torch.clamp(round_ste(b / s) if ste else round_half_away(b / s), INT32_MIN, INT32_MAX)
    return (q * s).to(bias.dtype)


def bias_codes(bias: torch.Tensor, scales: torch.Tensor) -> np.ndarray:
    """The int32 codes of `bias` (same arithmetic as `quantize_bias`)."""
    with torch.no_grad():
        q = torch.clamp(round_half_away(bias.detach().double() / scales.double()), INT32_MIN, INT32_MAX)
    return q.numpy().astype(np.int32)


def activation_qparams(lo: float, hi: float, bits: int) -> tuple[float, int]:
    """(scale float32, zero point) of an asymmetric activation covering [lo, hi].

    The range is widened to include 0 (so real 0, the padding value, is exact) and the
    zero point is rounded and saturated, as TFLite's converter does.
    """
    qmin, qmax = int_range(bits, symmetric=False)
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8 * (qmax - qmin)
    scale = float(np.float32((hi - lo) / (qmax - qmin)))
    zero_point = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return scale, zero_point


def asymmetric_weight_qparams(weight: torch.Tensor, channel_dim: int | None, bits: int) -> tuple[torch.Tensor,
                                                                                                  torch.Tensor]:
    """(scales float32, zero points) mapping each slice's [min, max] (widened to include 0)
    onto the full signed range [-2^(b-1), 2^(b-1)-1]: asymmetric weights (simulation only)."""
    qmin, qmax = int_range(bits, symmetric=False)
    w = weight.detach().double()
    if channel_dim is None:
        lo, hi = w.min().reshape(1), w.max().reshape(1)
    else:
        dims = [d for d in range(w.dim()) if d != channel_dim]
        lo, hi = (w.amin(dim=dims), w.amax(dim=dims)) if dims else (w, w)
    lo, hi = torch.clamp(lo, max=0.0), torch.clamp(hi, min=0.0)
    scales = torch.where(hi > lo, (hi - lo) / (qmax - qmin), torch.ones_like(hi))
    zero_points = torch.clamp(torch.round(qmin - lo / scales), qmin, qmax)
    return scales.float(), zero_points.to(torch.int64)


def fake_quantize_weight(weight: torch.Tensor, scales: torch.Tensor, zero_points: torch.Tensor,
                         channel_dim: int | None, bits: int) -> torch.Tensor:
    """Asymmetric weights on their grid (STE) for per-slice scales and zero points."""
    qmin, qmax = int_range(bits, symmetric=False)
    s = _broadcast(scales.to(weight.dtype), weight, channel_dim)
    zp = _broadcast(zero_points.to(weight.dtype), weight, channel_dim)
    return fake_quantize(weight, s, zp, qmin, qmax)


def symmetric_activation_qparams(lo: float, hi: float, bits: int) -> tuple[float, int]:
    """(scale float32, 0): activations with zero point 0 covering max(|lo|, |hi|) with
    the symmetric range [-(2^(b-1)-1), 2^(b-1)-1] (simulation only)."""
    _, qmax = int_range(bits, symmetric=True)
    amax = max(abs(float(lo)), abs(float(hi)), 1e-8)
    return float(np.float32(amax / qmax)), 0
