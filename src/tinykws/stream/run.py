"""Listening to one stream from start to end: the library side of `tinykws stream`.

    result = listen(detector, chunks, on_detection=print, keep_rows=True)

feeds the chunks to the detector, calls `on_detection` as soon as a keyword is detected,
and returns what happened: the detections, the per-hop probabilities (when kept), the audio
duration, the compute time and whether the audio was digital silence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from tinykws.errors import AudioError
from tinykws.stream.detector import Detection, Detector


@dataclass(frozen=True)
class StreamRun:
    """One stream's results: detections in time order; `times` (s) and `probs` (rows,
    classes) of every reported hop when kept (else empty); audio `seconds`; `compute_s`
    (wall-clock time in the detector); `interrupted` when the listener was stopped."""

    labels: tuple[str, ...]
    detections: tuple[Detection, ...]
    times: np.ndarray
    probs: np.ndarray
    seconds: float
    compute_s: float
    interrupted: bool = False

    @property
    def real_time_factor(self) -> float:
        """Audio seconds per compute second (how many times faster than real time)."""
        return self.seconds / self.compute_s if self.compute_s > 0 else float("inf")


def listen(detector: Detector, chunks: Iterable[np.ndarray], source: str = "the stream",
           on_detection: Callable[[Detection], None] | None = None, keep_rows: bool = False,
           refuse_silence: bool = True) -> StreamRun:
    """Run `detector` (reset first) over `chunks` (float32 mono at its sample rate).

    Raises AudioError naming `source` when it gave no samples or (with `refuse_silence`)
    only digital silence: a muted microphone or an empty recording, not a quiet room.
    Ctrl-C ends the stream early; the result says so.
    """
    detector.reset()
    found: list[Detection] = []
    times, rows = [], []
    samples = 0
    loudest = 0.0
    compute = 0.0
    interrupted = False

    def take(new: list[Detection]) -> None:
        for d in new:
            found.append(d)
            if on_detection is not None:
                on_detection(d)
        if keep_rows and len(detector.last_rows):
            times.append(detector.last_rows.times)
            rows.append(detector.last_rows.probs.astype(np.float32))

    try:
        for chunk in chunks:
            samples += len(chunk)
            if len(chunk):
                loudest = max(loudest, float(np.max(np.abs(chunk))))
            start = time.perf_counter()
            new = detector.process(chunk)
            compute += time.perf_counter() - start
            take(new)
    except KeyboardInterrupt:
        interrupted = True
    if samples == 0:
        raise AudioError(source, "gave no samples")
    if refuse_silence and loudest == 0.0:
        raise AudioError(source, f"is digital silence ({samples} samples, all 0): check the recording or the "
                                 "microphone")
    start = time.perf_counter()
    new = detector.flush()
    compute += time.perf_counter() - start
    take(new)
    classes = len(detector.labels)
    return StreamRun(
        labels=tuple(detector.labels), detections=tuple(found),
        times=np.concatenate(times) if times else np.zeros(0),
        probs=np.concatenate(rows) if rows else np.zeros((0, classes), np.float32),
        seconds=samples / detector.stream.sample_rate, compute_s=compute, interrupted=interrupted,
    )
