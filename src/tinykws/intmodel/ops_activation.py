"""int8 kernels of the operators recurrent and gated networks need: LOGISTIC, TANH,
MUL, SPLIT and BATCH_MATMUL (SUB runs ADD's kernel on parameters whose second multiplier
the importer negated), each as TFLite's reference kernel of the engine whose
arithmetic the parameters were derived for (see `tinykws.intmodel.params_elementwise`)."""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint import gemmlowp
from tinykws.fixedpoint.primitives import (
    Rounding,
    check_int32,
    dtype_range,
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
)
from tinykws.intmodel.params_elementwise import (
    ACTIVATION_INPUT_INTEGER_BITS,
    BatchMatMulParams,
    FixedPointActivationParams,
    LookupParams,
    MulParams,
    SplitParams,
)

# Output fixed-point bits of the int8 results: LOGISTIC in [0, 1) at 1/256 (zero point
# -128), TANH in (-1, 1) at 1/128 (zero point 0).
_OUTPUT_SHIFT = {"logistic": 31 - 8, "tanh": 31 - 7}
_OUTPUT_OFFSET = {"logistic": -128, "tanh": 0}


def activation(p: LookupParams | FixedPointActivationParams, x: np.ndarray, rounding: Rounding,
               out_dtype=np.int8) -> np.ndarray:
    """LOGISTIC or TANH of int8 `x` by table (LiteRT) or in gemmlowp fixed point (TFLite Micro)."""
    if isinstance(p, LookupParams):
        return p.table[x.astype(np.int64) + 128].astype(out_dtype)
    lo, hi = dtype_range(out_dtype)
    centred = x.astype(np.int64) - p.input_zero_point
    q4 = multiply_by_quantized_multiplier(centred, p.input_multiplier, p.input_left_shift, rounding)
    function = gemmlowp.logistic if p.function == "logistic" else gemmlowp.tanh
    q0 = function(q4, ACTIVATION_INPUT_INTEGER_BITS)
    out = rounding_divide_by_pot(q0, _OUTPUT_SHIFT[p.function]) + _OUTPUT_OFFSET[p.function]
    out = np.where(centred <= -p.input_range_radius, lo, np.where(centred >= p.input_range_radius, hi, out))
    return np.clip(out, lo, hi).astype(out_dtype)


def mul(p: MulParams, a: np.ndarray, b: np.ndarray, rounding: Rounding, out_dtype=np.int8) -> np.ndarray:
    """MUL with numpy broadcasting: the int32 product of the offset inputs, requantized."""
    product = (a.astype(np.int64) + p.input1_offset) * (b.astype(np.int64) + p.input2_offset)
    out = multiply_by_quantized_multiplier(product, p.output_multiplier, p.output_shift, rounding) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(out_dtype)


def split(p: SplitParams, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """SPLIT into equal parts along `p.axis` (of the batched array)."""
    return tuple(np.split(x, p.num_splits, axis=p.axis))


def batch_matmul(p: BatchMatMulParams, lhs: np.ndarray, rhs: np.ndarray, rounding: Rounding,
                 out_dtype=np.int8) -> np.ndarray:
    """BATCH_MATMUL of int8 operands (..., M, K) x (..., K, N) with broadcast batch axes."""
    a = lhs.astype(np.int64) + p.lhs_offset
    b = rhs.astype(np.int64) + p.rhs_offset
    if p.adj_x:
        a = np.swapaxes(a, -1, -2)
    if p.adj_y:
        b = np.swapaxes(b, -1, -2)
    acc = check_int32(np.matmul(a, b), "the accumulator (sum of products)")
    out = multiply_by_quantized_multiplier(acc, p.output_multiplier, p.output_shift, rounding) + p.output_offset
    lo, hi = dtype_range(out_dtype)
    return np.clip(out, lo, hi).astype(out_dtype)
