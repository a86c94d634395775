"""The float32 math functions the C library calls while building its tables (cosf, log1pf, powf).

The tables (window, filterbank weights, PCAN gains) are computed once in float32 by the C
code, and the C math library's float functions are not all correctly rounded: glibc 2.36's
cosf and log1pf differ from the correctly rounded value for about 1 % and 4 % of inputs,
enough to move a Q12 window coefficient or filterbank weight by one. To build the same
tables as the C front-end on this machine, these helpers call the platform's own C math
library through ctypes; where none can be loaded they fall back to the correctly rounded
value (double-precision evaluation rounded to float32), which can move a table entry by one
and so the microfrontend's output by one LSB: the fallback warns once
(`LibmFallbackWarning`) and `source()` says which is in use (features record it).

A C port must therefore either call the same libm or (better) embed the tables that
tinykws generates, since a microcontroller's libm (newlib) may round differently again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import warnings
from typing import Callable

import numpy as np


def _load_libm() -> dict[str, Callable[..., float]] | None:
    name = ctypes.util.find_library("m")
    candidates = [name] if name else []
    candidates += ["libm.so.6", "libSystem.dylib", "ucrtbase.dll", "msvcrt.dll"]
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
            funcs = {}
            for fname, nargs in (("cosf", 1), ("log1pf", 1), ("powf", 2)):
                fn = getattr(lib, fname)
                fn.restype = ctypes.c_float
                fn.argtypes = [ctypes.c_float] * nargs
                funcs[fname] = fn
            return funcs
        except (OSError, AttributeError):
            continue
    return None


_LIBM = _load_libm()
_warned = False


class LibmFallbackWarning(UserWarning):
    """No C math library could be loaded: tables are built with correctly rounded math,
    which may differ from the C front-end by one LSB."""


def source() -> str:
    """Which math builds the tables: the C library, or the correctly rounded fallback."""
    return "C math library (ctypes)" if _LIBM else "correctly rounded (no C math library found)"


def _fallback() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("no C math library could be loaded: the microfrontend's tables use correctly rounded "
                      "float32 math, which may differ from the C front-end's by one LSB", LibmFallbackWarning,
                      stacklevel=3)


def cosf(x: np.float32) -> np.float32:
    """float32 cosine, as the C library's cosf computes it."""
    if _LIBM:
        return np.float32(_LIBM["cosf"](float(x)))
    _fallback()
    return np.float32(math.cos(float(x)))


def log1pf(x: np.float32) -> np.float32:
    """float32 log(1 + x), as the C library's log1pf computes it."""
    if _LIBM:
        return np.float32(_LIBM["log1pf"](float(x)))
    _fallback()
    return np.float32(math.log1p(float(x)))


def powf(x: np.float32, y: np.float32) -> np.float32:
    """float32 x ** y, as the C library's powf computes it."""
    if _LIBM:
        return np.float32(_LIBM["powf"](float(x), float(y)))
    _fallback()
    try:
        return np.float32(math.pow(float(x), float(y)))
    except OverflowError:
        return np.float32(np.inf)
