"""Shared by the generated-C front-end tests: test audio and a cached host build.

Tests import it as `from codegen_frontend_support import ...` (tests/ is on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen import frontend_signals
from tinykws.codegen.frontends import generate_frontend
from tinykws.codegen.frontends.host import HostBuild, build_host_harness

SR = 16000
# The MLPerf reference model's input quantization; any int8 quantization would do.
REF_QUANT = (0.5847029089927673, 83)


def generated_clips(seed: int = 7) -> dict[str, np.ndarray]:
    """1 s of int16 PCM per name: `datagen.frontend_signals`, an all-negative clip and 1-LSB noise."""
    rng = np.random.default_rng(seed)
    floats = frontend_signals(rng)
    floats["negative_only"] = -np.abs(0.3 * rng.standard_normal(SR))  # no positive sample: peak fallback
    floats["one_lsb_noise"] = rng.integers(-1, 2, SR) / 32768.0
    return {name: np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16) for name, x in floats.items()}


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM as tinykws reads it: float32 s / 32768."""
    return (np.asarray(pcm, np.float32) / np.float32(32768)).astype(np.float32)


def real_clips(folder: Path, per_class: int) -> np.ndarray:
    """(clips, 16000) int16: the first `per_class` clips of each class folder of sc12_test_dev."""
    import soundfile as sf

    clips = []
    for cls in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(cls.iterdir())[:per_class]:
            data, _ = sf.read(str(path), dtype="int16")
            clips.append(np.pad(data[:SR], (0, max(0, SR - len(data)))))
    return np.stack(clips)


class HostBuilds:
    """Generate and compile each (front-end, quantization) once per test session."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[tuple, HostBuild] = {}

    def get(self, frontend, quant=REF_QUANT) -> HostBuild:
        key = (repr(frontend), tuple(quant))
        if key not in self.cache:
            out = self.root / f"fe{len(self.cache)}"
            self.cache[key] = build_host_harness(generate_frontend(frontend, out, input_quant=quant))
        return self.cache[key]
