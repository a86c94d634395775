"""LiteRT and TFLite Micro on a .tflite file, in this process.

These call native code that trusts the model file: a malformed model can crash the
process (SIGSEGV, SIGFPE, SIGABRT). tinykws therefore calls them only through
`tinykws.export.engines`, which runs them in a child process (`tinykws.isolation`). This
module stays light (numpy and the interpreter only) because the child imports it by name.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from tinykws.errors import EngineUnavailableError, ModelFormatError


def litert_outputs(path: str, inputs: np.ndarray, resolver: str = "BUILTIN_REF") -> np.ndarray:
    """Outputs of LiteRT on `inputs` (N, *input shape without batch), one item at a time.

    resolver: an OpResolverType name ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "AUTO").
    """
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as exc:
        raise EngineUnavailableError(f"ai-edge-litert is not installed ({exc})") from None
    try:
        interp = Interpreter(model_path=os.fspath(path), num_threads=1,
                             experimental_op_resolver_type=getattr(OpResolverType, resolver))
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        out = interp.get_output_details()[0]["index"]
        outputs = []
        for x in inputs:
            interp.set_tensor(inp["index"], np.asarray(x, dtype=inp["dtype"]).reshape(inp["shape"]))
            interp.invoke()
            outputs.append(interp.get_tensor(out)[0].copy())
    except (ValueError, RuntimeError, IndexError, TypeError) as exc:
        raise ModelFormatError(f"{path}: LiteRT cannot run the model ({_first_line(exc)})") from None
    return np.stack(outputs)


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


def tflm_outputs(path: str, inputs: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Outputs of the TFLite Micro interpreter on `inputs` and the arena bytes it used."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise EngineUnavailableError(f"tflite-micro is not installed ({exc})") from None
    try:
        interp = runtime.Interpreter.from_file(os.fspath(path))
        details = interp.get_input_details(0)
        outputs = []
        for x in inputs:
            interp.set_input(np.asarray(x, dtype=details["dtype"]).reshape(details["shape"]), 0)
            interp.invoke()
            outputs.append(interp.get_output(0)[0].copy())
    except (ValueError, RuntimeError, IndexError, TypeError, KeyError) as exc:
        raise ModelFormatError(f"{path}: TFLite Micro cannot run the model ({_first_line(exc)})") from None
    arena = None
    for line in _allocation_report(interp).splitlines():
        if "Arena allocation total" in line:
            arena = int(line.split("total")[1].split("bytes")[0])
    return np.stack(outputs), arena


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
