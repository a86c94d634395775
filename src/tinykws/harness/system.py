"""The hardware and software fingerprint of a system under test, written to
`systems/<system>.json` beside its results: the host (CPU, cores, memory, OS), Python
and package versions, the compilers, and what the runtime says of itself (engine,
version, arithmetic, board)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from typing import Any

from tinykws.environment import describe_environment, package_versions
from tinykws.eval.runner import RunnerInfo

EXTRA_PACKAGES = ("onnx", "onnxruntime", "pyserial")


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "not available"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "not available"


def memory_bytes() -> int | None:
    """Total physical memory in bytes (from /proc/meminfo or sysconf), None if unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def compilers() -> dict[str, str]:
    """The host C compiler and the Arm cross compiler and emulator, as they print their
    versions ("not available" when absent)."""
    found = {}
    for key, names in (("host_cc", ("cc", "gcc", "clang")), ("arm_gcc", ("arm-none-eabi-gcc",)),
                       ("qemu", ("qemu-system-arm",))):
        path = next(filter(None, map(shutil.which, names)), None)
        found[key] = _first_line([path, "--version"]) if path else "not available"
    return found


def system_description(name: str, info: RunnerInfo, options: dict[str, Any]) -> dict[str, Any]:
    """The JSON of `systems/<name>.json` for a system whose runner describes itself as `info`."""
    env = describe_environment()
    runtime = {"name": info.runtime, "description": info.description, "version": info.version,
               "arithmetic": info.arithmetic, "options": {k: str(v) for k, v in options.items()}}
    runtime.update({k: v for k, v in info.facts.items() if isinstance(v, (str, int, float, bool))})
    return {
        "system_name": name,
        "division": "closed",
        "host": {"cpu": env["cpu"], "cores": env["cpu_count"], "memory_bytes": memory_bytes(),
                 "os": env["platform"], "machine": env["machine"], "python": env["python"],
                 "implementation": platform.python_implementation()},
        "software": {"packages": {**env["packages"], **package_versions(EXTRA_PACKAGES)},
                     "compilers": compilers(), "numeric_isa": env["numeric_isa"]},
        "runtime": runtime,
        "device": {k: info.facts[k] for k in ("board", "core", "clock_hz", "cpi_assumed") if k in info.facts},
    }
