"""Post-processing of the network's int8 output, per keyword decision: the numpy
definition of what the generated `tkws_postprocess.c` computes (tests hold the two equal).

For each output in a stream: its argmax, and the argmax of the scores summed over the last
`window` outputs (posterior smoothing), with that class's mean score rounded down. Ties go
to the first class, as in numpy's argmax.
"""

from __future__ import annotations

import numpy as np

from tinykws.errors import ConfigError

POSTPROCESS_FILES = ("tkws_postprocess.h", "tkws_postprocess.c")
DEFAULT_WINDOW = 4  # outputs averaged: 1 s of audio when a 1 s clip is classified every 250 ms
DECISION_FIELDS = ("top", "top_score", "smoothed_top", "smoothed_score", "held")


def smooth_decisions(outputs: np.ndarray, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """(T, classes) int8 network outputs in arrival order -> (T, 5) int32 decisions with
    the columns of DECISION_FIELDS (the fields of the C struct tkws_decision)."""
    scores = np.asarray(outputs)
    if scores.dtype != np.int8 or scores.ndim != 2 or scores.shape[1] < 1:
        raise ConfigError(f"outputs must be (T, classes) int8, got {scores.dtype} {scores.shape}")
    if window < 1:
        raise ConfigError(f"the smoothing window must be at least 1 output, got {window}")
    wide = scores.astype(np.int64)
    sums = np.cumsum(wide, axis=0)
    sums[window:] -= sums[:-window]
    held = np.minimum(np.arange(1, len(wide) + 1), window)
    best = np.argmax(sums, axis=1)
    top = np.argmax(wide, axis=1)
    rows = np.arange(len(wide))
    mean = np.floor_divide(sums[rows, best], held)
    return np.stack([top, wide[rows, top], best, mean, held], axis=1).astype(np.int32)

