"""False rejections against false accepts per hour, per keyword, on evaluation streams.

    result = evaluate_streams(load_stream_set("streams/"), open_stream("model.tflite"))

Each stream is listened to once (posteriors for every hop); the detection rule
(`detector.py`: smoothing, threshold, refractory period) is then applied for every threshold
of a grid, per keyword:
- a positive (a keyword event) is found when the keyword is detected between the start of
  its 1 s clip and `tolerance_s` after its end; FRR = positives not found / positives;
- every detection in the negative stream is a false accept; FA/h = false accepts / hours of
  negative audio. (Detections in positive streams away from a keyword of that label are
  reported too, as `positive_stream_false_accepts`, but are not in FA/h.)
The operating point at a target FA/h is, per keyword, the lowest FRR over the thresholds
whose FA/h is at most the target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from tinykws.audio.stream_io import file_chunks
from tinykws.data.eval_streams import EvalStream, StreamSet
from tinykws.stream.detector import DetectionLogic, DetectorConfig, firing_rows
from tinykws.stream.posteriors import PosteriorStream

DEFAULT_THRESHOLDS = tuple(np.round(np.concatenate([np.arange(0.05, 0.95, 0.01), np.arange(0.95, 1.0, 0.0025)]), 4))
TARGETS = (0.5, 1.0)


@dataclass(frozen=True)
class KeywordCurve:
    """One keyword over the threshold grid: FRR and FA/h (arrays aligned with `thresholds`)."""

    label: str
    positives: int
    thresholds: np.ndarray
    frr: np.ndarray
    fa_per_hour: np.ndarray
    false_accepts: np.ndarray
    positive_stream_false_accepts: np.ndarray
    frr_by_snr: dict[float, np.ndarray]

    def operating_point(self, target: float) -> dict[str, Any]:
        """The lowest FRR with FA/h <= target: {threshold, frr, fa_per_hour, frr_by_snr}."""
        ok = np.flatnonzero(self.fa_per_hour <= target + 1e-12)
        if not len(ok):
            return {"target_fa_per_hour": target, "threshold": None, "frr": 1.0, "fa_per_hour": None,
                    "frr_by_snr": {str(s): 1.0 for s in self.frr_by_snr}}
        i = int(ok[np.argmin(self.frr[ok])])
        return {"target_fa_per_hour": target, "threshold": float(self.thresholds[i]), "frr": float(self.frr[i]),
                "fa_per_hour": float(self.fa_per_hour[i]),
                "frr_by_snr": {f"{s:g}": float(v[i]) for s, v in self.frr_by_snr.items()}}


@dataclass(frozen=True)
class StreamEvaluation:
    """Curves and operating points of one model on a stream set."""

    model: str
    description: str
    mode: str
    negative_hours: float
    positive_hours: float
    compute_s: float
    detector: dict[str, Any]
    tolerance_s: float
    curves: dict[str, KeywordCurve] = field(default_factory=dict)

    @property
    def real_time_factor(self) -> float:
        return (self.negative_hours + self.positive_hours) * 3600 / self.compute_s if self.compute_s else 0.0

    def operating_points(self, targets: Sequence[float] = TARGETS) -> dict[str, dict[str, Any]]:
        """{f"{target:g}": {keyword: point, ..., "mean_frr": ...}}."""
        out = {}
        for target in targets:
            points = {k: c.operating_point(target) for k, c in self.curves.items()}
            out[f"{target:g}"] = {**points, "mean_frr": float(np.mean([p["frr"] for p in points.values()]))}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "description": self.description, "mode": self.mode,
            "negative_hours": self.negative_hours, "positive_hours": self.positive_hours,
            "compute_s": self.compute_s, "real_time_factor": self.real_time_factor,
            "detector": self.detector, "tolerance_s": self.tolerance_s,
            "operating_points": self.operating_points(),
            "curves": {k: {"positives": c.positives, "thresholds": c.thresholds.tolist(),
                           "frr": c.frr.round(5).tolist(), "fa_per_hour": c.fa_per_hour.round(4).tolist(),
                           "positive_stream_false_accepts": c.positive_stream_false_accepts.tolist()}
                       for k, c in self.curves.items()},
        }


def listen_to_file(stream: PosteriorStream, path, chunk_s: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(times, probs float32) of every row of one audio file, from a reset stream."""
    stream.reset()
    times, rows = [], []
    for chunk in file_chunks(path, int(chunk_s * stream.sample_rate), stream.sample_rate):
        got = stream.process(chunk)
        times.append(got.times)
        rows.append(got.probs.astype(np.float32))
    got = stream.flush()
    times.append(got.times)
    rows.append(got.probs.astype(np.float32))
    return np.concatenate(times), np.concatenate(rows)


def _hits(times: np.ndarray, fired: list[int], events: Sequence, tolerance_s: float) -> tuple[int, int]:
    """(events with a detection in their window, detections in no event window)."""
    t = times[fired]
    found = matched = 0
    used = np.zeros(len(t), bool)
    for e in events:
        inside = (t >= e.start_s) & (t <= e.end_s + tolerance_s)
        if inside.any():
            found += 1
        used |= inside
    matched = int(used.sum())
    return found, len(t) - matched


def evaluate_streams(streams: StreamSet, posteriors: PosteriorStream, model: str = "",
                     config: DetectorConfig | None = None, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                     tolerance_s: float = 0.5, progress: Callable[[str], None] | None = None) -> StreamEvaluation:
    """Listen to every stream of `streams` with `posteriors` and measure, per keyword of the
    set that the model knows, FRR and FA/h over `thresholds` (see the module docstring)."""
    config = config or DetectorConfig()
    labels = posteriors.labels
    keywords = [k for k in streams.keywords if k in labels]
    grid = np.asarray(thresholds, np.float64)
    hop_s = posteriors.hop_samples / posteriors.sample_rate
    heard: list[tuple[EvalStream, np.ndarray, np.ndarray]] = []
    compute = 0.0
    for s in streams.streams:
        start = time.perf_counter()
        times, probs = listen_to_file(posteriors, s.path)
        compute += time.perf_counter() - start
        smoothed = DetectionLogic(labels, config, hop_s).smooth(probs.astype(np.float64))
        heard.append((s, times, smoothed))
        if progress:
            progress(f"{s.name}: {s.seconds / 3600:.2f} h in {compute:.0f} s")
    negative_h = sum(s.seconds for s in streams.negative) / 3600
    positive_h = sum(s.seconds for s in streams.positive) / 3600
    refractory = config.refractory_ms / 1000.0
    curves = {}
    for label in keywords:
        k = labels.index(label)
        fa = np.zeros(len(grid), np.int64)
        pos_fa = np.zeros(len(grid), np.int64)
        found = {s.snr_db: np.zeros(len(grid), np.int64) for s in streams.positive}
        totals = {s.snr_db: sum(e.label == label for e in s.events) for s in streams.positive}
        for s, times, smoothed in heard:
            events = [e for e in s.events if e.label == label]
            for j, theta in enumerate(grid):
                fired, _, _ = firing_rows(times, smoothed[:, k] >= theta, refractory)
                if s.snr_db is None:
                    fa[j] += len(fired)
                else:
                    hit, stray = _hits(times, fired, events, tolerance_s)
                    found[s.snr_db][j] += hit
                    pos_fa[j] += stray
        positives = sum(totals.values())
        frr = 1.0 - sum(found.values()) / max(positives, 1)
        by_snr = {snr: 1.0 - found[snr] / max(totals[snr], 1) for snr in found}
        curves[label] = KeywordCurve(label, positives, grid, frr, fa / max(negative_h, 1e-9), fa, pos_fa, by_snr)
    detector = {"smoothing_ms": config.smoothing_ms, "refractory_ms": config.refractory_ms,
                "hop_ms": 1000 * hop_s}
    return StreamEvaluation(model, posteriors.description, posteriors.mode, negative_h, positive_h, compute,
                            detector, tolerance_s, curves)
