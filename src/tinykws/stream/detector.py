"""From posteriors to detections: smoothing, per-keyword thresholds, a refractory period.

    detector = Detector("runs/ds_cnn_stream/int8", runtime="reference")
    for chunk in microphone:                       # any size, float or int16, 16 kHz mono
        for d in detector.process(chunk):
            print(d.label, d.time_s, d.score)

The rule, as in microWakeWord / openWakeWord (smoothing kept out of the network): each
keyword's probability is averaged over the last `smoothing_ms` of hops; a keyword is
detected when its smoothed probability reaches its threshold; it fires again only once
`refractory_ms` have passed and its smoothed probability has been below the threshold
after that (each keyword has its own refractory period), so one long utterance is one
detection. Labels
in `ignore` ("silence", "unknown") are never detected; they only take probability away from
the keywords. A detection's time is that of the newest sample the row depends on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from tinykws.errors import ConfigError
from tinykws.stream.posteriors import Posteriors, PosteriorStream

NON_KEYWORDS = ("silence", "unknown", "_silence_", "_unknown_")


@dataclass(frozen=True)
class DetectorConfig:
    """threshold: for every keyword, unless `thresholds` names it; smoothing_ms: the moving
    average of posteriors; refractory_ms: quiet time of a keyword after its detection."""

    threshold: float = 0.5
    thresholds: Mapping[str, float] = field(default_factory=dict)
    smoothing_ms: float = 100.0
    refractory_ms: float = 1000.0
    ignore: tuple[str, ...] = NON_KEYWORDS

    def validate(self, labels: Sequence[str]) -> None:
        """Raise ConfigError for thresholds outside (0, 1], unknown keywords or negative times."""
        unknown = sorted(set(self.thresholds) - set(labels))
        if unknown:
            raise ConfigError(f"thresholds for unknown keyword(s) {', '.join(unknown)}; labels: {', '.join(labels)}")
        for name, value in {"threshold": self.threshold, **self.thresholds}.items():
            if not 0.0 < float(value) <= 1.0:
                raise ConfigError(f"threshold {name}={value} must be in (0, 1]")
        if self.smoothing_ms < 0 or self.refractory_ms < 0:
            raise ConfigError("smoothing_ms and refractory_ms must not be negative")


@dataclass(frozen=True)
class Detection:
    """A detected keyword: label, time (s) of the newest sample heard, smoothed probability."""

    label: str
    time_s: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "time_s": round(self.time_s, 4), "score": round(self.score, 4)}


def smoothing_rows(smoothing_ms: float, hop_s: float) -> int:
    """Rows in the moving average: smoothing_ms worth of hops, at least one."""
    return max(1, int(round(smoothing_ms / 1000.0 / hop_s)))


def firing_rows(times: np.ndarray, above: np.ndarray, refractory_s: float, last: float = -np.inf,
                armed: bool = True) -> tuple[list[int], float, bool]:
    """Rows where one keyword fires: above its threshold and armed. Firing disarms it; a
    row below the threshold once the refractory period after the last firing is over arms
    it again, so a probability that stays high through the refractory period fires once.

    times (s) and above (bool) per row; last / armed: the state before these rows.
    Returns (row indices, last firing time, armed) so that rows can come in any grouping.
    """
    ups, downs = np.flatnonzero(above), np.flatnonzero(~above)
    fired, i = [], 0
    while True:
        if not armed:
            quiet = max(i, int(np.searchsorted(times, last + refractory_s - 1e-9)))
            j = np.searchsorted(downs, quiet)
            if j == len(downs):
                return fired, last, armed
            armed, i = True, int(downs[j])
        j = np.searchsorted(ups, i)
        if j == len(ups):
            return fired, last, armed
        i = int(ups[j])
        fired.append(i)
        last, armed = float(times[i]), False
        i += 1


class DetectionLogic:
    """Smoothing, thresholds and refractory periods over posterior rows, state carried
    between calls (so that the grouping of rows does not matter)."""

    def __init__(self, labels: Sequence[str], config: DetectorConfig, hop_s: float):
        config.validate(labels)
        self.labels = tuple(labels)
        self.config = config
        self.window = smoothing_rows(config.smoothing_ms, hop_s)
        self.keywords = np.array([label not in config.ignore for label in self.labels])
        self.thresholds = np.array([float(config.thresholds.get(label, config.threshold)) for label in self.labels])
        self.refractory_s = config.refractory_ms / 1000.0
        self.reset()

    def reset(self) -> None:
        self.recent = np.zeros((0, len(self.labels)))
        self.last = np.full(len(self.labels), -np.inf)
        self.armed = np.ones(len(self.labels), bool)

    def smooth(self, probs: np.ndarray) -> np.ndarray:
        """Moving averages (n, classes) of the new rows, continuing the previous ones."""
        joined = np.concatenate([self.recent, probs])
        sums = np.cumsum(np.concatenate([np.zeros((1, joined.shape[1])), joined]), axis=0)
        ends = np.arange(len(self.recent) + 1, len(joined) + 1)
        starts = np.maximum(ends - self.window, 0)
        self.recent = joined[-(self.window - 1):] if self.window > 1 else joined[:0]
        return (sums[ends] - sums[starts]) / (ends - starts)[:, None]

    def update(self, rows: Posteriors) -> list[Detection]:
        """The detections among new posterior rows, in time order."""
        if not len(rows):
            return []
        smoothed = self.smooth(rows.probs)
        times = np.asarray(rows.times, np.float64)
        found = []
        hits = smoothed >= self.thresholds
        # an armed keyword never above its threshold here can neither fire nor re-arm
        for k in np.flatnonzero(self.keywords & (hits.any(axis=0) | ~self.armed)):
            above = hits[:, k]
            fired, self.last[k], self.armed[k] = firing_rows(times, above, self.refractory_s, self.last[k],
                                                             bool(self.armed[k]))
            found += [Detection(self.labels[k], float(times[i]), float(smoothed[i, k])) for i in fired]
        return sorted(found, key=lambda d: (d.time_s, self.labels.index(d.label)))


class Detector:
    """Keyword detection on a stream: `process(chunk) -> list[Detection]`, `flush()` at
    the end of the audio, `reset()` for a new stream.

    model: a PosteriorStream, or anything `open_stream` opens (a run folder or checkpoint
    for the float model, a .tflite or a `tinykws quantize` folder for int8) with `runtime`
    and the other `open_stream` options. `last_rows` holds the posterior rows of the latest
    call (for plots and logs).
    """

    def __init__(self, model: Any, runtime: str | None = None, config: DetectorConfig | None = None,
                 **open_options: Any):
        if isinstance(model, PosteriorStream):
            self.stream = model
        else:
            from tinykws.stream.open import open_stream

            self.stream = open_stream(model, runtime=runtime, **open_options)
        self.labels = self.stream.labels
        self.config = config or DetectorConfig()
        self.logic = DetectionLogic(self.labels, self.config, self.stream.hop_samples / self.stream.sample_rate)
        self.last_rows = Posteriors.empty(len(self.labels))

    def process(self, chunk: np.ndarray) -> list[Detection]:
        self.last_rows = self.stream.process(chunk)
        return self.logic.update(self.last_rows)

    def flush(self) -> list[Detection]:
        self.last_rows = self.stream.flush()
        return self.logic.update(self.last_rows)

    def reset(self) -> None:
        self.stream.reset()
        self.logic.reset()
        self.last_rows = Posteriors.empty(len(self.labels))

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> "Detector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
