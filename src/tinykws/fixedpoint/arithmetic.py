"""Arithmetics: which rounding form each operator kind uses in a reference engine.

TFLite's two reference engines do not agree bit for bit. Measured on the installed wheels
(tests/unit/test_intmodel_ops.py checks every kernel against both):
- LiteRT with OpResolverType.BUILTIN_REF requantizes FULLY_CONNECTED with single rounding
  (one 64-bit multiply-add-shift) and every other operator with gemmlowp double rounding;
- TFLite Micro uses double rounding everywhere.
On the MLPerf KWS reference model this decides the last layer on about 1 clip in 200.
They also compute int8 LOGISTIC and TANH differently: LiteRT through a 256-entry table
built in float32 with the C library's expf/tanhf (`fixedpoint.lut`), TFLite Micro in
gemmlowp fixed point (`fixedpoint.gemmlowp`).
An integer network is built for one arithmetic, named "litert_ref" or "tflite_micro".
"""

from __future__ import annotations

from tinykws.errors import ConfigError
from tinykws.fixedpoint.primitives import Rounding

ARITHMETICS: dict[str, dict[str, Rounding]] = {
    "litert_ref": {"fully_connected": "single"},
    "tflite_micro": {},
}
# How each engine evaluates int8 LOGISTIC and TANH.
ACTIVATION_FORMS = {"litert_ref": "lut", "tflite_micro": "fixed_point"}
DEFAULT_ARITHMETIC = "litert_ref"


def check_arithmetic(name: str) -> str:
    """`name` if it is a known arithmetic, else ConfigError listing the known ones."""
    if name not in ARITHMETICS:
        raise ConfigError(f"unknown arithmetic {name!r}; choose from {', '.join(sorted(ARITHMETICS))}")
    return name


def rounding_for(arithmetic: str, kind: str) -> Rounding:
    """The rounding form operator `kind` uses under `arithmetic` (double unless listed)."""
    return ARITHMETICS[check_arithmetic(arithmetic)].get(kind, "double")


def activation_form(arithmetic: str) -> str:
    """"lut" or "fixed_point": how `arithmetic` evaluates int8 LOGISTIC and TANH."""
    return ACTIVATION_FORMS[check_arithmetic(arithmetic)]
