"""The MLPerf Tiny test sets as EEMBC ships them (kws01, vww01, ic01, ad01): a folder of
.bin samples with a y_labels.csv, read into model inputs.

- KWS: 490 int8 values (the 49x10 MFCC, already quantized);
- VWW, IC: uint8 RGB HWC images; the int8 models take pixel - 128;
- AD: float32 log-mel frames (200 x 128) cut into windows of 5 frames (640 values,
  stride 1 frame); quantize them with the model's input parameters.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.errors import DataError

AD_FRAME = 128
AD_WINDOW_FRAMES = 5


@dataclass(frozen=True)
class Sample:
    """One test sample: its file, the class label, and (AD) the window layout in bytes."""

    path: Path
    label: int
    window_bytes: int | None = None
    stride_bytes: int | None = None


def read_labels(folder: str | os.PathLike, list_name: str = "y_labels.csv") -> list[Sample]:
    """The samples named in `folder`/y_labels.csv (`file,classes,label[,window,stride]`)."""
    folder = Path(folder)
    path = folder / list_name
    try:
        rows = [r for r in csv.reader(path.read_text(encoding="utf-8").splitlines()) if r]
    except OSError as e:
        raise DataError(f"{path}: cannot read the label list ({e.strerror or e})") from None
    samples = []
    for number, row in enumerate(rows, 1):
        try:
            extra = [int(v) for v in row[3:5]] if len(row) >= 5 else [None, None]
            samples.append(Sample(folder / row[0].strip(), int(row[2]), *extra))
        except (IndexError, ValueError):
            raise DataError(f"{path}: line {number} is not file,classes,label[,window,stride]: {row}") from None
    return samples


def _read(path: Path, dtype, size: int | None = None) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=dtype)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if size is not None and data.size != size:
        raise DataError(f"{path}: {data.size} values, expected {size}")
    return data


def kws_input(path: str | os.PathLike) -> np.ndarray:
    """(49, 10, 1) int8 MFCC of a kws01 sample."""
    return _read(Path(path), np.int8, 490).reshape(49, 10, 1)


def image_input(path: str | os.PathLike, side: int) -> np.ndarray:
    """(side, side, 3) int8 image of a vww01 (96) or ic01 (32) sample: pixel - 128."""
    pixels = _read(Path(path), np.uint8, side * side * 3)
    return (pixels.astype(np.int16) - 128).astype(np.int8).reshape(side, side, 3)


def ad_windows(path: str | os.PathLike) -> np.ndarray:
    """(196, 640) float32 windows of an ad01 sample: 5 consecutive frames, stride 1 frame."""
    frames = _read(Path(path), np.float32).reshape(-1, AD_FRAME)
    count = len(frames) - AD_WINDOW_FRAMES + 1
    if count < 1:
        raise DataError(f"{path}: {len(frames)} frames, fewer than one window of {AD_WINDOW_FRAMES}")
    return np.stack([frames[i:i + AD_WINDOW_FRAMES].reshape(-1) for i in range(count)])
