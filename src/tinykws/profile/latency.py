"""Host latency of a .tflite file, measured: LiteRT on one thread, one inference at a time.

The figure is the median wall-clock time of `runs` invocations after `warmup` ones, on a
zero input of the model's shape and type, with LiteRT's optimized kernels and no
delegate (what a host application would run). It is a measurement on this machine under
its current load, not a model of any other device: the spread (the 10th to 90th
percentile) says how steady the machine was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tinykws.export.engines import LiteRTEngine


@dataclass(frozen=True)
class Latency:
    """Milliseconds per inference: median, 10th and 90th percentile over `runs` runs."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    engine: str

    def to_dict(self) -> dict:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms, "runs": self.runs,
                "engine": self.engine}


def measure_latency(path: str | os.PathLike, runs: int = 100, warmup: int = 10,
                    resolver: str = "BUILTIN_WITHOUT_DEFAULT_DELEGATES") -> Latency:
    """Time `runs` single inferences of the .tflite at `path` in LiteRT (see module doc)."""
    engine = LiteRTEngine(path, resolver)
    try:
        times = engine.invoke_times(runs, warmup)
    finally:
        engine.close()
    p10, median, p90 = np.percentile(times, [10, 50, 90])
    return Latency(round(float(median), 4), round(float(p10), 4), round(float(p90), 4), len(times),
                   f"LiteRT {resolver}, 1 thread")
