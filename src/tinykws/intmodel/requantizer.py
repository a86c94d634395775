"""Requantization of int32 accumulators with its constants prepared once per operator.

`ops_conv.requantize` derives shifts, masks and rounding terms from the multipliers on every
call and checks every accumulator against the int32 range. A `Requantizer` computes the
same values (bit for bit, tests/unit/test_intmodel_prepared.py compares them) with:

- the int32 check skipped when a bound on |accumulator|, known from the weights and the
  input range when the model is loaded, proves that it fits (else checked as before);
- the multiply, both rounding shifts and the output offset fused into one multiply, one
  add, one conditional subtract and one shift (derivation in `_fused`), where the bound
  proves every intermediate fits (else the generic primitives run);
- in-place numpy operations on the accumulator, which the caller hands over.
"""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint.primitives import INT32_MAX, Rounding, check_int32, multiply_by_quantized_multiplier

ACCUMULATOR = "the accumulator (sum of products plus bias)"


class Requantizer:
    """int64 accumulators (..., channels) -> clamped outputs of `dtype`, exactly as
    `ops_conv.requantize(acc, multipliers, shifts, output_offset, act_min, act_max,
    rounding, dtype)`; `bound`: a proven bound on |accumulator| (None: unknown)."""

    def __init__(self, multipliers, shifts, output_offset: int, act_min: int, act_max: int, rounding: Rounding,
                 dtype, bound: int | None):
        self.multipliers = np.asarray(multipliers, np.int64)
        self.shifts = np.asarray(shifts, np.int64)
        self.output_offset, self.act_min, self.act_max = int(output_offset), int(act_min), int(act_max)
        self.rounding = rounding
        self.dtype = np.dtype(dtype)
        self.check = bound is None or bound > INT32_MAX
        self.fused = None if self.check else _fused(self.multipliers, self.shifts, self.output_offset, rounding,
                                                     int(bound))

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        """`acc` (int64, owned by the caller and overwritten) requantized."""
        if self.fused is None:
            if self.check:
                check_int32(acc, ACCUMULATOR)
            acc = multiply_by_quantized_multiplier(acc, self.multipliers, self.shifts, self.rounding)
            acc += self.output_offset
        else:
            scale, add, below_zero, shift = self.fused
            if below_zero is not None:
                negative = acc >> 63  # -1 where acc < 0, else 0
                negative &= below_zero
            acc *= scale
            acc += add
            if below_zero is not None:
                acc += negative
            acc >>= shift
        np.maximum(acc, self.act_min, out=acc)
        np.minimum(acc, self.act_max, out=acc)
        return acc.astype(self.dtype)


def _fused(multipliers: np.ndarray, shifts: np.ndarray, offset: int, rounding: Rounding, bound: int):
    """(scale, add, below_zero, shift) such that (acc * scale + add + [acc < 0] * below_zero)
    >> shift is the requantized accumulator plus the output offset, or None when that is not
    provably exact for |acc| <= bound. Derivation (double rounding, e = right shift): with
    no left-shift wrap (bound << left fits int32) and multiplier < 2^31, high =
    (acc * (m << left) + 2^30) >> 31; RoundingDivideByPOT(high, e) = (high + 2^(e-1) -
    [high < 0]) >> e for e >= 1 (high has the sign of acc, or is 0 where the term does not
    matter); the output offset adds offset << e before that shift, and a whole multiple of
    2^31 added before the first shift moves through it, so both shifts become one. Single
    rounding: (acc * m + 2^(t-1) + (offset << t)) >> t with t = 31 - shift."""
    if not bool(np.all((multipliers >= 0) & (multipliers <= INT32_MAX))):
        return None
    if rounding == "single":
        total = 31 - shifts
        scale, add, below_zero = multipliers, (np.int64(1) << (total - 1)) + (np.int64(offset) << total), None
        ints = [(int(s), int(a), 0) for s, a in np.broadcast(scale, add)] if _fits_shift(total, offset) else None
    else:
        left, right = np.maximum(shifts, 0), np.maximum(-shifts, 0)
        if bound << int(left.max(initial=0)) > INT32_MAX or not _fits_shift(right + 31, offset):
            return None
        scale = multipliers << left
        round_up = np.where(right > 0, np.int64(1) << np.maximum(right - 1, 0), 0)
        add = (1 << 30) + ((round_up + (np.int64(offset) << right)) << 31)
        below_zero = np.where(right > 0, -(np.int64(1) << 31), 0)  # added where acc < 0
        total = right + 31
        ints = [(int(s), int(a), int(b)) for s, a, b in np.broadcast(scale, add, below_zero)]
    if ints is None or max(bound * s + abs(a) + abs(b) for s, a, b in ints) >= 1 << 63:
        return None
    return _uniform(scale), _uniform(add), None if below_zero is None else _uniform(below_zero), _uniform(total)


def _fits_shift(total: np.ndarray, offset: int) -> bool:
    """offset << total stays far inside int64 (the add term is computed in int64)."""
    return abs(offset) * (1 << int(np.max(total, initial=0))) < 1 << 61


def _uniform(values: np.ndarray):
    """A scalar when every channel has the same value (cheaper to broadcast), else the array."""
    return values.reshape(-1)[0] if values.size and np.all(values == values.reshape(-1)[0]) else values


def product_bound(weights: np.ndarray, input_offset: int, input_dtype, bias: np.ndarray | None,
                  axis: tuple[int, ...]) -> int:
    """max over output channels of sum |w| * max |x + input_offset| + |bias| (x over the
    range of `input_dtype`; `axis`: the weight axes summed per channel)."""
    info = np.iinfo(input_dtype)
    largest = max(abs(int(info.min) + input_offset), abs(int(info.max) + input_offset))
    total = np.abs(weights.astype(np.int64)).sum(axis=axis) * largest
    if bias is not None:
        total = total + np.abs(bias.astype(np.int64))
    return int(np.max(total, initial=0))
