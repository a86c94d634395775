"""What a computation's numbers depend on besides the code and the seed, and the settings
that make training numerically reproducible across x86-64 machines.

PyTorch's CPU kernels (ATen), oneDNN and MKL each pick code paths by the instruction set of
the CPU they run on (AVX-512 here, AVX2 elsewhere, other paths on AMD and Intel), and each
choice rounds differently: measured on a tiny ds_cnn run, any one of the three changes the
trained weights. tinykws therefore pins all three to AVX2, which every x86-64 CPU of the last
decade has, before torch computes anything (set TINYKWS_NATIVE_ISA=1 to let them choose).
Measured on this project's 2-core machine, the pin did not slow ds_cnn training down.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any, Iterable

# Variable -> value that makes ATen, oneDNN and MKL use their AVX2 code paths.
NUMERIC_ISA = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
OPT_OUT = "TINYKWS_NATIVE_ISA"
PACKAGES = ("tinykws", "torch", "numpy", "scipy", "soundfile", "soxr", "pyyaml", "ai-edge-litert", "tflite-micro",
            "espeakng-loader", "piper-tts")


def pin_numeric_isa() -> None:
    """Set the ISA variables (unless the user set them, or set TINYKWS_NATIVE_ISA)."""
    if os.environ.get(OPT_OUT):
        return
    for name, value in NUMERIC_ISA.items():
        os.environ.setdefault(name, value)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution ("not installed" where absent)."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe_environment() -> dict[str, Any]:
    """The machine, interpreter, packages and numeric settings of this process."""
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
        "cpu": _cpu_model(), "cpu_count": os.cpu_count(), "packages": package_versions(),
        "numeric_isa": {name: os.environ.get(name, "") for name in NUMERIC_ISA},
        "pythonhashseed": os.environ.get("PYTHONHASHSEED", ""),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        env["torch_threads"] = torch.get_num_threads()
    try:
        import soundfile

        env["libsndfile"] = soundfile.__libsndfile_version__
    except (ImportError, AttributeError):
        pass
    return env
