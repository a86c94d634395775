"""Performance mode, as the MLPerf Tiny runner does it, and a LoadGen-like single-stream
scenario.

MLPerf Tiny: for each of five different inputs, `infer N W` with N large enough that the
timed loop lasts at least 10 s (a run that falls short is repeated with N doubled); the
figure is the median over the five runs of the throughput (inferences/s) and of the
latency (s per inference). Single stream: one query of one sample at a time, cycling
over the set, until both a minimum count and a minimum duration are reached; the
latencies' percentiles (LoadGen reports the 90th).

Time is whatever the system's `time_inferences` measures: the host's clock for host
runtimes, the device's timer for a serial device, and for an emulated core the
instructions under a stated clock and CPI (an estimate, marked as such).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykws.errors import ConfigError, TinyKWSError
from tinykws.eval.runner import InferenceTiming, ModelRunner

PERCENTILES = (50, 90, 95, 99)
MAX_DOUBLINGS = 12  # a run that stays under the minimum after 4096x the first count is a broken clock


@dataclass(frozen=True)
class PerformanceRun:
    """One `infer N W` run on input `sample`: its timing."""

    sample: int
    name: str
    warmup: int
    timing: InferenceTiming
    attempts: int = 1

    @property
    def throughput(self) -> float:
        """Inferences per second."""
        return self.timing.count / self.timing.seconds

    @property
    def latency(self) -> float:
        """Seconds per inference."""
        return self.timing.seconds / self.timing.count

    def to_dict(self) -> dict[str, Any]:
        out = {"sample": self.sample, "name": self.name, "warmup": self.warmup, "attempts": self.attempts,
               "inferences_per_second": self.throughput, "latency_s": self.latency, **self.timing.to_dict()}
        if self.timing.instructions is not None:
            out["instructions_per_inference"] = self.timing.instructions / self.timing.count
        return out


@dataclass(frozen=True)
class SingleStream:
    """Latencies (s) of `queries` single-sample queries issued one after another."""

    queries: int
    seconds: float
    latencies: tuple[float, ...] = field(repr=False)

    def percentile(self, p: float) -> float:
        return float(np.percentile(np.asarray(self.latencies), p))

    def to_dict(self) -> dict[str, Any]:
        return {"queries": self.queries, "seconds": self.seconds, "mean_latency_s": float(np.mean(self.latencies)),
                **{f"p{p}_latency_s": self.percentile(p) for p in PERCENTILES}}


@dataclass(frozen=True)
class PerformanceResult:
    """Runs of performance mode and their medians; `min_seconds` the rule each run met."""

    workload: str
    runs: tuple[PerformanceRun, ...]
    min_seconds: float
    clock: str
    estimated: bool
    single_stream: SingleStream | None = None
    notes: tuple[str, ...] = ()

    @property
    def median_throughput(self) -> float:
        return float(np.median([r.throughput for r in self.runs]))

    @property
    def median_latency(self) -> float:
        return float(np.median([r.latency for r in self.runs]))

    @property
    def median_instructions(self) -> float | None:
        counts = [r.timing.instructions / r.timing.count for r in self.runs if r.timing.instructions is not None]
        return float(np.median(counts)) if len(counts) == len(self.runs) and counts else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload, "mode": "performance", "clock": self.clock, "estimated": self.estimated,
            "min_run_seconds": self.min_seconds, "runs": [r.to_dict() for r in self.runs],
            "median_inferences_per_second": self.median_throughput, "median_latency_s": self.median_latency,
            "median_instructions_per_inference": self.median_instructions,
            "single_stream": self.single_stream.to_dict() if self.single_stream else None,
            "notes": list(self.notes),
        }


def performance_samples(groups: np.ndarray, runs: int) -> list[int]:
    """Indices of the inputs of `runs` different samples: the first input of each of the
    first `runs` samples (for AD, the first window of each of the first files)."""
    firsts = [int(np.flatnonzero(groups == g)[0]) for g in np.unique(groups)[:runs]]
    if len(firsts) < runs:
        raise ConfigError(f"performance mode needs {runs} different samples, the set has {len(firsts)}")
    return firsts


def timed_run(runner: ModelRunner, sample: np.ndarray, min_seconds: float, warmup: int,
              first_count: int | None = None) -> tuple[InferenceTiming, int]:
    """`infer N W` with N chosen from a one-inference probe so that the loop lasts at
    least `min_seconds`; doubled and repeated while it falls short. Returns the timing
    and the number of attempts."""
    if first_count is None:
        probe = runner.time_inferences(sample, 1, 0)
        per = max(probe.seconds, 1e-9)
        first_count = max(1, math.ceil(1.1 * min_seconds / per))
    count = first_count
    for attempt in range(1, MAX_DOUBLINGS + 2):
        timing = runner.time_inferences(sample, count, warmup)
        if timing.seconds >= min_seconds:
            return timing, attempt
        count *= 2
    raise TinyKWSError(f"{runner.info.runtime}: {count // 2} inferences still took {timing.seconds:.3g} s, under "
                       f"the {min_seconds:g} s a run needs (the clock of the system is not advancing)")


def single_stream(runner: ModelRunner, inputs: np.ndarray, min_queries: int, min_seconds: float,
                  max_queries: int = 100_000) -> SingleStream:
    """Queries of one sample each, in set order (wrapping), until `min_queries` ran and
    their latencies add up to `min_seconds` (or `max_queries` ran)."""
    latencies: list[float] = []
    total = 0.0
    while (len(latencies) < min_queries or total < min_seconds) and len(latencies) < max_queries:
        x = inputs[len(latencies) % len(inputs)][None]
        timing = runner.time_inferences(x, 1, 0)
        latencies.append(timing.seconds)
        total += timing.seconds
    return SingleStream(len(latencies), total, tuple(latencies))


def run_performance(runner: ModelRunner, workload: str, inputs: np.ndarray, groups: np.ndarray,
                    names: tuple[str, ...], *, runs: int = 5, min_seconds: float = 10.0, warmup: int = 10,
                    stream_queries: int = 0, stream_seconds: float = 0.0) -> PerformanceResult:
    """Performance mode on `runs` different inputs (each run at least `min_seconds`),
    and the single-stream scenario when `stream_queries` > 0."""
    if runs < 1 or min_seconds <= 0:
        raise ConfigError(f"performance mode needs runs >= 1 and a positive minimum duration, got {runs}, "
                          f"{min_seconds}")
    done = []
    first_count = None
    for index in performance_samples(groups, runs):
        timing, attempts = timed_run(runner, inputs[index:index + 1], min_seconds, warmup, first_count)
        first_count = timing.count  # the next input starts where this one ended
        done.append(PerformanceRun(index, names[int(groups[index])], warmup, timing, attempts))
    stream = single_stream(runner, inputs, stream_queries, stream_seconds) if stream_queries > 0 else None
    notes = []
    if done[0].timing.estimated:
        notes.append("the seconds are an estimate: instructions executed on the emulated core under the stated "
                     "clock and CPI, not a measurement of a real device")
    return PerformanceResult(workload, tuple(done), min_seconds, done[0].timing.clock, done[0].timing.estimated,
                             stream, tuple(notes))
