"""TFLite's reference engines, loaded once and run on batches, to check a .tflite bit for bit.

- LiteRT (ai-edge-litert) with OpResolverType.BUILTIN_REF: the reference kernels (the
  default XNNPACK delegate and the optimized kernels do not reproduce them exactly);
- the TFLite Micro Python interpreter (PyPI tflite-micro), which also reports the tensor
  arena it needed.
Both are optional dependencies: a missing one is an EngineUnavailableError. The runtimes
built on them are `tinykws.export.runners`.

Both run in a child process (`tinykws.isolation`): native code that crashes or hangs on a
malformed model becomes a ModelFormatError naming the engine and the signal instead of
killing tinykws.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from tinykws.errors import EngineUnavailableError
from tinykws.formats.tflite_interpreters import LiteRTInterpreter, TFLMInterpreter
from tinykws.isolation import IsolatedObject

# A generous bound for one call: far more than any clip needs on either engine.
_TIMEOUT_BASE_S = 120.0
_TIMEOUT_PER_INPUT_S = 1.0


def _require(module: str, package: str) -> None:
    # Checked here too, not only in the child, so that a missing package is named up front.
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailableError(f"{package} is not installed ({exc})") from None


class _IsolatedEngine:
    def __init__(self, engine: IsolatedObject):
        self._engine = engine

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs (N, ...) on `inputs` (N, *input shape without batch), one item at a time."""
        inputs = np.asarray(inputs)
        return self._engine.call("run", inputs, timeout_s=_TIMEOUT_BASE_S + _TIMEOUT_PER_INPUT_S * len(inputs))

    def run_all(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Every output of one invocation on one item per input (each with its batch
        dimension of 1): for models with several inputs and outputs, such as streaming steps."""
        return self._engine.call("run_all", [np.asarray(x) for x in inputs], self._outputs(), timeout_s=_TIMEOUT_BASE_S)

    def run_steps(self, frames: list[np.ndarray], state: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """A streaming step over consecutive frames, its state fed back, in one call of the
        child (see `ModelRunner.run_steps`)."""
        return self._engine.call("run_steps", [np.asarray(f) for f in frames], [np.asarray(s) for s in state],
                                 self._outputs(), timeout_s=_TIMEOUT_BASE_S + _TIMEOUT_PER_INPUT_S * len(frames))

    def _outputs(self) -> int:
        # the TFLite Micro interpreter cannot count its outputs: read them from the file once
        if getattr(self, "_num_outputs", None) is None:
            from tinykws.formats.tflite_reader import read_tflite

            self._num_outputs = len(read_tflite(self.path).main.outputs)
        return self._num_outputs

    def cpu_seconds(self) -> float:
        """CPU seconds the engine's child process has used so far (see IsolatedObject)."""
        return self._engine.cpu_seconds()

    def close(self) -> None:
        self._engine.close()


class LiteRTEngine(_IsolatedEngine):
    """An ai-edge-litert Interpreter of the .tflite at `path` with OpResolverType `resolver`
    ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES" or "AUTO")."""

    def __init__(self, path: str | os.PathLike, resolver: str = "BUILTIN_REF"):
        _require("ai_edge_litert.interpreter", "ai-edge-litert")
        self.path = os.fspath(path)
        super().__init__(IsolatedObject(LiteRTInterpreter, (self.path, resolver), "LiteRT", self.path,
                                        _TIMEOUT_BASE_S))


    def invoke_times(self, runs: int, warmup: int) -> list[float]:
        """Milliseconds of each of `runs` single invocations on a zero input, after `warmup`
        untimed ones, timed inside the engine's process (no transfer between processes)."""
        return self._engine.call("invoke_times", runs, warmup, timeout_s=_TIMEOUT_BASE_S + 0.1 * (runs + warmup))


class TFLMEngine(_IsolatedEngine):
    """The TFLite Micro Python interpreter of the .tflite at `path`."""

    def __init__(self, path: str | os.PathLike):
        _require("tflite_micro.python.tflite_micro.runtime", "tflite-micro")
        self.path = os.fspath(path)
        super().__init__(IsolatedObject(TFLMInterpreter, (self.path,), "TFLite Micro", self.path, _TIMEOUT_BASE_S))

    @property
    def arena_bytes(self) -> int:
        """The tensor arena TFLite Micro allocated for the model, in bytes."""
        return self._engine.get("arena_bytes", timeout_s=_TIMEOUT_BASE_S)
