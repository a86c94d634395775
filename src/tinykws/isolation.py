"""Running foreign native code (LiteRT, TFLite Micro) in a child process, so that its
crashes cannot take tinykws down with them.

`run_isolated(function, args, engine=..., source=...)` calls `function(*args)` in a fresh
Python process and returns its result. A TinyKWSError raised in the child is raised again
here; a child killed by a signal (SIGSEGV, SIGFPE, SIGABRT...) or stopped after `timeout_s`
becomes a ModelFormatError naming the source, the engine and the signal. The function must
live in a module that imports quickly (the child imports it by name).

    python -m tinykws.isolation REQUEST RESULT    (the child side; not for people)
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from tinykws.errors import ModelFormatError, TinyKWSError

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_isolated(function: Callable[..., Any], args: tuple, engine: str, source: str,
                 timeout_s: float | None = None) -> Any:
    """`function(*args)` computed in a child process (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="tinykws-isolated-") as tmp:
        request, result = Path(tmp) / "request.pkl", Path(tmp) / "result.pkl"
        with open(request, "wb") as fh:
            pickle.dump((function.__module__, function.__qualname__, args), fh, protocol=pickle.HIGHEST_PROTOCOL)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        try:
            child = subprocess.run([sys.executable, "-m", "tinykws.isolation", str(request), str(result)],
                                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ModelFormatError(f"{source}: {engine} did not finish within {timeout_s:.0f} s and was "
                                   "stopped (a hang on this model)") from None
        if child.returncode < 0:
            raise ModelFormatError(f"{source}: {engine} crashed ({_signal_name(child.returncode)}) while running "
                                   "this model; it is probably malformed (tinykws' own runtime checks a model "
                                   "before it runs it: try --runtime reference)")
        if not result.exists():
            tail = child.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise ModelFormatError(f"{source}: {engine} failed (exit status {child.returncode}: {tail[0][:300]})")
        with open(result, "rb") as fh:
            status, value = pickle.load(fh)
    if status == "error":
        raise value
    return value


def _child(request: str, result: str) -> int:
    with open(request, "rb") as fh:
        module, name, args = pickle.load(fh)
    function = importlib.import_module(module)
    for part in name.split("."):
        function = getattr(function, part)
    try:
        outcome = ("ok", function(*args))
    except TinyKWSError as exc:
        outcome = ("error", exc)
    tmp = result + ".tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(outcome, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, result)
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process
    sys.exit(_child(sys.argv[1], sys.argv[2]))
