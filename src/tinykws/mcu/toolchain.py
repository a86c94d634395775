"""Finding the Arm cross toolchain (arm-none-eabi-gcc, -size, -nm, newlib) and qemu-system-arm.

Tools are looked up on PATH, or in the folder named by the environment variable
TINYKWS_ARM_TOOLCHAIN_BIN (an Arm GNU Toolchain tarball, say) first. A missing tool is an
`EngineUnavailableError` that carries the Debian install line.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinykws.errors import EngineUnavailableError

APT_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")
APT_LINE = "sudo apt-get install --no-install-recommends " + " ".join(APT_PACKAGES)
BIN_ENV = "TINYKWS_ARM_TOOLCHAIN_BIN"


@dataclass(frozen=True)
class Toolchain:
    """Absolute paths of the tools, and their versions as the tools print them."""

    gcc: Path
    size: Path
    nm: Path
    objdump: Path
    qemu: Path
    gcc_version: str
    qemu_version: tuple[int, int, int]

    def describe(self) -> dict[str, str]:
        """A JSON-ready record of the tool versions (for results files)."""
        return {
            "gcc": self.gcc_version,
            "qemu": ".".join(str(v) for v in self.qemu_version),
        }


def _which(name: str) -> Path | None:
    folder = os.environ.get(BIN_ENV)
    if folder:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def _missing(what: str) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"{what} is not installed (the Cortex-M build and emulation need it). "
        f"Install it with: {APT_LINE}  (or `make setup` as root; or set {BIN_ENV} to the toolchain's bin folder)"
    )


def _first_line(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def _qemu_version(qemu: Path) -> tuple[int, int, int]:
    line = _first_line([str(qemu), "--version"])
    match = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", line)
    if not match:
        raise EngineUnavailableError(f"{qemu} --version printed {line!r}, not a QEMU version")
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _check_newlib(gcc: Path) -> None:
    # Without libnewlib-arm-none-eabi the compiler answers with the bare file name.
    out = subprocess.run([str(gcc), "-mthumb", "-mcpu=cortex-m4", "--specs=nano.specs",
                          "-print-file-name=libc_nano.a"], capture_output=True, text=True, timeout=30)
    if not os.path.isabs(out.stdout.strip()):
        raise _missing("newlib for arm-none-eabi (libnewlib-arm-none-eabi)")


@functools.lru_cache(maxsize=1)
def find_toolchain() -> Toolchain:
    """The tools, checked once per process. Raises `EngineUnavailableError` with the apt line."""
    paths = {}
    for key, name in (("gcc", "arm-none-eabi-gcc"), ("size", "arm-none-eabi-size"),
                      ("nm", "arm-none-eabi-nm"), ("objdump", "arm-none-eabi-objdump"),
                      ("qemu", "qemu-system-arm")):
        path = _which(name)
        if path is None:
            raise _missing(name)
        paths[key] = path
    _check_newlib(paths["gcc"])
    return Toolchain(
        gcc_version=_first_line([str(paths["gcc"]), "--version"]),
        qemu_version=_qemu_version(paths["qemu"]),
        **paths,
    )
