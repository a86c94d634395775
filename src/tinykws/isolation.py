"""Running foreign native code (LiteRT, TFLite Micro) in a child process, so that its
crashes cannot take tinykws down with them.

    engine = IsolatedObject(SomeInterpreter, (path,), engine="TFLite Micro", source=path)
    outputs = engine.call("run", inputs)      # a method, computed in the child
    arena = engine.get("arena_bytes")         # an attribute or property
    engine.close()

The object is built once in a fresh Python process and serves calls until closed. A
TinyKWSError raised in the child is raised again here. A child killed by a signal
(SIGSEGV, SIGFPE, SIGABRT...) or silent past a call's timeout becomes a ModelFormatError
naming the source, the engine and the signal. The class must live in a module that
imports quickly (the child imports it by name).

    python -m tinykws.isolation    (the child side; not for people)
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from tinykws import errors
from tinykws.errors import ModelFormatError, TinyKWSError

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_LENGTH = struct.Struct("<Q")
DEFAULT_TIMEOUT_S = 600.0


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


class IsolatedObject:
    """An object of class `cls` built from `args` in a child process (module docstring)."""

    def __init__(self, cls: type, args: tuple, engine: str, source: str, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.engine, self.source = engine, source
        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self._child = subprocess.Popen([sys.executable, "-m", "tinykws.isolation"], env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=self._stderr)
        self._request("new", (cls.__module__, cls.__qualname__, args), timeout_s)

    def call(self, method: str, *args: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
        """`obj.method(*args)` computed in the child."""
        return self._request("call", (method, args), timeout_s)

    def get(self, attribute: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
        """`obj.attribute` read in the child (properties run there)."""
        return self._request("get", attribute, timeout_s)

    def cpu_seconds(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> float:
        """CPU time (user + system, seconds) the child process has used so far: the parent's
        own CPU time does not include a child that is still running."""
        return self._request("cpu", None, timeout_s)

    def close(self) -> None:
        """End the child process (idempotent)."""
        child = getattr(self, "_child", None)
        if child is None:
            return
        self._child = None
        try:
            child.stdin.close()
            child.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        child.stdout.close()
        self._stderr.close()

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> "IsolatedObject":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _request(self, op: str, payload: Any, timeout_s: float) -> Any:
        if self._child is None:
            raise ModelFormatError(f"{self.source}: {self.engine} was already closed")
        try:
            _send(self._child.stdin, (op, payload))
            status, value = self._reply(time.monotonic() + timeout_s, timeout_s)
        except (BrokenPipeError, EOFError, ConnectionError):
            raise self._died() from None
        if status == "ok":
            return value
        if status == "error":
            name, message = value
            cls = getattr(errors, name, TinyKWSError)
            try:
                raise cls(message)
            except TypeError:  # an error class whose constructor takes more than a message
                raise TinyKWSError(message) from None
        raise RuntimeError(f"{self.engine} (child process) failed: {value}")

    def _reply(self, deadline: float, timeout_s: float) -> tuple[str, Any]:
        head = self._read(_LENGTH.size, deadline, timeout_s)
        return pickle.loads(self._read(_LENGTH.unpack(head)[0], deadline, timeout_s))

    def _read(self, n: int, deadline: float, timeout_s: float) -> bytes:
        fd = self._child.stdout.fileno()
        chunks, got = [], 0
        while got < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._child.kill()
                self.close()
                raise ModelFormatError(f"{self.source}: {self.engine} did not answer within {timeout_s:.0f} s and "
                                       "was stopped (a hang on this model)")
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _died(self) -> ModelFormatError:
        child = self._child
        code = child.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        self.close()
        if code < 0:
            return ModelFormatError(f"{self.source}: {self.engine} crashed ({_signal_name(code)}) on this model; "
                                    "it is probably malformed (tinykws' own runtime checks a model before it runs "
                                    "it: try --runtime reference)")
        return ModelFormatError(f"{self.source}: {self.engine} stopped (exit status {code}: {tail[0][:300]})")


def _resolve(module: str, qualname: str) -> Any:
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _serve() -> int:
    """The child: build the object, then answer requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # native code that prints to stdout must not corrupt the replies
    requests = sys.stdin.buffer
    obj = None
    while True:
        head = requests.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return 0
        op, payload = pickle.loads(requests.read(_LENGTH.unpack(head)[0]))
        try:
            if op == "new":
                module, qualname, args = payload
                obj, value = _resolve(module, qualname)(*args), None
            elif op == "call":
                value = getattr(obj, payload[0])(*payload[1])
            elif op == "cpu":
                value = time.process_time()
            else:
                value = getattr(obj, payload)
            reply = ("ok", value)
        except TinyKWSError as exc:
            reply = ("error", (type(exc).__name__, str(exc)))
        except Exception as exc:  # a bug: reported to the parent, which raises it there
            reply = ("bug", f"{type(exc).__name__}: {exc}")
        _send(replies, reply)


if __name__ == "__main__":  # pragma: no cover - the child process
    sys.exit(_serve())
