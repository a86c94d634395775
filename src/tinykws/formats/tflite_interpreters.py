"""LiteRT and TFLite Micro on a .tflite file, in this process.

These call native code that trusts the model file: a malformed model can crash the
process (SIGSEGV, SIGFPE, SIGABRT). tinykws therefore uses them only through
`tinykws.export.engines`, which builds them in a child process (`tinykws.isolation`).
This module stays light (numpy and the interpreter only) because the child imports it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

from tinykws.errors import EngineUnavailableError, ModelFormatError

# The interpreters parse the model bytes themselves (TFLite Micro partly in Python, with
# struct): any exception from them means "this engine cannot take this model".
_REFUSALS = (Exception,)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


class _MultiIO:
    """Models with several inputs and outputs (streaming steps): one item per input in,
    every output out; `run_steps` feeds outputs 1.. back into inputs 1.. (the state)."""

    def _invoke_all(self, inputs: list[np.ndarray], outputs: int) -> list[np.ndarray]:
        raise NotImplementedError

    def run_all(self, inputs: list[np.ndarray], outputs: int) -> list[np.ndarray]:
        try:
            return self._invoke_all(inputs, outputs)
        except _REFUSALS as exc:
            raise ModelFormatError(f"{self.path}: {self.engine} cannot run the model ({_first_line(exc)})") from None

    def run_steps(self, frames: list[np.ndarray], state: list[np.ndarray], outputs: int
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        scores = []
        for frame in frames:
            result = self.run_all([frame, *state], outputs)
            scores.append(result[0])
            state = result[1:]
        return scores, list(state)


class LiteRTInterpreter(_MultiIO):
    """An ai-edge-litert Interpreter of the .tflite at `path` with OpResolverType `resolver`
    ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES" or "AUTO")."""

    engine = "LiteRT"

    def __init__(self, path: str, resolver: str = "BUILTIN_REF"):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as exc:
            raise EngineUnavailableError(f"ai-edge-litert is not installed ({exc})") from None
        self.path = path
        try:
            self.interp = Interpreter(model_path=path, num_threads=1,
                                      experimental_op_resolver_type=getattr(OpResolverType, resolver))
            self.interp.allocate_tensors()
            self.input = self.interp.get_input_details()[0]
            self.output_index = self.interp.get_output_details()[0]["index"]
        except _REFUSALS as exc:
            raise ModelFormatError(f"{path}: LiteRT cannot load the model ({_first_line(exc)})") from None

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs (N, ...) on `inputs` (N, *input shape without batch), one item at a time."""
        outputs = []
        try:
            for x in inputs:
                self.interp.set_tensor(self.input["index"], np.asarray(x, dtype=self.input["dtype"]).reshape(
                    self.input["shape"]))
                self.interp.invoke()
                outputs.append(self.interp.get_tensor(self.output_index)[0].copy())
        except _REFUSALS as exc:
            raise ModelFormatError(f"{self.path}: LiteRT cannot run the model ({_first_line(exc)})") from None
        return np.stack(outputs)

    def invoke_times(self, runs: int, warmup: int) -> list[float]:
        """Milliseconds of each of `runs` invocations on a zero input, after `warmup` untimed
        ones: timed here, in the process that runs the interpreter."""
        self.interp.set_tensor(self.input["index"], np.zeros(self.input["shape"], dtype=self.input["dtype"]))
        try:
            for _ in range(warmup):
                self.interp.invoke()
            times = []
            for _ in range(max(1, runs)):
                start = time.perf_counter()
                self.interp.invoke()
                times.append(1000.0 * (time.perf_counter() - start))
        except _REFUSALS as exc:
            raise ModelFormatError(f"{self.path}: LiteRT cannot run the model ({_first_line(exc)})") from None
        return times

    def _invoke_all(self, inputs: list[np.ndarray], outputs: int) -> list[np.ndarray]:
        details = self.interp.get_input_details()
        if len(inputs) != len(details):
            raise ModelFormatError(f"{self.path}: the model takes {len(details)} inputs, got {len(inputs)}")
        for detail, x in zip(details, inputs):
            self.interp.set_tensor(detail["index"], np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"]))
        self.interp.invoke()
        return [self.interp.get_tensor(d["index"]).copy() for d in self.interp.get_output_details()[:outputs]]


def _allocation_report(interp) -> str:
    # The C++ side prints to file descriptor 2: capture it through a temporary file.
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as report:
        os.dup2(report.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        report.seek(0)
        return report.read()


class TFLMInterpreter(_MultiIO):
    """The TFLite Micro Python interpreter of the .tflite at `path`."""

    engine = "TFLite Micro"

    def __init__(self, path: str):
        try:
            from tflite_micro.python.tflite_micro import runtime
        except ImportError as exc:
            raise EngineUnavailableError(f"tflite-micro is not installed ({exc})") from None
        self.path = path
        try:
            self.interp = runtime.Interpreter.from_file(path)
            self.input = self.interp.get_input_details(0)
        except _REFUSALS as exc:
            raise ModelFormatError(f"{path}: TFLite Micro cannot load the model ({_first_line(exc)})") from None

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs (N, ...) on `inputs` (N, *input shape without batch), one item at a time."""
        outputs = []
        try:
            for x in inputs:
                self.interp.set_input(np.asarray(x, dtype=self.input["dtype"]).reshape(self.input["shape"]), 0)
                self.interp.invoke()
                outputs.append(self.interp.get_output(0)[0].copy())
        except _REFUSALS as exc:
            raise ModelFormatError(f"{self.path}: TFLite Micro cannot run the model ({_first_line(exc)})") from None
        return np.stack(outputs)

    def _invoke_all(self, inputs: list[np.ndarray], outputs: int) -> list[np.ndarray]:
        for i, x in enumerate(inputs):
            detail = self.interp.get_input_details(i)
            self.interp.set_input(np.asarray(x, dtype=detail["dtype"]).reshape(detail["shape"]), i)
        self.interp.invoke()
        return [self.interp.get_output(i).copy() for i in range(outputs)]

    @property
    def arena_bytes(self) -> int:
        """The tensor arena TFLite Micro allocated for the model, in bytes."""
        report = _allocation_report(self.interp)
        for line in report.splitlines():
            if "Arena allocation total" in line:
                return int(line.split("total")[1].split("bytes")[0])
        raise EngineUnavailableError(f"{self.path}: TFLite Micro printed no arena total "
                                     f"(its allocation report: {report.strip()[:200]!r})")
