"""LiteRT's int8 lookup tables for LOGISTIC and TANH, computed as its Prepare() does.

LiteRT's reference kernels (and its optimized ones) evaluate int8 LOGISTIC and TANH
through a 256-entry table built in float32 at Prepare(): every input code is dequantized,
transformed with the C library's `expf` / `tanhf`, divided by the output scale, rounded
half away from zero and saturated. To be bit-exact the table is built here with the
same float32 operations and the same C library functions (through ctypes), not numpy's
own exp, which may differ from libm in the last bit. TFLite Micro computes the same
operators in gemmlowp fixed point instead (`tinykws.fixedpoint.gemmlowp`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np

from tinykws.fixedpoint.primitives import dtype_range


@lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "tanhf", "roundf"):
        fn = getattr(lib, name)
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]
    return lib


def _logistic(value: np.float32) -> np.float32:
    m = _libm()
    return np.float32(1.0) / (np.float32(1.0) + np.float32(m.expf(float(-value))))


def _tanh(value: np.float32) -> np.float32:
    return np.float32(_libm().tanhf(float(value)))


TRANSFORMS = {"logistic": _logistic, "tanh": _tanh}


def float_lut(function: str, input_scale: float, input_zero_point: int, output_scale: float,
              output_zero_point: int, dtype=np.int8) -> np.ndarray:
    """The (256,) table of `function` ("logistic" or "tanh"), indexed by the input code
    plus 128 (int8), holding the output codes."""
    transform = TRANSFORMS[function]
    lo, hi = dtype_range(dtype)
    scale = np.float32(input_scale)
    inverse = np.float32(1.0) / np.float32(output_scale)
    table = np.empty(hi - lo + 1, dtype=np.int64)
    for i, code in enumerate(range(lo, hi + 1)):
        dequantized = scale * np.float32(code - input_zero_point)
        rescaled = np.float32(_libm().roundf(float(np.float32(transform(dequantized) * inverse))))
        quantized = int(np.float32(rescaled + np.float32(output_zero_point)))
        table[i] = min(max(quantized, lo), hi)
    return table.astype(dtype)
