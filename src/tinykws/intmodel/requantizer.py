"""Requantization of int32 accumulators with its constants prepared once per operator.

`ops_conv.requantize` derives shifts, masks and rounding terms from the multipliers on every
call and checks every accumulator against the int32 range. A `Requantizer` computes the
same values (bit for bit, tests/unit/test_intmodel_prepared.py compares them) with:

- the int32 check skipped when a bound on |accumulator|, known from the weights and the
  input range when the model is loaded, proves that it fits (else checked as before);
- double rounding as one multiply by `multiplier << left_shift` (exact when the bound
  proves `accumulator << left_shift` fits int32, so that TFLite's wrap cannot happen; the
  multiplier is below 2^31, so the doubling high multiply never saturates) and the rounding
  right shift as (x + 2^(e-1) - [x < 0]) >> e, which equals gemmlowp's RoundingDivideByPOT
  for e >= 1 (round half away from zero); `high` has the sign of the accumulator, so the
  sign is taken from the accumulator;
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
        left = np.maximum(self.shifts, 0)
        right = np.maximum(-self.shifts, 0)
        fits = (not self.check and int(bound) << int(left.max(initial=0)) <= INT32_MAX
                and bool(np.all((self.multipliers >= 0) & (self.multipliers <= INT32_MAX))))
        self.fast = rounding == "single" or fits
        if rounding == "single":
            total = 31 - self.shifts
            self.scale, self.add, self.shift = self.multipliers, np.int64(1) << (total - 1), total
        else:
            self.scale = self.multipliers << left
            self.right = _uniform(right)
            self.round_up = _uniform(np.where(right > 0, np.int64(1) << np.maximum(right - 1, 0), 0))
            self.all_right = bool(np.all(right > 0))

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        """`acc` (int64, owned by the caller and overwritten) requantized."""
        if self.check:
            check_int32(acc, ACCUMULATOR)
        if not self.fast:
            scaled = multiply_by_quantized_multiplier(acc, self.multipliers, self.shifts, self.rounding)
            return self._clamp(scaled)
        if self.rounding == "single":
            acc *= self.scale
            acc += self.add
            acc >>= self.shift
            return self._clamp(acc)
        negative = acc < 0
        acc *= self.scale
        acc += 1 << 30
        acc >>= 31
        if self.all_right:
            acc += self.round_up
            acc -= negative
            acc >>= self.right
        else:  # some channels are not shifted right: the generic rounding divide
            mask = (np.int64(1) << self.right) - 1
            threshold = (mask >> 1) + negative
            up = (acc & mask) > threshold
            acc >>= self.right
            acc += up
        return self._clamp(acc)

    def _clamp(self, acc: np.ndarray) -> np.ndarray:
        acc += self.output_offset
        np.maximum(acc, self.act_min, out=acc)
        np.minimum(acc, self.act_max, out=acc)
        return acc.astype(self.dtype)


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
