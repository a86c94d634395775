"""Run an exported .tflite on TFLite's reference engines, to check it bit for bit.

- LiteRT (ai-edge-litert) with OpResolverType.BUILTIN_REF: the reference kernels (the
  default XNNPACK delegate and the optimized kernels do not reproduce them exactly);
- the TFLite Micro Python interpreter (PyPI tflite-micro), which also reports the tensor
  arena it needed.
Both are optional dependencies: a missing one is an EngineUnavailableError. Both run in a
child process (`tinykws.isolation`): native code that crashes on a malformed model becomes
a ModelFormatError naming the engine and the signal instead of killing tinykws.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

import numpy as np

from tinykws.errors import EngineUnavailableError
from tinykws.formats.tflite_interpreters import litert_outputs, tflm_outputs
from tinykws.isolation import run_isolated

# A generous bound for one call: loading, plus far more than any clip needs.
_TIMEOUT_BASE_S = 120.0
_TIMEOUT_PER_INPUT_S = 1.0


@dataclass(frozen=True)
class TFLMRun:
    """Outputs (N, ...) of TFLite Micro and its arena use in bytes (None if not reported)."""

    outputs: np.ndarray
    arena_bytes: int | None


def _require(module: str, package: str) -> None:
    # Checked here, not only in the child, so that a missing package is named up front.
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailableError(f"{package} is not installed ({exc})") from None


def _timeout(inputs: np.ndarray) -> float:
    return _TIMEOUT_BASE_S + _TIMEOUT_PER_INPUT_S * len(inputs)


def run_litert(path: str | os.PathLike, inputs: np.ndarray, resolver: str = "BUILTIN_REF") -> np.ndarray:
    """Outputs of LiteRT on `inputs` (N, *input shape without batch), one item at a time.

    resolver: an OpResolverType name ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "AUTO").
    """
    _require("ai_edge_litert.interpreter", "ai-edge-litert")
    return run_isolated(litert_outputs, (os.fspath(path), np.asarray(inputs), resolver), engine="LiteRT",
                        source=os.fspath(path), timeout_s=_timeout(inputs))


def run_tflm(path: str | os.PathLike, inputs: np.ndarray) -> TFLMRun:
    """Outputs of the TFLite Micro interpreter on `inputs` and the arena bytes it used."""
    _require("tflite_micro.python.tflite_micro.runtime", "tflite-micro")
    outputs, arena = run_isolated(tflm_outputs, (os.fspath(path), np.asarray(inputs)), engine="TFLite Micro",
                                  source=os.fspath(path), timeout_s=_timeout(inputs))
    return TFLMRun(outputs, arena)
