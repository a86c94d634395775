"""The glued-track demonstration: two tracks glued with a keyword between them, listened to
as a stream; the probability of that keyword over time, as a plot and a report section.

    result = glued_track(detector, track_a, keyword_clip, track_b, "yes", "out/glued")

It shows what the streaming model does around a keyword it has never seen in context: the
keyword's probability should rise only where the keyword is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.audio.io import write_wav
from tinykws.report.html import ReportSection
from tinykws.report.stream_plots import probabilities_png
from tinykws.stream.detector import Detection, Detector
from tinykws.stream.run import listen


@dataclass(frozen=True)
class GluedTrack:
    """What the demonstration wrote and found. Times in seconds; `peak_inside` / `peak_outside`:
    the keyword's highest probability while its clip (plus one second) is heard, and elsewhere."""

    audio: Path
    plot: Path
    keyword: str
    span: tuple[float, float]
    detections: tuple[Detection, ...]
    peak_inside: float
    peak_outside: float
    description: str

    def section(self, title: str) -> ReportSection:
        hits = ", ".join(f"{d.label} at {d.time_s:.2f} s" for d in self.detections) or "none"
        return ReportSection(title, facts={
            "keyword": self.keyword, "keyword clip at": f"{self.span[0]:.2f}-{self.span[1]:.2f} s",
            f"peak P({self.keyword}) while heard": round(self.peak_inside, 3),
            f"peak P({self.keyword}) elsewhere": round(self.peak_outside, 3),
            "detections": hits, "model": self.description}, images=(self.plot,))


def tracks_from_folder(folder: str | os.PathLike, keyword_dir: str | os.PathLike, keyword: str = "yes",
                       seconds: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two tracks of up to `seconds` one-second clips (as many as there are, at least 3) of
    words that are not keywords (the other class folders of `folder`, e.g. a synthetic
    corpus's unknown words) over faint noise, and a `keyword` clip of `keyword_dir` to glue
    between them. Raises DataError when either is missing."""
    from tinykws.audio.io import load_audio
    from tinykws.data.labels import MLPERF_KEYWORDS
    from tinykws.errors import DataError

    folder, keyword_dir = Path(folder), Path(keyword_dir)
    others = sorted(p for d in folder.iterdir() if d.is_dir() and d.name not in MLPERF_KEYWORDS
                    and not d.name.startswith("_") for p in d.glob("*.wav"))
    clips = sorted((keyword_dir / keyword).glob("*.*"))
    seconds = min(seconds, len(others) // 2)
    if seconds < 3 or not clips:
        raise DataError(f"{folder} / {keyword_dir}: too few non-keyword clips or no {keyword!r} clip for the tracks")
    rng = np.random.default_rng(seed)
    picks = [others[i] for i in rng.permutation(len(others))[:2 * seconds]]

    def track(paths) -> np.ndarray:
        words = np.concatenate([load_audio(p, length=16000) for p in paths])
        return (words + 0.002 * rng.standard_normal(len(words))).astype(np.float32)

    return track(picks[:seconds]), load_audio(clips[int(rng.integers(len(clips)))], length=16000), \
        track(picks[seconds:])


def glued_track(detector: Detector, track_a: np.ndarray, keyword_clip: np.ndarray, track_b: np.ndarray,
                keyword: str, out_dir: str | os.PathLike, chunk_ms: float = 100.0) -> GluedTrack:
    """Glue track_a, keyword_clip and track_b (float32 at the detector's rate), listen in
    `chunk_ms` chunks, write glued.wav and glued.png into `out_dir`."""
    if keyword not in detector.labels:
        raise ValueError(f"{keyword!r} is not one of the model's labels {detector.labels}")
    rate = detector.stream.sample_rate
    audio = np.concatenate([track_a, keyword_clip, track_b]).astype(np.float32)
    start = len(track_a) / rate
    span = (start, start + len(keyword_clip) / rate)
    chunk = max(1, int(rate * chunk_ms / 1000))
    run = listen(detector, (audio[i:i + chunk] for i in range(0, len(audio), chunk)), "glued track",
                 keep_rows=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_wav(out / "glued.wav", audio, rate)
    k = list(run.labels).index(keyword)
    heard = (run.times >= span[0]) & (run.times <= span[1] + 1.0)
    column = run.probs[:, k]
    plot = probabilities_png(run.times, run.probs, run.labels, out / "glued.png", run.detections,
                             spans=[(span[0], span[1], keyword)], highlight=keyword,
                             title=f"two tracks glued with '{keyword}' between them: P({keyword}) over time")
    return GluedTrack(out / "glued.wav", plot, keyword, span, run.detections,
                      float(column[heard].max()) if heard.any() else 0.0,
                      float(column[~heard].max()) if (~heard).any() else 0.0, detector.stream.description)
