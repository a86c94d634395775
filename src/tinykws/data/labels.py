"""The MLPerf Tiny KWS label set and the Speech Commands folder names.

The order of `MLPERF_LABELS` is the output order of the MLPerf reference model; every
integer label in tinykws indexes into it.
"""

from __future__ import annotations

from tinykws.errors import DataError

MLPERF_KEYWORDS: tuple[str, ...] = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
SILENCE_LABEL = "silence"
UNKNOWN_LABEL = "unknown"
MLPERF_LABELS: tuple[str, ...] = MLPERF_KEYWORDS + (SILENCE_LABEL, UNKNOWN_LABEL)

# Folder names used by class-folder datasets (and by the Speech Commands test archive).
SILENCE_FOLDER = "_silence_"
UNKNOWN_FOLDER = "_unknown_"
BACKGROUND_NOISE_FOLDER = "_background_noise_"

SILENCE_INDEX = MLPERF_LABELS.index(SILENCE_LABEL)
UNKNOWN_INDEX = MLPERF_LABELS.index(UNKNOWN_LABEL)


def label_index(name: str, labels: tuple[str, ...] = MLPERF_LABELS) -> int:
    """Integer label of a class name; folder names `_silence_` / `_unknown_` are accepted.

    Any word that is not one of `labels` maps to the unknown class (if the label set has one).
    """
    if name == SILENCE_FOLDER:
        name = SILENCE_LABEL
    elif name == UNKNOWN_FOLDER:
        name = UNKNOWN_LABEL
    if name in labels:
        return labels.index(name)
    if UNKNOWN_LABEL in labels:
        return labels.index(UNKNOWN_LABEL)
    raise DataError(f"class {name!r} of the data is not one of the model's labels {list(labels)}, and they have "
                    "no 'unknown' class to put it in")


def folder_name(label: str) -> str:
    """Folder name of a class in a class-folder dataset (`silence` -> `_silence_`)."""
    if label == SILENCE_LABEL:
        return SILENCE_FOLDER
    if label == UNKNOWN_LABEL:
        return UNKNOWN_FOLDER
    return label
