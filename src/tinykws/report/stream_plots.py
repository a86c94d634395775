"""PNG plots of streaming: probabilities over time with detections, and the DET curve
(false rejection rate against false accepts per hour) of a stream evaluation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tinykws.report.plots import pyplot, save_png
from tinykws.stream.detector import NON_KEYWORDS


def probabilities_png(times: np.ndarray, probs: np.ndarray, labels: Sequence[str], path: str | os.PathLike,
                      detections: Sequence[object] = (), keywords: Sequence[str] | None = None,
                      spans: Sequence[tuple[float, float, str]] = (), title: str = "",
                      threshold: float | None = None, highlight: str | None = None) -> Path:
    """Each keyword's probability against time (s); detections as markers, `spans`
    (start s, end s, label) shaded (where the keywords really are), the threshold dashed;
    `highlight`: one keyword drawn bold, the others faint."""
    plt = pyplot()
    keywords = list(keywords) if keywords is not None else [k for k in labels if k not in NON_KEYWORDS]
    colors = list(plt.get_cmap("tab10").colors) + ["black", "magenta"]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    for start, end, label in spans:
        ax.axvspan(start, end, color="0.85", lw=0)
        ax.text((start + end) / 2, 1.03, label, ha="center", va="bottom", fontsize=7)
    for k, name in enumerate(labels):
        if name in keywords:
            faint = highlight is not None and name != highlight
            ax.plot(times, probs[:, k], lw=0.7 if faint else (2.0 if highlight else 1.0), alpha=0.35 if faint else 1.0,
                    color=colors[k % len(colors)], label=name)
    for d in detections:
        k = list(labels).index(d.label)
        ax.plot([d.time_s], [d.score], marker="v", ms=8, color=colors[k % len(colors)], mec="black")
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls="--", lw=0.8)
    ax.set_ylim(0, 1.1)
    ax.set_xlim(float(times[0]) if len(times) else 0.0, float(times[-1]) if len(times) else 1.0)
    ax.set_xlabel("time (s): newest sample heard")
    ax.set_ylabel("probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=min(6, max(1, len(keywords))), loc="upper right")
    ax.set_title(title or "keyword probabilities over time (triangles: detections)")
    return save_png(fig, path)


def det_png(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike, title: str = "",
            marks: Sequence[float] = (0.5, 1.0)) -> Path:
    """False rejection rate against false accepts per hour, one curve per keyword
    ({label: (fa_per_hour, frr)} over thresholds); vertical lines at `marks` FA/h."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.0))
    colors = list(plt.get_cmap("tab10").colors) + ["black", "magenta"]
    for k, (name, (fa, frr)) in enumerate(curves.items()):
        ax.plot(np.maximum(fa, 0.05), frr, lw=1.2, color=colors[k % len(colors)], label=name,
                drawstyle="steps-post")
    for m in marks:
        ax.axvline(m, color="0.4", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(0.05, None)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("false accepts per hour (log; 0 drawn at 0.05)")
    ax.set_ylabel("false rejection rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title or "DET: false rejections against false accepts per hour")
    return save_png(fig, path)
