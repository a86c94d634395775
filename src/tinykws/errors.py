"""One exception family for user-facing problems.

The CLI prints the message of any `TinyKWSError` and exits with status 2; any other
exception is a bug in tinykws.
"""

from __future__ import annotations

import os


class TinyKWSError(Exception):
    """A problem the user can fix: bad input, a missing file, a wrong setting."""


class AudioError(TinyKWSError):
    """An audio file that cannot be used (missing, corrupt, empty, NaN, bad rate...)."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}")


class ConfigError(TinyKWSError):
    """A malformed recipe, an unknown key, or an invalid setting."""


class DataError(TinyKWSError):
    """A dataset folder that cannot be read as any known layout, or a bad archive."""


class ModelFormatError(TinyKWSError):
    """A malformed model file: a checkpoint, a .tflite flatbuffer, a manifest."""


class UnsupportedOpError(TinyKWSError):
    """An operation that a target (integer runtime, exporter, C code) cannot express."""


class EngineUnavailableError(TinyKWSError):
    """A synthetic speech engine (or other optional tool) that is not installed."""


class TargetError(TinyKWSError):
    """A microcontroller build or run that failed: a compile error, a program that does
    not fit its board, an emulator that crashed, exited with an error or hung."""
