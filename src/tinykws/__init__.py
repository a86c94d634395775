"""tinykws: keyword spotting from audio to a microcontroller, every step proven."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("tinykws")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"

from tinykws.environment import pin_numeric_isa  # noqa: E402
from tinykws.errors import TinyKWSError  # noqa: E402

# Before torch computes anything: the same numbers on every x86-64 CPU (see environment.py).
pin_numeric_isa()

__all__ = ["TinyKWSError", "__version__"]
